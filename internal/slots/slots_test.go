package slots_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/connmgr/connmgr/internal/slots"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// val is what most tests keep in a table.
type val struct {
	slots.Gen
	n int
}

// pair is a value that a lock-free reader reads in two parts.
type pair struct {
	slots.Gen
	a, b atomic.Uint64
}

func TestNewRefusesAValueWithoutAGen(t *testing.T) {
	assert.Panics(t, func() { slots.New[int](0) })
	assert.Panics(t, func() {
		slots.New[struct {
			n int
			slots.Gen
		}](0)
	}, "the Gen must come first")
	assert.NotPanics(t, func() { slots.New[val](0) })
}

// alloc takes a slot and publishes it at once, as most tests want.
func alloc[T any](tb *slots.Table[T]) (slot, gen uint32, v *T, ok bool) {
	slot, gen, v, ok = tb.Alloc()
	if ok {
		tb.Publish(slot)
	}
	return slot, gen, v, ok
}

// allocN takes and publishes n slots and returns their numbers.
func allocN(t *testing.T, tb *slots.Table[val], n int) []uint32 {
	t.Helper()
	all := make([]uint32, n)
	for i := range all {
		var ok bool
		all[i], _, _, ok = alloc(tb)
		require.True(t, ok)
	}
	return all
}

func TestASlotIsFoundOnlyOncePublished(t *testing.T) {
	tb := slots.New[val](0)
	slot, gen, v, ok := tb.Alloc()
	require.True(t, ok)
	assert.Equal(t, 1, tb.Len(), "Len counts an allocated slot")
	assert.Nil(t, tb.Get(slot, gen), "Get does not find it before Publish")
	_, _, live := tb.Live(slot)
	assert.False(t, live, "nor does Live")
	got := tb.Peek(slot, gen)
	assert.Nil(t, got, "nor does Peek")
	v.n = 5
	tb.Publish(slot)
	assert.Same(t, v, tb.Get(slot, gen), "once published, it is found under the generation Alloc gave")
	got = tb.Peek(slot, gen)
	assert.Same(t, v, got)
	assert.Equal(t, gen, got.Load())
}

func TestPeekSeesTheGenerationMoveOn(t *testing.T) {
	tb := slots.New[val](0)
	slot, gen, _, _ := alloc(tb)
	v := tb.Peek(slot, gen)
	require.NotNil(t, v)
	tb.Free(slot)
	assert.NotEqual(t, gen, v.Load(), "a reader that peeked before Free learns the value went")
	got := tb.Peek(slot, gen)
	assert.Nil(t, got, "and a later Peek does not find it")
	got = tb.Peek(slot, gen+1)
	assert.Nil(t, got, "nor under the even generation it now has")
	got = tb.Peek(slot+slots.PageSize*4, gen)
	assert.Nil(t, got, "Peek past the last page finds nothing")
}

func TestPeekFollowsPagesAsTheyComeAndGo(t *testing.T) {
	tb := slots.New[val](0)
	type name struct{ slot, gen uint32 }
	var names []name
	for range 5 * slots.PageSize { // the directory grows past its first capacities
		s, g, v, _ := alloc(tb)
		v.n = int(s)
		names = append(names, name{s, g})
	}
	for _, n := range names {
		v := tb.Peek(n.slot, n.gen)
		require.NotNil(t, v, "slot %d", n.slot)
		require.Equal(t, int(n.slot), v.n)
	}
	tb.Free(names[0].slot) // room elsewhere, so that an emptied page goes
	for _, n := range names[slots.PageSize : 2*slots.PageSize] {
		tb.Free(n.slot)
	}
	require.Equal(t, 4, tb.Pages(), "the emptied second page is released")
	v := tb.Peek(names[slots.PageSize].slot, names[slots.PageSize].gen)
	assert.Nil(t, v, "Peek finds nothing on a released page")
	alloc(tb) // fills the first page again
	s, g, _, _ := alloc(tb)
	assert.Equal(t, names[slots.PageSize].slot, s, "the released page is made again for the next Alloc")
	v = tb.Peek(s, g)
	assert.NotNil(t, v, "and Peek finds the remade page")
}

func TestPeekIsSafeAlongsideTheOwner(t *testing.T) {
	tb := slots.New[pair](0)
	var mu sync.Mutex
	type name struct{ slot, gen uint32 }
	names := make(chan name, 64)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(names)
		for i := range uint64(20000) {
			mu.Lock()
			s, g, v, ok := tb.Alloc()
			if ok {
				v.a.Store(i)
				v.b.Store(i)
				tb.Publish(s)
			}
			mu.Unlock()
			select {
			case names <- name{s, g}:
			default:
				mu.Lock()
				tb.Free(s)
				v.a.Store(0) // cleared after Free, as an owner must
				v.b.Store(0)
				mu.Unlock()
			}
		}
	})
	wg.Go(func() {
		defer close(done)
		for n := range names {
			for range 4 {
				v := tb.Peek(n.slot, n.gen)
				if v == nil {
					continue
				}
				a, b := v.a.Load(), v.b.Load()
				if v.Load() == n.gen && a != b {
					t.Errorf("slot %d: a confirmed read saw %d and %d", n.slot, a, b)
				}
			}
			mu.Lock()
			if tb.Get(n.slot, n.gen) != nil {
				tb.Free(n.slot)
			}
			mu.Unlock()
		}
	})
	wg.Wait()
	<-done
}

