package connmgr_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// newResident returns a Manager holding the resident population; the
// caller closes it.
func newResident(b *testing.B, players []string, n int) *connmgr.Manager {
	m := connmgr.New()
	for i := range n {
		if _, err := m.Track(playerMeta(players, i), benchHandle); err != nil {
			b.Fatal(err)
		}
	}
	return m
}

func newNaiveResident(players []string, n int) *naiveTracker {
	t := newNaiveTracker()
	for i := range n {
		t.Track(playerMeta(players, i), benchHandle)
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
		h := benchHandle
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
		defer m.Close()
		i := 0
		for b.Loop() {
			id, _ := m.Track(playerMeta(players, i), benchHandle)
			m.Disconnect(id)
			i++
		}
	})
	b.Run("naive", func(b *testing.B) {
		t := newNaiveResident(players, residentHandles)
		i := 0
		for b.Loop() {
			t.Disconnect(t.Track(playerMeta(players, i), benchHandle))
			i++
		}
	})
	b.Run("afterfunc", func(b *testing.B) {
		ctxs := playerContexts(b, residentPlayers, residentHandles)
		i := 0
		for b.Loop() {
			h := benchHandle
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
			m.Store(next, &naiveEntry{h: benchHandle, name: meta.Name, player: meta.Player})
		}
		i := 0
		for b.Loop() {
			meta := playerMeta(players, i)
			next++
			m.Store(next, &naiveEntry{h: benchHandle, name: meta.Name, player: meta.Player})
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
//
// It reports the metric "cpus": the process's CPU time over the wall time
// of the loop. Two goroutines can only run twice as fast as one if they
// get two processors; on a machine shared with other work, a parallel run
// whose cpus is near 1 shows that they did not.
func runWorkers(b *testing.B, parallel bool, body func(w, n int, next func() bool)) {
	cpu, wall := processCPU(), time.Now()
	defer func() {
		if cpu != 0 {
			b.ReportMetric(float64(processCPU()-cpu)/float64(time.Since(wall)), "cpus")
		}
	}()
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
			defer m.Close()
			b.ResetTimer()
			runWorkers(b, mode.parallel, func(w, n int, next func() bool) {
				own := ownPlayers(players, w, n)
				for i := 0; next(); i++ {
					id, _ := m.Track(playerMeta(own, i), benchHandle)
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
					t.Disconnect(t.Track(playerMeta(own, i), benchHandle))
				}
			})
		})
		b.Run("afterfunc/"+mode.name, func(b *testing.B) {
			ctxs := playerContexts(b, residentPlayers, residentHandles)
			b.ResetTimer()
			runWorkers(b, mode.parallel, func(w, n int, next func() bool) {
				for i := w; next(); i += n {
					h := benchHandle
					stop := context.AfterFunc(ctxs[i%len(ctxs)], func() { h.Disconnect() })
					if stop() {
						h.Disconnect()
					}
				}
			})
		})
	}
}

