package connmgr_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

func TestOneCleanupDisconnectsNewestFirst(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(m *connmgr.Manager) error
	}{
		{"CleanupPlayer", func(m *connmgr.Manager) error { _, err := m.CleanupPlayer("p0"); return err }},
		{"CleanupService across many players", func(m *connmgr.Manager) error { _, err := m.CleanupService("s"); return err }},
		{"CleanupTag", func(m *connmgr.Manager) error { _, err := m.CleanupTag("t"); return err }},
		{"CleanupAll", func(m *connmgr.Manager) error { _, err := m.CleanupAll(); return err }},
		{"Shutdown", func(m *connmgr.Manager) error { return m.Shutdown(context.Background()) }},
	} {
		t.Run(tc.name+" disconnects in reverse track order", func(t *testing.T) {
			j := newJournal()
			m := connmgr.New()
			defer m.Close()
			var want []string
			for i := range 2000 { // enough to span every shard and several chunks
				name := fmt.Sprint(i)
				player := "p0" // one player pool of 2000: several chunks in one shard
				if tc.name != "CleanupPlayer" {
					player = fmt.Sprint("p", i%97)
				}
				_, err := m.Track(connmgr.Meta{Name: name, Player: player, Service: "s", Tags: []string{"t"}}, j.spy(name))
				require.NoError(t, err)
				want = append([]string{name}, want...)
			}
			require.NoError(t, tc.run(m))
			assert.Equal(t, want, j.Order())
		})
	}
}

func TestAFailingDisconnectDoesNotStopTheBatch(t *testing.T) {
	j := newJournal()
	m := connmgr.New()
	defer m.Close()
	boom := errors.New("boom")
	track := func(s *spy) {
		_, err := m.TrackPlayer("p", s.name, s)
		require.NoError(t, err)
	}
	ok1, failing, panicking, ok2 := j.spy("ok1"), j.spy("failing"), j.spy("panicking"), j.spy("ok2")
	failing.err = boom
	panicking.panics = "kaput"
	track(ok1)
	track(failing)
	track(panicking)
	track(ok2)

	n, err := m.CleanupPlayer("p")
	assert.Equal(t, 4, n, "the count includes the failed handles")
	assert.Equal(t, []string{"ok2", "panicking", "failing", "ok1"}, j.Order(), "every handle is disconnected despite the failures")
	require.ErrorIs(t, err, boom)

	var des []*connmgr.DisconnectError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var de *connmgr.DisconnectError
		require.ErrorAs(t, e, &de, "each joined error is a *DisconnectError")
		des = append(des, de)
	}
	require.Len(t, des, 2, "one error per failure")
	assert.Equal(t, "panicking", des[0].Info.Name)
	var pe *connmgr.PanicError
	require.ErrorAs(t, des[0], &pe, "a panic becomes a *PanicError")
	assert.Equal(t, "kaput", pe.Value)
	assert.Contains(t, string(pe.Stack), "Disconnect", "the PanicError holds the panicking stack")
	assert.Equal(t, "failing", des[1].Info.Name)

	st := m.Stats()
	assert.Equal(t, uint64(2), st.Failed)
	assert.Equal(t, uint64(1), st.Panics)
	assert.Equal(t, uint64(4), st.Disconnected)
	assert.Zero(t, m.Len(connmgr.Player("p")), "failed handles are forgotten, not retried")
	require.NoError(t, m.Close())
	assert.Equal(t, 1, j.Count("failing"), "a failed handle is not disconnected again")
}

func TestPanicErrorUnwrapsAnErrorValue(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	boom := errors.New("boom")
	id, _ := m.TrackPlayer("p", "x", connmgr.Func(func() { panic(boom) }))
	err := m.Disconnect(id)
	assert.ErrorIs(t, err, boom, "errors.Is sees through panic(err)")
	var pe *connmgr.PanicError
	assert.ErrorAs(t, err, &pe)
}

