package connmgr_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/connmgr/connmgr"
)

// TestLookupDuringChurnSeesWholeHandles looks handles up, without the
// shard's lock, while other goroutines keep tracking and disconnecting
// handles in the same slots. Every handle's Meta is derived from one
// number, so a Lookup that mixed two handles' fields, or read a handle half
// written or half cleared, shows as a Meta that does not agree with itself
// or with the ID it was asked for. Under -race it also proves that every
// field Lookup reads is written atomically.
func TestLookupDuringChurnSeesWholeHandles(t *testing.T) {
	const writers, readers = 4, 4
	rounds := 20000 // the windows are narrow: give the readers many chances
	if testing.Short() {
		rounds = 2000
	}
	m := connmgr.New()
	defer m.Close()

	// meta gives handle n a Meta whose every field names n. Odd handles get
	// a service and tags, so the extra part comes and goes too.
	meta := func(w, n int) connmgr.Meta {
		tag := fmt.Sprint("n", n)
		mt := connmgr.Meta{Name: tag, Player: fmt.Sprint("p", w, "-", n%3)}
		if n%2 == 1 {
			mt.Service, mt.Tags = tag, []string{tag, "odd"}
		}
		return mt
	}
	var ring [64]atomic.Uint64 // recently tracked IDs and their numbers
	number := sync.Map{}       // ID -> n, for the readers to check against
	var stop atomic.Bool
	var writing, reading sync.WaitGroup
	for w := range writers {
		writing.Go(func() {
			for i := range rounds {
				n := w*rounds + i
				id, err := m.Track(meta(w, n), connmgr.Func(func() {}))
				if !assert.NoError(t, err) {
					return
				}
				number.Store(id, n)
				ring[n%len(ring)].Store(uint64(id))
				if i%4 != 0 { // keep a few, free the rest: slots are reused at once
					assert.NoError(t, m.Disconnect(id))
				}
			}
		})
	}
	var found atomic.Int64
	for range readers {
		reading.Go(func() {
			for !stop.Load() {
				for i := range ring {
					id := connmgr.ID(ring[i].Load())
					info, ok := m.Lookup(id)
					if !ok {
						continue
					}
					found.Add(1)
					v, known := number.Load(id)
					if !known {
						t.Errorf("Lookup found %v, an ID no Track returned", id)
						return
					}
					n := v.(int)
					want := meta(n/rounds, n)
					if info.ID != id || info.Name != want.Name || info.Player != want.Player ||
						info.Service != want.Service || strings.Join(info.Tags, ",") != strings.Join(want.Tags, ",") {
						t.Errorf("Lookup(%v) = %+v, want the Meta %+v", id, info, want)
						return
					}
					if info.Created.IsZero() {
						t.Errorf("Lookup(%v) has no creation time", id)
						return
					}
				}
			}
		})
	}
	writing.Wait()
	stop.Store(true)
	reading.Wait()
	assert.Positive(t, found.Load(), "the readers found live handles")
}
