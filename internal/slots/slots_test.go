package slots_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/connmgr/connmgr/internal/slots"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestAllocGetFree(t *testing.T) {
	tb := slots.New[int](0)
	slot, gen, v, ok := tb.Alloc()
	require.True(t, ok)
	*v = 42
	assert.Equal(t, uint32(1), gen&1, "a live generation is odd")
	got := tb.Get(slot, gen)
	require.NotNil(t, got)
	assert.Equal(t, 42, *got)
	assert.Equal(t, 1, tb.Len())

	tb.Free(slot)
	assert.Nil(t, tb.Get(slot, gen), "a freed slot is not found by its old generation")
	assert.Nil(t, tb.Get(slot, gen+1), "nor by the even generation it now has")
	assert.Equal(t, 0, tb.Len())
}

func TestReusedSlotsGetNewGenerations(t *testing.T) {
	tb := slots.New[int](0)
	keep, _, _, _ := tb.Alloc() // keeps the page alive so the slot is reused
	_ = keep
	slot, gen, _, _ := tb.Alloc()
	tb.Free(slot)
	again, gen2, v, _ := tb.Alloc()
	require.Equal(t, slot, again, "the lowest free slot is reused")
	assert.NotEqual(t, gen, gen2)
	assert.Zero(t, *v, "a reused slot starts zeroed")
	assert.Nil(t, tb.Get(slot, gen))
}

func TestEmptyPagesAreReleasedAndGenerationsSurvive(t *testing.T) {
	tb := slots.New[int](0)
	type name struct{ slot, gen uint32 }
	var names []name
	for range 3 * slots.PageSize {
		s, g, _, ok := tb.Alloc()
		require.True(t, ok)
		names = append(names, name{s, g})
	}
	assert.Equal(t, 3, tb.Pages())
	for _, n := range names {
		tb.Free(n.slot)
	}
	assert.Equal(t, 0, tb.Pages(), "pages with no live slot are given back")

	for range 3 * slots.PageSize {
		_, _, _, ok := tb.Alloc()
		require.True(t, ok)
	}
	for _, n := range names {
		assert.Nil(t, tb.Get(n.slot, n.gen), "a remade page must not revive old names")
	}
}

func TestAllocationPrefersTheLowestPage(t *testing.T) {
	tb := slots.New[int](0)
	var all []uint32
	for range 2 * slots.PageSize {
		s, _, _, _ := tb.Alloc()
		all = append(all, s)
	}
	tb.Free(all[5])                // a hole in page 0
	tb.Free(all[slots.PageSize+5]) // and one in page 1
	s, _, _, _ := tb.Alloc()
	assert.Equal(t, all[5], s, "the hole in the lowest page is filled first, so high pages can drain")
}

func TestLimitIsEnforced(t *testing.T) {
	tb := slots.New[int](slots.PageSize)
	for range slots.PageSize {
		_, _, _, ok := tb.Alloc()
		require.True(t, ok)
	}
	_, _, _, ok := tb.Alloc()
	assert.False(t, ok, "no slot at or past the limit")
}

func TestLiveAndBound(t *testing.T) {
	tb := slots.New[string](0)
	s, g, v, _ := tb.Alloc()
	*v = "x"
	got, gen, ok := tb.Live(s)
	require.True(t, ok)
	assert.Equal(t, g, gen)
	assert.Equal(t, "x", *got)
	assert.Equal(t, uint32(slots.PageSize), tb.Bound())
	_, _, ok = tb.Live(s + 1)
	assert.False(t, ok, "a free slot is not live")
	_, _, ok = tb.Live(1 << 30)
	assert.False(t, ok, "a slot past the bound is not live")
}
