package connmgr_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

func TestSweepDisconnectsHandlesOlderThanTheirTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := newJournal()
		m := connmgr.New()
		defer m.Close()
		_, err := m.Track(connmgr.Meta{Name: "short", Player: "p", TTL: time.Minute}, j.spy("short"))
		require.NoError(t, err)
		_, err = m.Track(connmgr.Meta{Name: "long", Player: "p", TTL: time.Hour}, j.spy("long"))
		require.NoError(t, err)
		_, err = m.Track(connmgr.Meta{Name: "forever", Player: "p"}, j.spy("forever"))
		require.NoError(t, err)

		time.Sleep(59 * time.Second)
		n, err := m.Sweep()
		require.NoError(t, err)
		assert.Zero(t, n, "nothing is older than its TTL yet")

		time.Sleep(time.Second)
		n, err = m.Sweep()
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		assert.Equal(t, []string{"short"}, j.Order(), "the handle whose TTL passed is disconnected")

		time.Sleep(2 * time.Hour)
		_, err = m.Sweep()
		require.NoError(t, err)
		assert.Equal(t, []string{"short", "long"}, j.Order(), "a handle without TTL is never expired")
		st := m.Stats()
		assert.Equal(t, uint64(2), st.Expired)
		assert.Equal(t, uint64(2), st.Disconnected, "Expired handles also count as Disconnected")
		assert.Equal(t, 1, st.Active)
	})
}

func TestSweepDropsStaleHandlesWithoutDisconnecting(t *testing.T) {
	j := newJournal()
	m := connmgr.New()
	defer m.Close()
	alive, dead := j.spy("alive"), j.spy("dead")
	_, _ = m.TrackPlayer("p", "alive", alive)
	deadID, _ := m.TrackPlayer("p", "dead", dead)
	_, _ = m.TrackPlayer("p", "plain", nop{}) // no Liveness: never stale
	dead.alive.Store(false)                   // disconnected elsewhere

	n, err := m.Sweep()
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Zero(t, j.Count("dead"), "a stale handle is dropped, not disconnected")
	_, ok := m.Lookup(deadID)
	assert.False(t, ok, "a stale handle leaves the manager")
	st := m.Stats()
	assert.Equal(t, uint64(1), st.Stale)
	assert.Zero(t, st.Disconnected)
	assert.Equal(t, 2, m.Len(connmgr.Player("p")))
	assert.True(t, invariantHolds(st))
}

func TestSweepCleansThePoolsOfOfflinePlayers(t *testing.T) {
	j := newJournal()
	var (
		mu    sync.Mutex
		asked = map[string]int{}
	)
	online := map[string]bool{"here": true}
	m := connmgr.New(connmgr.WithPresence(func(player string) bool {
		mu.Lock()
		defer mu.Unlock()
		asked[player]++
		return online[player]
	}))
	defer m.Close()
	for i := range 3 {
		_, _ = m.Track(connmgr.Meta{Name: fmt.Sprint("here", i), Player: "here", Tags: []string{"t"}}, j.spy(fmt.Sprint("here", i)))
		_, _ = m.Track(connmgr.Meta{Name: fmt.Sprint("gone", i), Player: "gone", Tags: []string{"t"}}, j.spy(fmt.Sprint("gone", i)))
	}
	_, _ = m.TrackService("svc", "no player", j.spy("svc"))

	n, err := m.Sweep()
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, []string{"gone2", "gone1", "gone0"}, j.Order(), "the offline player's handles go, newest first")
	assert.Equal(t, map[string]int{"here": 1, "gone": 1}, asked, "online is called once per player pool per sweep")
	assert.Equal(t, 3, m.Len(connmgr.Player("here")))
	assert.Equal(t, 3, m.Len(connmgr.Tag("t")))
	st := m.Stats()
	assert.Equal(t, uint64(3), st.Orphaned)
	assert.Equal(t, uint64(3), st.Disconnected, "Orphaned handles also count as Disconnected")
}

func TestAPanickingPresenceCheckCountsAsOnline(t *testing.T) {
	var reported []error
	m := connmgr.New(
		connmgr.WithPresence(func(string) bool { panic("presence backend down") }),
		connmgr.WithErrorHandler(func(err error) { reported = append(reported, err) }),
	)
	defer m.Close()
	_, _ = m.TrackPlayer("p", "h", nop{})
	_, _ = m.Track(connmgr.Meta{Player: "q", TTL: time.Nanosecond}, nop{})
	time.Sleep(time.Millisecond)

	n, err := m.Sweep()
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the sweep goes on past the panic and expires the TTL handle")
	assert.Equal(t, 1, m.Len(connmgr.Player("p")), "a player whose presence check panicked is treated as online")
	require.Len(t, reported, 2, "each panic goes to the error handler")
	var pe *connmgr.PanicError
	assert.ErrorAs(t, reported[0], &pe)
}

func TestBackgroundSweeperRunsAtItsIntervalAndStopsOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := newJournal()
		errs := make(chan error, 10)
		m := connmgr.New(
			connmgr.WithSweepInterval(time.Minute),
			connmgr.WithErrorHandler(func(err error) { errs <- err }),
		)
		failing := j.spy("failing")
		failing.err = errors.New("boom")
		_, _ = m.Track(connmgr.Meta{Player: "p", TTL: 30 * time.Second}, j.spy("expires"))
		_, _ = m.Track(connmgr.Meta{Player: "p", TTL: 90 * time.Second}, failing)

		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, []string{"expires"}, j.Order(), "the first sweep, after one interval, expires the 30 s handle")

		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, []string{"expires", "failing"}, j.Order())
		select {
		case err := <-errs:
			assert.ErrorContains(t, err, "boom", "the sweeper hands its errors to the error handler")
		default:
			t.Error("the sweeper's error should reach the error handler")
		}
		require.NoError(t, m.Close())
		// synctest.Test fails if the sweeper goroutine outlives Close.
	})
}
