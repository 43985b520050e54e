package connmgr_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

// TestCleanupRacingTracksIntoThePool cleans a pool many chunks long while
// another goroutine keeps tracking into it. Cleanup lets go of the lock
// between chunks, so the Tracks land in the middle of it: every handle
// tracked before the call must be disconnected once, the count returned
// must be what it disconnected, and the new handles it did not take must
// stay tracked.
func TestCleanupRacingTracksIntoThePool(t *testing.T) {
	const before, during = 2000, 2000
	for _, tc := range []struct {
		pool connmgr.Pool
		meta func(i int) connmgr.Meta
	}{
		{connmgr.Player("p"), func(int) connmgr.Meta { return connmgr.Meta{Player: "p"} }},
		{connmgr.Service("s"), func(i int) connmgr.Meta { return connmgr.Meta{Player: fmt.Sprint("p", i%64), Service: "s"} }},
		{connmgr.Tag("t"), func(i int) connmgr.Meta { return connmgr.Meta{Player: fmt.Sprint("p", i%64), Tags: []string{"t"}} }},
	} {
		t.Run(fmt.Sprintf("cleanup of %s takes what was there and leaves what came during it", tc.pool), func(t *testing.T) {
			m := connmgr.New()
			defer m.Close()
			olds := make([]*counted, before)
			for i := range olds {
				olds[i] = &counted{}
				_, err := m.Track(tc.meta(i), olds[i])
				require.NoError(t, err)
			}

			news := make([]*counted, during)
			ids := make([]connmgr.ID, during)
			var (
				wg      sync.WaitGroup
				cleaned atomic.Bool
				overlap int // Tracks that returned before Cleanup did
			)
			start := make(chan struct{})
			wg.Go(func() {
				<-start
				for i := range news {
					news[i] = &counted{}
					var err error
					ids[i], err = m.Track(tc.meta(i), news[i])
					assert.NoError(t, err)
					if !cleaned.Load() {
						overlap++
					}
				}
			})
			close(start)
			n, err := m.Cleanup(tc.pool)
			cleaned.Store(true)
			wg.Wait()
			require.NoError(t, err)

			for i, h := range olds {
				assert.EqualValues(t, 1, h.calls.Load(), "handle %d, tracked before the Cleanup, should be disconnected once", i)
			}
			taken, left := 0, 0
			for i, h := range news {
				_, tracked := m.Lookup(ids[i])
				switch calls := h.calls.Load(); {
				case calls == 1 && !tracked:
					taken++
				case calls == 0 && tracked:
					left++
				default:
					t.Errorf("handle %d, tracked during the Cleanup, was disconnected %d times and is tracked: %v", i, calls, tracked)
				}
			}
			assert.Equal(t, before+taken, n, "Cleanup should count every handle it disconnected")
			assert.Equal(t, left, m.Len(tc.pool), "the handles Cleanup did not take should stay in the pool")
			assert.NoError(t, m.Validate())
			t.Logf("%d Tracks overlapped the Cleanup; it took %d of them, left %d", overlap, taken, left)
		})
	}
}

// TestCloseRacingTracks closes the manager while goroutines keep tracking
// into it: each Track is either accepted, and then disconnected by the
// Shutdown, or refused with ErrClosed and disconnected at once. Nothing
// slips in behind the Shutdown.
func TestCloseRacingTracks(t *testing.T) {
	const trackers = 4
	m := connmgr.New()
	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		accepted, closed []*counted
	)
	started := make(chan struct{}, trackers)
	for w := range trackers {
		wg.Go(func() {
			for i := 0; ; i++ {
				h := &counted{}
				_, err := m.Track(connmgr.Meta{Player: fmt.Sprint("p", w, "-", i%8), Service: "s"}, h)
				if i == 100 {
					started <- struct{}{}
				}
				mu.Lock()
				if err == nil {
					accepted = append(accepted, h)
				} else {
					closed = append(closed, h)
				}
				mu.Unlock()
				if err != nil {
					assert.ErrorIs(t, err, connmgr.ErrClosed, "Track should be refused only because the manager closed")
					return
				}
			}
		})
	}
	for range trackers {
		<-started
	}
	require.NoError(t, m.Close())
	wg.Wait()

	require.Len(t, closed, trackers, "each tracker should stop at its first ErrClosed")
	for i, h := range append(accepted, closed...) {
		assert.EqualValues(t, 1, h.calls.Load(), "handle %d should be disconnected exactly once", i)
	}
	st := m.Stats()
	assert.EqualValues(t, len(accepted), st.Tracked, "Stats.Tracked should count the accepted handles")
	assert.Equal(t, st.Tracked, st.Disconnected, "Shutdown should have disconnected every accepted handle")
	assert.EqualValues(t, trackers, st.Rejected, "Stats.Rejected should count the refused handles")
	assert.NoError(t, m.Validate())
}