func TestAllocGetFree(t *testing.T) {
	tb := slots.New[val](0)
	slot, gen, v, ok := alloc(tb)
	require.True(t, ok)
	v.n = 42
	assert.Equal(t, uint32(1), gen&1, "a live generation is odd")
	got := tb.Get(slot, gen)
	require.NotNil(t, got)
	assert.Equal(t, 42, got.n)
	assert.Equal(t, 1, tb.Len())

	tb.Free(slot)
	assert.Nil(t, tb.Get(slot, gen), "a freed slot is not found by its old generation")
	assert.Nil(t, tb.Get(slot, gen+1), "nor by the even generation it now has")
	assert.Equal(t, 0, tb.Len())
}

func TestReusedSlotsGetNewGenerations(t *testing.T) {
	tb := slots.New[val](0)
	keep, _, _, _ := alloc(tb) // keeps the page alive so the slot is reused
	_ = keep
	slot, gen, v, _ := alloc(tb)
	v.n = 9
	tb.Free(slot)
	assert.Equal(t, 9, v.n, "Free leaves the value alone")
	again, gen2, v, _ := alloc(tb)
	require.Equal(t, slot, again, "the lowest free slot is reused")
	assert.NotEqual(t, gen, gen2)
	assert.Equal(t, 9, v.n, "and Alloc hands it out as its last owner left it")
	assert.Nil(t, tb.Get(slot, gen))
}

func TestEmptyPagesAreReleasedAndGenerationsSurvive(t *testing.T) {
	tb := slots.New[val](0)
	type name struct{ slot, gen uint32 }
	var names []name
	for range 3 * slots.PageSize {
		s, g, _, ok := alloc(tb)
		require.True(t, ok)
		names = append(names, name{s, g})
	}
	assert.Equal(t, 3, tb.Pages())
	for _, n := range names {
		tb.Free(n.slot)
	}
	assert.Equal(t, 0, tb.Pages(), "pages with no live slot are given back")

	for range 3 * slots.PageSize {
		_, _, _, ok := alloc(tb)
		require.True(t, ok)
	}
	for _, n := range names {
		assert.Nil(t, tb.Get(n.slot, n.gen), "a remade page must not revive old names")
	}
}

func TestAllocationPrefersTheLowestPage(t *testing.T) {
	tb := slots.New[val](0)
	all := allocN(t, tb, 2*slots.PageSize)
	tb.Free(all[5])                // a hole in page 0
	tb.Free(all[slots.PageSize+5]) // and one in page 1
	s, _, _, _ := alloc(tb)
	assert.Equal(t, all[5], s, "the hole in the lowest page is filled first, so high pages can drain")
}

func TestLimitIsEnforced(t *testing.T) {
	tb := slots.New[val](slots.PageSize)
	for range slots.PageSize {
		_, _, _, ok := alloc(tb)
		require.True(t, ok)
	}
	_, _, _, ok := alloc(tb)
	assert.False(t, ok, "no slot at or past the limit")
}

