package slots

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParkRefusesASlotWhoseGenerationsRunOut(t *testing.T) {
	tb := New[struct{ Gen }](0)
	slot, _, _, _ := tb.Alloc()
	tb.Publish(slot)
	tb.page(0).gen(slot).Store(retiredGen - 1) // the last live generation
	assert.False(t, tb.Park(slot), "parking would retire the slot, so the caller must free it")
	tb.Free(slot)
	again, _, _, _ := tb.Alloc()
	assert.NotEqual(t, slot, again, "and once freed it is never handed out again")
}
