package slots_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/connmgr/connmgr/internal/slots"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestNamesAreNeverReused checks the generational promise the manager's IDs
// rest on: however a slot is freed and taken again (its page kept, or
// released and remade), no (slot, generation) name is handed out twice, and
// an old name never finds the newer value.
func TestNamesAreNeverReused(t *testing.T) {
	for _, tc := range []struct {
		name string
		keep int // values kept live so that the page is not released
	}{
		{"a slot reused within a page that stays gets a new name each time", 1},
		{"a slot in a page released and remade gets a new name each time", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := slots.New[int](0)
			for range tc.keep {
				tab.Alloc()
			}
			type name struct{ slot, gen uint32 }
			seen := make(map[name]bool)
			var old []name
			for i := range 10_000 {
				slot, gen, v, ok := tab.Alloc()
				if !ok {
					t.Fatal("Alloc failed on a table without a limit")
				}
				n := name{slot, gen}
				if seen[n] {
					t.Fatalf("round %d: name %v handed out twice", i, n)
				}
				seen[n] = true
				*v = i
				for _, o := range old[max(0, len(old)-3):] {
					if got := tab.Get(o.slot, o.gen); got != nil {
						t.Fatalf("round %d: the old name %v finds value %d", i, o, *got)
					}
				}
				tab.Free(slot)
				old = append(old, n)
			}
		})
	}
}