func TestLiveAndBound(t *testing.T) {
	tb := slots.New[val](0)
	s, g, v, _ := alloc(tb)
	v.n = 3
	got, gen, ok := tb.Live(s)
	require.True(t, ok)
	assert.Equal(t, g, gen)
	assert.Equal(t, 3, got.n)
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
	tb := slots.New[val](0)
	full := allocN(t, tb, slots.PageSize)
	for range 1000 {
		slot, gen, _, ok := alloc(tb)
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
	tb := slots.New[val](0)
	all := allocN(t, tb, slots.PageSize+1) // a full page and one value on a second
	require.Equal(t, 2, tb.Pages())
	tb.Free(all[0]) // the first page now has room
	tb.Free(all[slots.PageSize])
	assert.Equal(t, 1, tb.Pages(), "the second page, emptied, is released")
}

func TestHoldHidesTheSlotButKeepsItsValue(t *testing.T) {
	tb := slots.New[val](0)
	slot, gen, v, _ := alloc(tb)
	v.n = 7
	other, _, _, _ := alloc(tb)

	held := tb.Hold(slot)
	assert.Equal(t, 7, held.n, "a held value stays in place")
	assert.Nil(t, tb.Get(slot, gen), "Get does not find a held slot")
	_, _, live := tb.Live(slot)
	assert.False(t, live, "nor does Live")
	assert.Equal(t, 1, tb.Len(), "Len does not count a held slot")
	assert.Equal(t, 1, tb.Held())

	tb.Free(other)
	assert.Equal(t, 1, tb.Pages(), "a page with a held slot is kept although nothing in it is live")
	again, _, _, _ := alloc(tb)
	assert.NotEqual(t, slot, again, "a held slot is not handed out")
	assert.Equal(t, 7, held.n, "nor is its value touched")
	tb.Free(again)

	tb.Release(slot)
	assert.Equal(t, 0, tb.Held())
	assert.Equal(t, 0, tb.Pages(), "releasing the last held slot of an empty table releases its pages")
	reused, gen2, v2, _ := alloc(tb)
	assert.Equal(t, slot, reused, "a released slot is free again")
	assert.NotEqual(t, gen, gen2, "under a new generation")
	assert.Zero(t, v2.n, "on a page made afresh, so its value is zero")
}

func TestReleaseKeepsOtherPagesRules(t *testing.T) {
	tb := slots.New[val](0)
	all := allocN(t, tb, 2*slots.PageSize)
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
	tb := slots.New[val](0)
	slot, gen, v, _ := alloc(tb)
	v.n = 7
	other, _, _, _ := alloc(tb)

	require.True(t, tb.Park(slot))
	assert.Nil(t, tb.Get(slot, gen), "a parked slot's old name finds nothing")
	_, _, live := tb.Live(slot)
	assert.False(t, live, "nor is it live")
	assert.Equal(t, 2, tb.Len(), "Len still counts it")
	fresh, _, _, _ := alloc(tb)
	assert.NotEqual(t, slot, fresh, "Alloc does not hand it out")
	tb.Free(fresh)

	gen2, v2 := tb.Unpark(slot)
	assert.Equal(t, uint32(1), gen2&1, "an unparked slot gets a live generation")
	assert.NotEqual(t, gen, gen2, "a new one")
	assert.Equal(t, 7, v2.n, "with its value as the caller left it")
	assert.Nil(t, tb.Get(slot, gen2), "it is not live until Publish")
	tb.Publish(slot)
	assert.Same(t, v2, tb.Get(slot, gen2))

	require.True(t, tb.Park(slot))
	tb.FreeParked(slot)
	tb.Free(other)
	assert.Zero(t, tb.Len())
	assert.Zero(t, tb.Pages(), "freeing the parked slot of an otherwise empty table releases its pages")
}

// line is a value of one cache line that holds pointers, as connmgr's
// entries do.
type line struct {
	slots.Gen
	p *int
	_ [64 - 16]byte
}

func TestValuesStartOnACacheLine(t *testing.T) {
	tb := slots.New[line](0)
	for range 3 * slots.PageSize {
		_, _, v, ok := alloc(tb)
		require.True(t, ok)
		require.Zero(t, uintptr(unsafe.Pointer(v))%64,
			"a value of 64 bytes fills one cache line, shared with no other value")
	}
}

func TestAllocSpreadsSlotsOverThePage(t *testing.T) {
	tb := slots.New[val](0)
	got := allocN(t, tb, slots.PageSize)
	assert.Equal(t, []uint32{0, 128, 64, 192, 32, 160, 96, 224}, got[:8],
		"a fresh page hands out its slots in bit-reversed order")
	for i := 1; i < 64; i++ {
		d := int(got[i]) - int(got[i-1])
		assert.GreaterOrEqual(t, max(d, -d), 4,
			"slots taken one after the other are at least four lines apart while the page has room (%d, %d)", got[i-1], got[i])
	}
	seen := map[uint32]bool{}
	for _, s := range got {
		seen[s] = true
	}
	assert.Len(t, seen, slots.PageSize, "and every slot of the page, once")
	slot, _, _, ok := tb.Alloc()
	require.True(t, ok)
	assert.Equal(t, uint32(slots.PageSize), slot, "then it moves on to the next page")
}

// TestOneSlotsCallsNeedNoLock parks, unparks and publishes slots of its own
// while the owner allocates and frees others and grows new pages, with no
// lock between them: the race detector checks that they touch nothing in
// common.
func TestOneSlotsCallsNeedNoLock(t *testing.T) {
	tb := slots.New[val](0)
	mine, gen, _, _ := alloc(tb)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var held []uint32
		for i := range 20 * slots.PageSize {
			slot, _, _, ok := alloc(tb)
			require.True(t, ok)
			held = append(held, slot)
			if i%3 == 0 {
				tb.Free(held[0])
				held = held[1:]
			}
		}
	}()
	for range 10_000 {
		require.True(t, tb.Park(mine))
		var v *val
		gen, v = tb.Unpark(mine)
		v.n++
		tb.Publish(mine)
		assert.Same(t, v, tb.At(mine))
	}
	wg.Wait()
	v := tb.Peek(mine, gen)
	assert.Equal(t, 10_000, v.n)
}
