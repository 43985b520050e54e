package connmgr

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHealth1M measures Health, and Validate beside it, over a
// million handles (100k players, 20 services, 4 tags, a few names) while
// another goroutine keeps tracking and disconnecting. Besides ns/op it
// reports the lock holds of the calls: the median, the 99.9th percentile
// and the longest (for Validate, which holds every lock for the whole
// walk, the hold is its run time), and the slowest Track+Disconnect the
// other goroutine saw (max-track-µs, which includes waiting for a lock,
// scheduling and GC).
//
//	go test -run '^$' -bench Health1M -benchtime 5x .
func BenchmarkHealth1M(b *testing.B) {
	m := New()
	defer m.Close()
	h := Func(func() {})
	names := []string{"Heartbeat", "remote:BuyPet", "chat", "tween", "round-timer"}
	for i := range 1_000_000 {
		meta := Meta{Name: names[i%len(names)], Player: fmt.Sprint("p", i%100_000)}
		if i%4 == 0 {
			meta.Service = fmt.Sprint("s", i%20)
		}
		if i%16 == 0 {
			meta.Tags = []string{fmt.Sprint("t", i%4)}
		}
		if _, err := m.Track(meta, h); err != nil {
			b.Fatal(err)
		}
	}

	for _, bc := range []struct {
		name string
		run  func()
	}{
		{"Health", func() { m.Health(10) }},
		// The control holds a shard lock for a fixed ~25µs of work, as
		// often as Health does: whatever its tail shows beyond 25µs is the
		// machine (preemption, GC, other processes), not Health.
		{"control-25µs-holds", func() {
			for i := range 1_000_000 / healthChunk {
				s := m.shards[i&int(m.mask)]
				start := time.Now()
				s.mu.Lock()
				for time.Since(start) < 25*time.Microsecond {
				}
				s.mu.Unlock()
				testHookHold(0, time.Since(start))
			}
		}},
		{"Validate", func() {
			start := time.Now()
			if err := m.Validate(); err != nil {
				b.Fatal(err)
			}
			testHookHold(0, time.Since(start))
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var (
				holds    []time.Duration // the hook runs on the calling goroutine
				maxTrack atomic.Int64
			)
			testHookHold = func(_ int, held time.Duration) { holds = append(holds, held) }
			defer func() { testHookHold = nil }()

			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					start := time.Now()
					id, _ := m.TrackPlayer(fmt.Sprint("p", i%100_000), "churn", h)
					m.Disconnect(id)
					raise(&maxTrack, time.Since(start))
				}
			}()
			for b.Loop() {
				bc.run()
			}
			close(stop)
			wg.Wait()
			slices.Sort(holds)
			n := len(holds)
			b.ReportMetric(float64(holds[n/2])/1e3, "p50-hold-µs")
			b.ReportMetric(float64(holds[n*999/1000])/1e3, "p99.9-hold-µs")
			b.ReportMetric(float64(holds[n-1])/1e3, "max-hold-µs")
			b.ReportMetric(float64(maxTrack.Load())/1e3, "max-track-µs")
		})
	}
}

// raise sets v to d if d is larger.
func raise(v *atomic.Int64, d time.Duration) {
	for {
		cur := v.Load()
		if int64(d) <= cur || v.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}
