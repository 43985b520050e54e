package connmgr_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

// TestAPlayerReusesItsOwnSlot checks that a player's Track takes the slot
// of that player's last removed handle, under a new generation, so that a
// busy player keeps writing the same memory: the old ID finds nothing, and
// the counts and the memory estimate stay right.
func TestAPlayerReusesItsOwnSlot(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	empty := m.Stats().MemoryBytes
	_, err := m.TrackPlayer("p", "resident", nop{})
	require.NoError(t, err)

	first, err := m.TrackPlayer("p", "a", nop{})
	require.NoError(t, err)
	require.NoError(t, m.Disconnect(first))
	require.NoError(t, m.Validate())
	assert.Equal(t, 1, m.Stats().Active, "the parked slot holds no handle")

	second, err := m.TrackPlayer("p", "b", nop{})
	require.NoError(t, err)
	assert.Equal(t, uint32(first), uint32(second), "the player's next handle takes its parked slot")
	assert.NotEqual(t, first, second, "under a new generation")
	_, found := m.Lookup(first)
	assert.False(t, found, "the old ID finds nothing")
	info, found := m.Lookup(second)
	require.True(t, found)
	assert.Equal(t, "b", info.Name)
	require.NoError(t, m.Validate())

	other, err := m.TrackPlayer("q", "c", nop{})
	require.NoError(t, err)
	require.NoError(t, m.Disconnect(second))
	require.NoError(t, m.Disconnect(other))
	_, err = m.CleanupPlayer("p")
	require.NoError(t, err)
	require.NoError(t, m.Validate())
	st := m.Stats()
	assert.Zero(t, st.Active)
	assert.Equal(t, empty, st.MemoryBytes, "once its player leaves, a parked slot is freed")
}
