package connmgr_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

// TestCallbacksMayCallBackIn checks that no lock is held while the
// manager runs the presence function, a Liveness check or the error
// handler: each calls the manager, which would deadlock otherwise.
func TestCallbacksMayCallBackIn(t *testing.T) {
	t.Run("the presence function may track, count and take Stats", func(t *testing.T) {
		var m *connmgr.Manager
		m = connmgr.New(connmgr.WithPresence(func(player string) bool {
			_, err := m.TrackService("audit", "checked "+player, &counted{})
			assert.NoError(t, err)
			checkInvariant(t, m.Stats())
			return m.Len(connmgr.Player(player)) < 2
		}))
		defer m.Close()
		trackN(t, m, "busy", 2)
		trackN(t, m, "quiet", 1)
		n, err := m.Sweep()
		assert.NoError(t, err)
		assert.Equal(t, 2, n, "the player the presence function found offline should be cleaned")
		assert.Equal(t, 2, m.Len(connmgr.Service("audit")), "the presence function's Tracks should stay")
	})
	t.Run("a Liveness check may clean up another pool", func(t *testing.T) {
		m := connmgr.New()
		defer m.Close()
		other := &counted{}
		_, err := m.TrackPlayer("other", "other", other)
		require.NoError(t, err)
		h := &callingBack{check: func() bool {
			_, err := m.CleanupPlayer("other")
			assert.NoError(t, err)
			return false
		}}
		_, err = m.TrackPlayer("p", "h", h)
		require.NoError(t, err)
		n, err := m.Sweep()
		assert.NoError(t, err)
		assert.Equal(t, 1, n, "the stale handle should be dropped")
		assert.EqualValues(t, 1, other.calls.Load(), "the cleanup Connected ran should have worked")
	})
	t.Run("the error handler may clean up and track", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var m *connmgr.Manager
			m = connmgr.New(connmgr.WithSweepInterval(time.Second), connmgr.WithErrorHandler(func(error) {
				_, err := m.CleanupTag("t")
				assert.NoError(t, err)
				_, err = m.TrackPlayer("p", "after the error", &counted{})
				assert.NoError(t, err)
			}))
			defer m.Close()
			_, err := m.Track(connmgr.Meta{Name: "fails", TTL: time.Second}, &counted{fault: returnError})
			require.NoError(t, err)
			tagged := &counted{}
			_, err = m.TrackTag("t", "tagged", tagged)
			require.NoError(t, err)
			time.Sleep(time.Second)
			synctest.Wait()
			assert.EqualValues(t, 1, tagged.calls.Load(), "the handler's cleanup should have worked")
			assert.Equal(t, 1, m.Len(connmgr.Player("p")), "the handler's Track should have worked")
		})
	})
}

// callingBack is a Liveness handle whose Connected runs check.
type callingBack struct {
	counted
	check func() bool
}

func (c *callingBack) Connected() bool { return c.check() }
