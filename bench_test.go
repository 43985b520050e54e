package connmgr_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/connmgr/connmgr"
)

// The benchmarks run connmgr and its alternatives side by side on the same
// work, as b.Run sub-benchmarks named after the alternative:
//
//	connmgr    the Manager
//	naive      naiveTracker: one mutex, map[uint64]*entry, a set per player
//	afterfunc  one context.AfterFunc per handle on a per-player context
//	syncmap    sync.Map keyed by ID (no pools: Lookup and Disconnect only)
//	map        a bare map[uint64]*entry with no lock (Lookup reference only)
//
// Unless a benchmark says otherwise, each starts from the same resident
// population: residentHandles handles over residentPlayers players. The
// numbers and the command that produces them are in BENCHMARKS.md.

const (
	residentPlayers = 1_000
	residentHandles = 10_000
)

// sink keeps results alive.
var (
	sinkInfo  connmgr.Info
	sinkStats connmgr.Stats
)

// newResident returns a Manager holding the resident population, closed
// when the benchmark ends.
func newResident(b *testing.B, players []string, n int) *connmgr.Manager {
	m := connmgr.New()
	b.Cleanup(func() { m.Close() })
	for i := range n {
		if _, err := m.Track(playerMeta(players, i), nop); err != nil {
			b.Fatal(err)
		}
	}
	return m
}

func newNaiveResident(players []string, n int) *naiveTracker {
	t := newNaiveTracker()
	for i := range n {
		t.Track(playerMeta(players, i), nop)
	}
	return t
}

// playerContexts is the AfterFunc alternative's resident population: a
// cancellable context per player, with n AfterFunc registrations spread
// over them.
func playerContexts(b *testing.B, n, handles int) []context.Context {
	ctxs := make([]context.Context, n)
	for i := range ctxs {
		ctx, cancel := context.WithCancel(context.Background())
		b.Cleanup(cancel)
		ctxs[i] = ctx
	}
	for i := range handles {
		h := nop
		context.AfterFunc(ctxs[i%n], func() { h.Disconnect() })
	}
	return ctxs
}

// BenchmarkTrackDisconnect tracks a player handle and disconnects it again,
// with 10k handles over 1k players resident; one op is one Track plus one
// Disconnect.
func BenchmarkTrackDisconnect(b *testing.B) {
	players := numbered("p", residentPlayers)
	b.Run("connmgr", func(b *testing.B) {
		m := newResident(b, players, residentHandles)
		i := 0
		for b.Loop() {
			id, _ := m.Track(playerMeta(players, i), nop)
			m.Disconnect(id)
			i++
		}
	})
	b.Run("naive", func(b *testing.B) {
		t := newNaiveResident(players, residentHandles)
		i := 0
		for b.Loop() {
			t.Disconnect(t.Track(playerMeta(players, i), nop))
			i++
		}
	})
	b.Run("afterfunc", func(b *testing.B) {
		ctxs := playerContexts(b, residentPlayers, residentHandles)
		i := 0
		for b.Loop() {
			h := nop
			stop := context.AfterFunc(ctxs[i%len(ctxs)], func() { h.Disconnect() })
			if stop() {
				h.Disconnect()
			}
			i++
		}
	})
	b.Run("syncmap", func(b *testing.B) {
		var m sync.Map
		var next uint64
		for i := range residentHandles {
			next++
			meta := playerMeta(players, i)
			m.Store(next, &naiveEntry{h: nop, name: meta.Name, player: meta.Player})
		}
		i := 0
		for b.Loop() {
			meta := playerMeta(players, i)
			next++
			m.Store(next, &naiveEntry{h: nop, name: meta.Name, player: meta.Player})
			if e, ok := m.LoadAndDelete(next); ok {
				e.(*naiveEntry).h.Disconnect()
			}
			i++
		}
	})
}

// runWorkers runs body on one goroutine (parallel false) or on one
// goroutine per P through b.RunParallel, so that the serial and parallel
// forms of a benchmark run the very same loop. Worker w of n gets the
// players whose index is w modulo n, so no two goroutines share a player.
func runWorkers(b *testing.B, parallel bool, body func(w, n int, next func() bool)) {
	if !parallel {
		i := 0
		body(0, 1, func() bool { i++; return i <= b.N })
		return
	}
	n := runtime.GOMAXPROCS(0)
	var w atomic.Int32
	b.RunParallel(func(pb *testing.PB) {
		body(int(w.Add(1)-1)%n, n, pb.Next)
	})
}

