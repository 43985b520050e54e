package slots

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSpareWhenNoOtherRoom checks that a value coming and going in an
// otherwise empty table does not make and release a page each time, and
// that Trim gives the spare page back.
func TestSpareWhenNoOtherRoom(t *testing.T) {
	tb := New[int](0)
	for range 1000 {
		slot, gen, _, ok := tb.Alloc()
		require.True(t, ok)
		tb.Free(slot)
		assert.Nil(t, tb.Get(slot, gen), "a freed slot is not found")
	}
	assert.Equal(t, 1, tb.Pages(), "the emptied page stays as a spare")
	tb.Trim()
	assert.Equal(t, 0, tb.Pages(), "Trim releases the spare")
}

// TestReleaseWhenOtherRoom checks that an emptied page is released when
// another page still has room.
func TestReleaseWhenOtherRoom(t *testing.T) {
	tb := New[int](0)
	slots := make([]uint32, PageSize+1) // a full page and one value on a second
	for i := range slots {
		slots[i], _, _, _ = tb.Alloc()
	}
	require.Equal(t, 2, tb.Pages())
	tb.Free(slots[0]) // the first page now has room
	tb.Free(slots[PageSize])
	assert.Equal(t, 1, tb.Pages(), "the second page, emptied, is released")
}
