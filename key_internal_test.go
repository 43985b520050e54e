package connmgr

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTheKeyIndexGivesMemoryBack(t *testing.T) {
	m := New()
	defer m.Close()
	empty := m.Stats().MemoryBytes
	const n = 50_000
	for i := range n {
		_, err := m.Track(Meta{Player: fmt.Sprint("p", i%100), Key: fmt.Sprint("k", i)}, Func(func() {}))
		require.NoError(t, err)
	}
	peak := 0
	for i := range m.keys.parts {
		peak += m.keys.parts[i].ids.Peak()
	}
	require.GreaterOrEqual(t, peak, n, "the index held every key")
	assert.Greater(t, m.Stats().MemoryBytes, empty+n*keyBytes, "MemoryBytes counts the keys")

	_, err := m.CleanupAll()
	require.NoError(t, err)
	peak = 0
	for i := range m.keys.parts {
		peak += m.keys.parts[i].ids.Peak()
	}
	assert.Less(t, peak, n/8, "emptied parts were rebuilt small (shrinkmap)")
	assert.Equal(t, empty, m.Stats().MemoryBytes, "and the estimate is back where it started")
	require.NoError(t, m.Validate())
}