// ownPlayers returns the players worker w of n may use.
func ownPlayers(players []string, w, n int) []string {
	var own []string
	for i := w; i < len(players); i += n {
		own = append(own, players[i])
	}
	return own
}

// BenchmarkTrackDisconnectParallel is BenchmarkTrackDisconnect's loop on one
// goroutine (serial) and on GOMAXPROCS goroutines (parallel), each goroutine
// on its own players. ns/op is wall time per Track+Disconnect, so the
// throughput gain is serial ns/op divided by parallel ns/op.
func BenchmarkTrackDisconnectParallel(b *testing.B) {
	players := numbered("p", residentPlayers)
	for _, mode := range []struct {
		name     string
		parallel bool
	}{{"serial", false}, {"parallel", true}} {
		b.Run("connmgr/"+mode.name, func(b *testing.B) {
			m := newResident(b, players, residentHandles)
			b.ResetTimer()
			runWorkers(b, mode.parallel, func(w, n int, next func() bool) {
				own := ownPlayers(players, w, n)
				for i := 0; next(); i++ {
					id, _ := m.Track(playerMeta(own, i), nop)
					m.Disconnect(id)
				}
			})
		})
		b.Run("naive/"+mode.name, func(b *testing.B) {
			t := newNaiveResident(players, residentHandles)
			b.ResetTimer()
			runWorkers(b, mode.parallel, func(w, n int, next func() bool) {
				own := ownPlayers(players, w, n)
				for i := 0; next(); i++ {
					t.Disconnect(t.Track(playerMeta(own, i), nop))
				}
			})
		})
		b.Run("afterfunc/"+mode.name, func(b *testing.B) {
			ctxs := playerContexts(b, residentPlayers, residentHandles)
			b.ResetTimer()
			runWorkers(b, mode.parallel, func(w, n int, next func() bool) {
				for i := w; next(); i += n {
					h := nop
					stop := context.AfterFunc(ctxs[i%len(ctxs)], func() { h.Disconnect() })
					if stop() {
						h.Disconnect()
					}
				}
			})
		})
	}
}

// BenchmarkLookup looks up resident handles by ID, in a shuffled order.
// "map" is a bare map[uint64]*entry of the same size read with no lock: the
// floor a tracker's Lookup is held to.
func BenchmarkLookup(b *testing.B) {
	players := numbered("p", residentPlayers)
	order := rand.New(rand.NewPCG(1, 2)).Perm(residentHandles)
	b.Run("connmgr", func(b *testing.B) {
		m := connmgr.New()
		defer m.Close()
		ids := make([]connmgr.ID, residentHandles)
		for i := range ids {
			ids[i], _ = m.Track(playerMeta(players, i), nop)
		}
		i := 0
		for b.Loop() {
			sinkInfo, _ = m.Lookup(ids[order[i%len(order)]])
			i++
		}
	})
	b.Run("naive", func(b *testing.B) {
		t := newNaiveResident(players, residentHandles) // IDs 1..residentHandles
		i := 0
		for b.Loop() {
			sinkInfo, _ = t.Lookup(uint64(order[i%len(order)] + 1))
			i++
		}
	})
	b.Run("syncmap", func(b *testing.B) {
		var m sync.Map
		for i := range residentHandles {
			meta := playerMeta(players, i)
			m.Store(uint64(i+1), &naiveEntry{h: nop, name: meta.Name, player: meta.Player})
		}
		i := 0
		for b.Loop() {
			id := uint64(order[i%len(order)] + 1)
			if e, ok := m.Load(id); ok {
				sinkInfo = e.(*naiveEntry).info(id)
			}
			i++
		}
	})
	b.Run("map", func(b *testing.B) {
		m := make(map[uint64]*naiveEntry)
		for i := range residentHandles {
			meta := playerMeta(players, i)
			m[uint64(i+1)] = &naiveEntry{h: nop, name: meta.Name, player: meta.Player}
		}
		i := 0
		for b.Loop() {
			id := uint64(order[i%len(order)] + 1)
			if e, ok := m[id]; ok {
				sinkInfo = e.info(id)
			}
			i++
		}
	})
}
