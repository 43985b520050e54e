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

// TestSpareAtAPageBoundary checks that a value coming and going just past
// a full page does not make and release a page each time, and that the
// spare goes once the table is empty.
func TestSpareAtAPageBoundary(t *testing.T) {
	tb := slots.New[int](0)
	full := make([]uint32, slots.PageSize)
	for i := range full {
		full[i], _, _, _ = tb.Alloc()
	}
	for range 1000 {
		slot, gen, _, ok := tb.Alloc()
		require.True(t, ok)
		tb.Free(slot)
		assert.Nil(t, tb.Get(slot, gen), "a freed slot is not found")
	}
	assert.Equal(t, 2, tb.Pages(), "the emptied page stays as a spare while the first is full")
	for _, slot := range full {
		tb.Free(slot)
	}
	assert.Equal(t, 0, tb.Pages(), "an empty table holds no pages")
}

// TestReleaseWhenOtherRoom checks that an emptied page is released when
// another page still has room.
func TestReleaseWhenOtherRoom(t *testing.T) {
	tb := slots.New[int](0)
	all := make([]uint32, slots.PageSize+1) // a full page and one value on a second
	for i := range all {
		all[i], _, _, _ = tb.Alloc()
	}
	require.Equal(t, 2, tb.Pages())
	tb.Free(all[0]) // the first page now has room
	tb.Free(all[slots.PageSize])
	assert.Equal(t, 1, tb.Pages(), "the second page, emptied, is released")
}

func TestHoldHidesTheSlotButKeepsItsValue(t *testing.T) {
	tb := slots.New[int](0)
	slot, gen, v, _ := tb.Alloc()
	*v = 7
	other, _, _, _ := tb.Alloc()

	held := tb.Hold(slot)
	assert.Equal(t, 7, *held, "a held value stays in place")
	assert.Nil(t, tb.Get(slot, gen), "Get does not find a held slot")
	_, _, live := tb.Live(slot)
	assert.False(t, live, "nor does Live")
	assert.Equal(t, 1, tb.Len(), "Len does not count a held slot")
	assert.Equal(t, 1, tb.Held())

	tb.Free(other)
	assert.Equal(t, 1, tb.Pages(), "a page with a held slot is kept although nothing in it is live")
	again, _, _, _ := tb.Alloc()
	assert.NotEqual(t, slot, again, "a held slot is not handed out")
	assert.Equal(t, 7, *held, "nor is its value touched")
	tb.Free(again)

	tb.Release(slot)
	assert.Equal(t, 0, tb.Held())
	assert.Equal(t, 0, tb.Pages(), "releasing the last held slot of an empty table releases its pages")
	reused, gen2, v2, _ := tb.Alloc()
	assert.Equal(t, slot, reused, "a released slot is free again")
	assert.NotEqual(t, gen, gen2, "under a new generation")
	assert.Zero(t, *v2, "and zeroed")
}

func TestReleaseKeepsOtherPagesRules(t *testing.T) {
	tb := slots.New[int](0)
	var all []uint32
	for range 2 * slots.PageSize {
		s, _, _, _ := tb.Alloc()
		all = append(all, s)
	}
	// Hold the whole second page, free the first but one slot.
	for _, s := range all[slots.PageSize:] {
		tb.Hold(s)
	}
	for _, s := range all[1:slots.PageSize] {
		tb.Free(s)
	}
	assert.Equal(t, 2, tb.Pages())
	for _, s := range all[slots.PageSize:] {
		tb.Release(s)
	}
	assert.Equal(t, 1, tb.Pages(), "the emptied page goes once another page has room")
	assert.Equal(t, 1, tb.Len())
}

func TestParkKeepsTheSlotForUnpark(t *testing.T) {
	tb := slots.New[int](0)
	slot, gen, v, _ := tb.Alloc()
	*v = 7
	other, _, _, _ := tb.Alloc()

	require.True(t, tb.Park(slot))
	assert.Nil(t, tb.Get(slot, gen), "a parked slot's old name finds nothing")
	_, _, live := tb.Live(slot)
	assert.False(t, live, "nor is it live")
	assert.Equal(t, 2, tb.Len(), "Len still counts it")
	fresh, _, _, _ := tb.Alloc()
	assert.NotEqual(t, slot, fresh, "Alloc does not hand it out")
	tb.Free(fresh)

	gen2, v2 := tb.Unpark(slot)
	assert.Equal(t, uint32(1), gen2&1, "an unparked slot is live")
	assert.NotEqual(t, gen, gen2, "under a new generation")
	assert.Zero(t, *v2, "with a zeroed value")
	assert.Same(t, v2, tb.Get(slot, gen2))

	require.True(t, tb.Park(slot))
	tb.FreeParked(slot)
	tb.Free(other)
	assert.Zero(t, tb.Len())
	assert.Zero(t, tb.Pages(), "freeing the parked slot of an otherwise empty table releases its pages")
}