// BenchmarkTrackDisconnectUnshared is a control for the parallel gain: the
// parallel loop of BenchmarkTrackDisconnectParallel with each goroutine on a
// Manager of its own, with the same resident population, so that the
// goroutines share nothing of connmgr's. Its gain over the serial loop is
// what the machine allows; the gap to the shared Manager's is what sharing
// shards costs.
func BenchmarkTrackDisconnectUnshared(b *testing.B) {
	players := numbered("p", residentPlayers)
	n := runtime.GOMAXPROCS(0)
	ms := make([]*connmgr.Manager, n)
	for i := range ms {
		ms[i] = newResident(b, players, residentHandles)
		defer ms[i].Close()
	}
	b.ResetTimer()
	runWorkers(b, true, func(w, n int, next func() bool) {
		m := ms[w]
		own := ownPlayers(players, w, n)
		for i := 0; next(); i++ {
			id, _ := m.Track(playerMeta(own, i), benchHandle)
			m.Disconnect(id)
		}
	})
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
			ids[i], _ = m.Track(playerMeta(players, i), benchHandle)
		}
		keys := make([]connmgr.ID, len(order))
		for i, o := range order {
			keys[i] = ids[o]
		}
		i := 0
		for b.Loop() {
			sinkInfo, _ = m.Lookup(keys[i%len(keys)])
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
			m.Store(uint64(i+1), &naiveEntry{h: benchHandle, name: meta.Name, player: meta.Player})
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
			m[uint64(i+1)] = &naiveEntry{h: benchHandle, name: meta.Name, player: meta.Player}
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

// BenchmarkCleanupPlayer cleans up a player holding n handles, with the
// resident population around it. Players to clean are prepared in batches
// with the timer stopped; ns/handle is ns/op divided by n.
func BenchmarkCleanupPlayer(b *testing.B) {
	players := numbered("p", residentPlayers)
	leaving := numbered("leaving", 1000)
	for _, n := range []int{10, 100, 1000} {
		// Each batch prepares about 10k handles, so that stopping the
		// timer (which reads memory statistics) costs little per op.
		batch := max(1, 10_000/n)
		perHandle := func(b *testing.B) {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/handle")
		}
		// cleanupBatches refills batch leaving players with n handles each
		// (track(i) for i < batch*n, timer stopped), cleans them one per
		// iteration, and reports the time per handle: the same loop for
		// connmgr and the hand-written tracker.
		cleanupBatches := func(b *testing.B, track func(i int), cleanup func(player string)) {
			i := 0
			for b.Loop() {
				if i%batch == 0 {
					b.StopTimer()
					for j := range batch * n {
						track(j)
					}
					b.StartTimer()
				}
				cleanup(leaving[i%batch])
				i++
			}
			perHandle(b)
		}
		b.Run("connmgr/handles="+strconv.Itoa(n), func(b *testing.B) {
			m := newResident(b, players, residentHandles)
			defer m.Close()
			cleanupBatches(b, func(i int) { m.Track(playerMeta(leaving[:batch], i), benchHandle) },
				func(p string) { m.CleanupPlayer(p) })
		})
		b.Run("naive/handles="+strconv.Itoa(n), func(b *testing.B) {
			t := newNaiveResident(players, residentHandles)
			cleanupBatches(b, func(i int) { t.Track(playerMeta(leaving[:batch], i), benchHandle) },
				func(p string) { t.CleanupPlayer(p) })
		})
		b.Run("afterfunc/handles="+strconv.Itoa(n), func(b *testing.B) {
			playerContexts(b, residentPlayers, residentHandles)
			// A leaving player's cleanup is done when its AfterFuncs,
			// each run in a goroutine of its own, have all returned.
			type player struct {
				cancel context.CancelFunc
				done   sync.WaitGroup
			}
			ps := make([]player, batch)
			fill := func() {
				for p := range ps {
					ctx, cancel := context.WithCancel(context.Background())
					ps[p].cancel = cancel
					ps[p].done.Add(n)
					for range n {
						h, done := benchHandle, &ps[p].done
						context.AfterFunc(ctx, func() { h.Disconnect(); done.Done() })
					}
				}
			}
			i := 0
			for b.Loop() {
				if i%batch == 0 {
					b.StopTimer()
					fill()
					b.StartTimer()
				}
				p := &ps[i%batch]
				p.cancel()
				p.done.Wait()
				i++
			}
			perHandle(b)
		})
	}
}

// BenchmarkCleanupAll cleans up 100k handles over 10k players, tracked with
// the timer stopped.
func BenchmarkCleanupAll(b *testing.B) {
	const handles = 100_000
	players := numbered("p", handles/10)
	b.Run("connmgr", func(b *testing.B) {
		m := connmgr.New()
		defer m.Close()
		for b.Loop() {
			b.StopTimer()
			for i := range handles {
				m.Track(playerMeta(players, i), benchHandle)
			}
			b.StartTimer()
			m.CleanupAll()
		}
	})
	b.Run("naive", func(b *testing.B) {
		t := newNaiveTracker()
		for b.Loop() {
			b.StopTimer()
			for i := range handles {
				t.Track(playerMeta(players, i), benchHandle)
			}
			b.StartTimer()
			t.CleanupAll()
		}
	})
	b.Run("afterfunc", func(b *testing.B) {
		// Leaving everyone at once is cancelling the root of the player
		// contexts.
		var done sync.WaitGroup
		ctxs := make([]context.Context, len(players))
		cancels := make([]context.CancelFunc, len(players))
		for b.Loop() {
			b.StopTimer()
			root, cancel := context.WithCancel(context.Background())
			for i := range ctxs {
				// Cancelling root cancels them; their own cancels, called
				// next round, only release them.
				if cancels[i] != nil {
					cancels[i]()
				}
				ctxs[i], cancels[i] = context.WithCancel(root)
			}
			done.Add(handles)
			for i := range handles {
				h := benchHandle
				context.AfterFunc(ctxs[i%len(ctxs)], func() { h.Disconnect(); done.Done() })
			}
			b.StartTimer()
			cancel()
			done.Wait()
		}
	})
}

// BenchmarkStats takes a snapshot with 1k and with 1M handles tracked (10
// per player).
func BenchmarkStats(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		players := numbered("p", n/10)
		b.Run("connmgr/handles="+strconv.Itoa(n), func(b *testing.B) {
			m := newResident(b, players, n)
			defer m.Close()
			for b.Loop() {
				sinkStats = m.Stats()
			}
		})
		b.Run("naive/handles="+strconv.Itoa(n), func(b *testing.B) {
			t := newNaiveResident(players, n)
			for b.Loop() {
				sinkStats = t.Stats()
			}
		})
	}
}

