package shrinkmap_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/connmgr/connmgr/internal/shrinkmap"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestMapBehavesLikeAMap(t *testing.T) {
	var m shrinkmap.Map[string, int]
	_, ok := m.Get("a")
	assert.False(t, ok, "the zero Map is empty")
	m.Set("a", 1)
	m.Set("b", 2)
	v, ok := m.Get("a")
	assert.True(t, ok)
	assert.Equal(t, 1, v)
	m.Delete("a")
	assert.Equal(t, 1, m.Len())
	got := map[string]int{}
	for k, v := range m.All() {
		got[k] = v
	}
	assert.Equal(t, map[string]int{"b": 2}, got)
	m.Clear()
	assert.Zero(t, m.Len())
}

func TestMapIsRebuiltAfterShrinking(t *testing.T) {
	var m shrinkmap.Map[int, int]
	for i := range 10_000 {
		m.Set(i, i)
	}
	assert.Equal(t, 10_000, m.Peak())
	for i := range 9_990 {
		m.Delete(i)
	}
	assert.Less(t, m.Peak(), 10_000/8+1, "a map that shrank far below its peak was rebuilt")
	for i := 9_990; i < 10_000; i++ {
		v, ok := m.Get(i)
		assert.True(t, ok, "rebuilding keeps every entry")
		assert.Equal(t, i, v)
	}
}
