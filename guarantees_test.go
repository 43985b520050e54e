package connmgr_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

// This file spells out, one readable case at a time, core guarantees that
// FuzzManager and TestStress also check at random.

// TestMembership checks that a handle is in every pool its Meta names, and
// that cleaning any one of them disconnects it and takes it out of all of
// them, freeing the pools it leaves empty.
func TestMembership(t *testing.T) {
	pools := []connmgr.Pool{connmgr.Player("p"), connmgr.Service("s"), connmgr.Tag("a"), connmgr.Tag("b")}
	for _, clean := range pools {
		t.Run(fmt.Sprintf("cleaning %s takes the handle out of all four pools", clean), func(t *testing.T) {
			m := connmgr.New()
			defer m.Close()
			h := &counted{}
			_, err := m.Track(connmgr.Meta{Name: "h", Player: "p", Service: "s", Tags: []string{"a", "b", "a"}}, h)
			require.NoError(t, err)
			bystander := &counted{}
			_, err = m.Track(connmgr.Meta{Name: "bystander", Player: "q", Service: "s", Tags: []string{"a"}}, bystander)
			require.NoError(t, err)
			want := map[connmgr.Pool]int{connmgr.Player("p"): 1, connmgr.Service("s"): 2, connmgr.Tag("a"): 2, connmgr.Tag("b"): 1}
			for _, p := range pools {
				require.Equal(t, want[p], m.Len(p), "Len(%s) before the cleanup", p)
			}

			n, err := m.Cleanup(clean)
			require.NoError(t, err)
			assert.EqualValues(t, 1, h.calls.Load(), "the handle should be disconnected once")
			remaining := 0 // pools of each kind left, all holding the bystander
			if clean == connmgr.Player("p") || clean == connmgr.Tag("b") {
				assert.Equal(t, 1, n, "Cleanup(%s) should count the handle", clean)
				assert.Zero(t, bystander.calls.Load(), "the bystander is not in %s", clean)
				want = map[connmgr.Pool]int{connmgr.Service("s"): 1, connmgr.Tag("a"): 1}
				remaining = 1
			} else {
				assert.Equal(t, 2, n, "Cleanup(%s) should count both handles", clean)
				want = map[connmgr.Pool]int{}
			}
			for _, p := range pools {
				assert.Equal(t, want[p], m.Len(p), "Len(%s) after the cleanup", p)
			}
			st := m.Stats()
			assert.Equal(t, []int{remaining, remaining, remaining}, []int{st.PlayerPools, st.ServicePools, st.TagPools},
				"pools left empty should be freed (Stats counts player, service and tag pools)")
			assert.NoError(t, m.Validate())
		})
	}
}

// TestCleanupOrderIsNewestFirst checks that one cleanup disconnects its
// handles in reverse track order, whether they share a shard or not.
func TestCleanupOrderIsNewestFirst(t *testing.T) {
	for _, tc := range []struct {
		name    string
		meta    func(i int) connmgr.Meta
		cleanup func(m *connmgr.Manager) error
	}{
		{"CleanupPlayer disconnects a player's handles newest first",
			func(int) connmgr.Meta { return connmgr.Meta{Player: "p"} },
			func(m *connmgr.Manager) error { _, err := m.CleanupPlayer("p"); return err }},
		{"CleanupService disconnects handles spread over shards newest first",
			func(i int) connmgr.Meta { return connmgr.Meta{Player: fmt.Sprint("p", i), Service: "s"} },
			func(m *connmgr.Manager) error { _, err := m.CleanupService("s"); return err }},
		{"CleanupTag disconnects handles spread over shards newest first",
			func(i int) connmgr.Meta { return connmgr.Meta{Player: fmt.Sprint("p", i), Tags: []string{"t"}} },
			func(m *connmgr.Manager) error { _, err := m.CleanupTag("t"); return err }},
		{"CleanupAll disconnects everything newest first",
			func(i int) connmgr.Meta { return connmgr.Meta{Player: fmt.Sprint("p", i%7)} },
			func(m *connmgr.Manager) error { _, err := m.CleanupAll(); return err }},
		{"Shutdown disconnects everything newest first",
			func(i int) connmgr.Meta { return connmgr.Meta{Service: fmt.Sprint("s", i%5)} },
			func(m *connmgr.Manager) error { return m.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := connmgr.New()
			defer m.Close()
			var (
				mu    sync.Mutex
				order []int
			)
			const n = 600 // more than one chunk
			for i := range n {
				_, err := m.Track(tc.meta(i), connmgr.Func(func() {
					mu.Lock()
					order = append(order, i)
					mu.Unlock()
				}))
				require.NoError(t, err)
			}
			require.NoError(t, tc.cleanup(m))
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, order, n, "every handle should be disconnected")
			assert.True(t, slices.IsSortedFunc(order, func(a, b int) int { return b - a }), "handles should be disconnected newest first: %v", order)
		})
	}
}

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

// TestBackgroundSweeper checks that WithSweepInterval sweeps every interval
// in the background and hands the sweep's errors to the error handler.
func TestBackgroundSweeper(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var reported []error
		m := connmgr.New(connmgr.WithSweepInterval(time.Second), connmgr.WithErrorHandler(func(err error) {
			reported = append(reported, err)
		}))
		ok, bad := &counted{}, &counted{fault: returnError}
		_, err := m.Track(connmgr.Meta{Name: "ok", TTL: 1500 * time.Millisecond}, ok)
		require.NoError(t, err)
		_, err = m.Track(connmgr.Meta{Name: "bad", TTL: 1500 * time.Millisecond}, bad)
		require.NoError(t, err)

		time.Sleep(time.Second)
		synctest.Wait()
		assert.Zero(t, ok.calls.Load()+bad.calls.Load(), "the sweep at 1s should leave handles younger than their TTL")
		time.Sleep(time.Second)
		synctest.Wait()
		assert.EqualValues(t, 1, ok.calls.Load(), "the sweep at 2s should expire the handle")
		assert.EqualValues(t, 1, bad.calls.Load(), "the sweep at 2s should expire the failing handle")
		require.Len(t, reported, 1, "the sweep's error should go to the error handler")
		des := disconnectErrors(reported[0])
		require.Len(t, des, 1, "the reported error should hold the failure")
		assert.Equal(t, "bad", des[0].Info.Name, "the reported failure should name the handle")
		assert.EqualValues(t, 2, m.Stats().Expired, "Stats.Expired")
		assert.NoError(t, m.Close())
	})
}