// BenchmarkSweep sweeps 1M handles (10 per player) of which 1% report
// Connected false. The stale ones are tracked again, with the timer
// stopped, before each sweep.
func BenchmarkSweep(b *testing.B) {
	const handles = 1_000_000
	players := numbered("p", handles/10)
	hs := probeHandles(handles)
	b.Run("connmgr", func(b *testing.B) {
		m := connmgr.New()
		defer m.Close()
		for i := range hs {
			m.Track(playerMeta(players, i), &hs[i])
		}
		first := true
		for b.Loop() {
			if !first {
				b.StopTimer()
				for i := 0; i < handles; i += 100 {
					m.Track(playerMeta(players, i), &hs[i])
				}
				b.StartTimer()
			}
			first = false
			m.Sweep()
		}
	})
	b.Run("naive", func(b *testing.B) {
		t := newNaiveTracker()
		for i := range hs {
			t.Track(playerMeta(players, i), &hs[i])
		}
		first := true
		for b.Loop() {
			if !first {
				b.StopTimer()
				for i := 0; i < handles; i += 100 {
					t.Track(playerMeta(players, i), &hs[i])
				}
				b.StartTimer()
			}
			first = false
			t.Sweep()
		}
	})
}

// BenchmarkTrackMeta tracks a handle in a player, a service and two tag
// pools. Every 10k Tracks, the batch is disconnected with the timer
// stopped, so the population stays at the resident one plus one batch.
func BenchmarkTrackMeta(b *testing.B) {
	const batch = 10_000
	players := numbered("p", residentPlayers)
	services := numbered("service", 10)
	tags := numbered("tag", 16)
	metas := make([]connmgr.Meta, batch)
	for i := range metas {
		metas[i] = playerMeta(players, i)
		metas[i].Service = services[i%len(services)]
		metas[i].Tags = []string{tags[i%len(tags)], tags[(i+1)%len(tags)]}
	}
	b.Run("connmgr", func(b *testing.B) {
		m := newResident(b, players, residentHandles)
		defer m.Close()
		ids := make([]connmgr.ID, 0, batch)
		for b.Loop() {
			if len(ids) == batch {
				b.StopTimer()
				for _, id := range ids {
					m.Disconnect(id)
				}
				ids = ids[:0]
				b.StartTimer()
			}
			id, _ := m.Track(metas[len(ids)], benchHandle)
			ids = append(ids, id)
		}
	})
	b.Run("naive", func(b *testing.B) {
		t := newNaiveResident(players, residentHandles)
		ids := make([]uint64, 0, batch)
		for b.Loop() {
			if len(ids) == batch {
				b.StopTimer()
				for _, id := range ids {
					t.Disconnect(id)
				}
				ids = ids[:0]
				b.StartTimer()
			}
			ids = append(ids, t.Track(metas[len(ids)], benchHandle))
		}
	})
	b.Run("afterfunc", func(b *testing.B) {
		// A handle in four pools is four AfterFunc registrations, one per
		// pool's context, sharing a sync.Once so that it is disconnected
		// once.
		pool := func(names []string) map[string]context.Context {
			ctxs := make(map[string]context.Context, len(names))
			for _, name := range names {
				ctx, cancel := context.WithCancel(context.Background())
				b.Cleanup(cancel)
				ctxs[name] = ctx
			}
			return ctxs
		}
		playerCtxs := playerContexts(b, residentPlayers, residentHandles)
		serviceCtxs, tagCtxs := pool(services), pool(tags)
		stops := make([][4]func() bool, 0, batch)
		for b.Loop() {
			if len(stops) == batch {
				b.StopTimer()
				for _, s := range stops {
					for _, stop := range s {
						stop()
					}
				}
				stops = stops[:0]
				b.StartTimer()
			}
			meta := &metas[len(stops)]
			h, once := benchHandle, new(sync.Once)
			f := func() { once.Do(func() { h.Disconnect() }) }
			stops = append(stops, [4]func() bool{
				context.AfterFunc(playerCtxs[len(stops)%len(playerCtxs)], f),
				context.AfterFunc(serviceCtxs[meta.Service], f),
				context.AfterFunc(tagCtxs[meta.Tags[0]], f),
				context.AfterFunc(tagCtxs[meta.Tags[1]], f),
			})
		}
	})
}