// TestDisconnectMayCallBackIntoTheManager runs, from inside Disconnects that
// each cleanup path calls, the Manager methods a handle may call. A deadlock
// fails the test by timeout.
func TestDisconnectMayCallBackIntoTheManager(t *testing.T) {
	paths := map[string]func(m *connmgr.Manager, id connmgr.ID){
		"Disconnect(id)": func(m *connmgr.Manager, id connmgr.ID) { _ = m.Disconnect(id) },
		"CleanupPlayer":  func(m *connmgr.Manager, _ connmgr.ID) { _, _ = m.CleanupPlayer("p") },
		"CleanupAll":     func(m *connmgr.Manager, _ connmgr.ID) { _, _ = m.CleanupAll() },
		"Sweep":          func(m *connmgr.Manager, _ connmgr.ID) { time.Sleep(2 * time.Millisecond); _, _ = m.Sweep() },
		"Close":          func(m *connmgr.Manager, _ connmgr.ID) { _ = m.Close() },
	}
	for name, path := range paths {
		t.Run(name+" lets Disconnect call any method", func(t *testing.T) {
			m := connmgr.New()
			defer m.Close()
			j := newJournal()
			var (
				id       connmgr.ID
				ownErr   error
				newID    connmgr.ID
				trackErr error
			)
			reentrant := j.spy("reentrant")
			reentrant.before = func() {
				ownErr = m.Disconnect(id)
				newID, trackErr = m.TrackPlayer("p", "tracked during cleanup", j.spy("new"))
				_, _ = m.CleanupPlayer("other")
				_ = m.Stats()
				_, _ = m.Lookup(id)
				_ = m.Len(connmgr.Player("p"))
				_, _ = m.Sweep()
				_ = m.Validate()
				stop := m.CleanupOnDone(context.Background(), connmgr.Player("p"))
				stop()
			}
			var err error
			id, err = m.Track(connmgr.Meta{Name: "reentrant", Player: "p", TTL: time.Millisecond}, reentrant)
			require.NoError(t, err)
			_, err = m.TrackPlayer("other", "o", j.spy("other"))
			require.NoError(t, err)

			done := make(chan struct{})
			go func() { defer close(done); path(m, id) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("deadlock: a Disconnect that calls back into the manager never returned")
			}
			assert.ErrorIs(t, ownErr, connmgr.ErrNotFound, "a handle's Disconnect of its own ID finds nothing")
			assert.Equal(t, 1, j.Count("other"), "a Cleanup of another pool from inside Disconnect works")
			if name == "Close" {
				assert.ErrorIs(t, trackErr, connmgr.ErrClosed, "Track during Shutdown is refused")
				assert.Equal(t, 1, j.Count("new"), "and its handle disconnected")
				return
			}
			require.NoError(t, trackErr)
			_, ok := m.Lookup(newID)
			assert.True(t, ok, "a handle tracked into the pool being cleaned stays tracked")
			assert.Equal(t, 0, j.Count("new"), "and is not disconnected by that cleanup")
			require.NoError(t, m.Validate())
		})
	}
}

// TestEveryHandleIsDisconnectedExactlyOnce races every removal path over
// handles in overlapping pools, then closes, and counts.
func TestEveryHandleIsDisconnectedExactlyOnce(t *testing.T) {
	const handles = 3000
	j := newJournal()
	m := connmgr.New(connmgr.WithPresence(func(p string) bool { return p != "p3" }))
	ids := make([]connmgr.ID, handles)
	for i := range ids {
		var err error
		ids[i], err = m.Track(connmgr.Meta{
			Player:  fmt.Sprint("p", i%7),
			Service: fmt.Sprint("s", i%5),
			Tags:    []string{fmt.Sprint("t", i%3), fmt.Sprint("u", i%11)},
		}, j.spy(fmt.Sprint(i)))
		require.NoError(t, err)
	}

	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 200 {
				switch r.IntN(6) {
				case 0:
					_ = m.Disconnect(ids[r.IntN(handles)])
				case 1:
					_, _ = m.CleanupPlayer(fmt.Sprint("p", r.IntN(7)))
				case 2:
					_, _ = m.CleanupService(fmt.Sprint("s", r.IntN(5)))
				case 3:
					_, _ = m.CleanupTag(fmt.Sprint("u", r.IntN(11)))
				case 4:
					_, _ = m.Sweep()
				case 5:
					if r.IntN(20) == 0 {
						_, _ = m.CleanupAll()
					}
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, m.Close())
	for i := range handles {
		require.Equal(t, 1, j.Count(fmt.Sprint(i)), "handle %d should be disconnected exactly once", i)
	}
	st := m.Stats()
	assert.Equal(t, uint64(handles), st.Disconnected)
	assert.True(t, invariantHolds(st), "invariant: %+v", st)
	require.NoError(t, m.Validate())
}

func TestCleanupAllLeavesTheManagerOpen(t *testing.T) {
	j := newJournal()
	m := connmgr.New()
	defer m.Close()
	for i := range 10 {
		_, err := m.TrackPlayer(fmt.Sprint("p", i), "h", j.spy(fmt.Sprint(i)))
		require.NoError(t, err)
	}
	n, err := m.CleanupAll()
	require.NoError(t, err)
	assert.Equal(t, 10, n)
	assert.Zero(t, m.Stats().Active, "CleanupAll disconnects everything tracked before it")
	_, err = m.TrackPlayer("p", "after", nop{})
	assert.NoError(t, err, "the manager stays open after CleanupAll")
}
