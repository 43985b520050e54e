package connmgr_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

// TestDisconnectFailures checks each way a Disconnect can fail: the failure
// is reported as a *DisconnectError (a panic as a *PanicError), counted,
// the handle is forgotten and not retried, and the rest of the batch runs.
func TestDisconnectFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  fault
		cause  string // the message of DisconnectError.Err
		panics bool
		check  func(t *testing.T, err error)
	}{
		{
			name: "a Disconnect that returns an error is reported with that error", fault: returnError,
			cause: errDisconnect.Error(),
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, errDisconnect, "errors.Is should find what Disconnect returned")
			},
		},
		{
			name: "a Disconnect that panics with a string is reported as a PanicError holding it", fault: panicString,
			cause: "panic: boom", panics: true,
			check: func(t *testing.T, err error) {
				var pe *connmgr.PanicError
				require.ErrorAs(t, err, &pe, "a panic should become a *PanicError")
				assert.Equal(t, "boom", pe.Value, "the PanicError should hold the panic value")
				assert.Contains(t, string(pe.Stack), "(*counted).Disconnect", "the PanicError should hold the panicking stack")
			},
		},
		{
			name: "a Disconnect that panics with an error is reported so that errors.Is sees the error", fault: panicError,
			cause: "panic: " + errPanic.Error(), panics: true,
			check: func(t *testing.T, err error) {
				var pe *connmgr.PanicError
				require.ErrorAs(t, err, &pe, "a panic should become a *PanicError")
				assert.ErrorIs(t, err, errPanic, "errors.Is should see through the PanicError")
			},
		},
		{
			name: "a Disconnect that panics with nil is reported as a PanicError holding a PanicNilError", fault: panicNil,
			cause: "panic: panic called with nil argument", panics: true,
			check: func(t *testing.T, err error) {
				var pn *runtime.PanicNilError
				assert.ErrorAs(t, err, &pn, "panic(nil) should be seen as a *runtime.PanicNilError")
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := connmgr.New()
			defer m.Close()
			older, bad, newer := &counted{}, &counted{fault: tc.fault}, &counted{}
			_, err := m.TrackPlayer("p", "older", older)
			require.NoError(t, err)
			badID, err := m.TrackPlayer("p", "bad", bad)
			require.NoError(t, err)
			_, err = m.TrackPlayer("p", "newer", newer)
			require.NoError(t, err)

			n, err := m.CleanupPlayer("p")
			assert.Equal(t, 3, n, "the count should include the failed handle")
			assert.EqualValues(t, 1, newer.calls.Load(), "the handle before the failing one should be disconnected")
			assert.EqualValues(t, 1, older.calls.Load(), "the handle after the failing one should still be disconnected")
			des := disconnectErrors(err)
			require.Len(t, des, 1, "the error should hold one DisconnectError: %v", err)
			assert.Equal(t, badID, des[0].Info.ID, "the DisconnectError should carry the handle's ID")
			assert.EqualError(t, des[0], fmt.Sprintf(`connmgr: disconnect "bad" (id %d, player:p): %s`, badID, tc.cause),
				"the DisconnectError should name the handle, its ID and pool, and the cause")
			tc.check(t, err)

			_, tracked := m.Lookup(badID)
			assert.False(t, tracked, "a failed handle should be forgotten")
			n, err = m.CleanupPlayer("p")
			assert.Zero(t, n, "a failed handle should not be retried")
			assert.NoError(t, err)
			assert.EqualValues(t, 1, bad.calls.Load(), "a failed handle should be disconnected once")

			again := &counted{fault: tc.fault}
			id, err := m.TrackService("s", "again", again)
			require.NoError(t, err)
			err = m.Disconnect(id)
			var de *connmgr.DisconnectError
			require.ErrorAs(t, err, &de, "Disconnect(id) should return the failure as a *DisconnectError")
			assert.Equal(t, "again", de.Info.Name, "the DisconnectError should name the handle")
			tc.check(t, err)

			st := m.Stats()
			assert.EqualValues(t, 2, st.Failed, "Stats.Failed should count both failures")
			panics := 0
			if tc.panics {
				panics = 2
			}
			assert.EqualValues(t, panics, st.Panics, "Stats.Panics should count the failures that panicked")
			assert.NoError(t, m.Validate())
		})
	}
}

// blocker is a handle whose Disconnect blocks until release is closed.
type blocker struct {
	counted
	release chan struct{}
}

func newBlocker() *blocker { return &blocker{release: make(chan struct{})} }

func (b *blocker) Disconnect() error {
	b.calls.Add(1)
	<-b.release
	return nil
}

// TestFaults injects the faults a game server's handles and callbacks
// have: blocking, flipping liveness, panicking presence checks and error
// handlers, concurrent and nested shutdowns. Time is a synctest bubble's.
func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T)
	}{
		{"a CleanupPlayer stuck in a Disconnect blocks only its own caller", testBlockedCleanup},
		{"a Shutdown stuck in a Disconnect returns at its deadline saying how many remain, and finishes in the background", testShutdownDeadline},
		{"a Liveness handle is dropped as stale only by a Sweep that finds it disconnected", testLivenessFlips},
		{"a Connected that panics counts as connected and Sweep reports it", testConnectedPanics},
		{"a presence function that panics counts as online, is reported, and the sweep goes on", testPresencePanics},
		{"an error handler that panics is recovered and the manager keeps working", testErrorHandlerPanics},
		{"Close from many goroutines returns in each once everything is disconnected, and one reports the errors", testConcurrentClose},
		{"a Shutdown with a deadline from inside a Disconnect during Shutdown returns at that deadline", testNestedShutdown},
	} {
		t.Run(tc.name, func(t *testing.T) { synctest.Test(t, tc.test) })
	}
}

func testBlockedCleanup(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	older, stuck := &counted{}, newBlocker()
	_, err := m.TrackPlayer("p1", "older", older)
	require.NoError(t, err)
	_, err = m.TrackPlayer("p1", "stuck", stuck)
	require.NoError(t, err)
	_, err = m.TrackPlayer("p2", "other", &counted{})
	require.NoError(t, err)

	var (
		n        int
		cleanErr error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, cleanErr = m.CleanupPlayer("p1")
	}()
	synctest.Wait() // the cleanup is stuck in the newest handle's Disconnect
	require.EqualValues(t, 1, stuck.calls.Load(), "the newest handle should be disconnecting")
	assert.Zero(t, older.calls.Load(), "the older handle should wait its turn")

	// Everyone else carries on, the player's own pool included.
	rejoined, err := m.TrackPlayer("p1", "rejoined", &counted{})
	assert.NoError(t, err, "Track into the pool being cleaned should not wait")
	assert.Equal(t, 1, m.Len(connmgr.Player("p1")), "the pool should hold only the handle tracked during the cleanup")
	n2, err := m.CleanupPlayer("p2")
	assert.Equal(t, 1, n2, "another player's cleanup should not wait")
	assert.NoError(t, err)
	assert.Equal(t, 1, m.Stats().Active, "Stats should not wait")
	assert.NoError(t, m.Validate(), "Validate should not wait")
	select {
	case <-done:
		t.Fatal("the stuck CleanupPlayer returned before its Disconnect did")
	default:
	}

	close(stuck.release)
	<-done
	assert.Equal(t, 2, n, "the stuck cleanup should count both of its handles")
	assert.NoError(t, cleanErr)
	assert.EqualValues(t, 1, older.calls.Load(), "the older handle should be disconnected once the stuck one returns")
	_, tracked := m.Lookup(rejoined)
	assert.True(t, tracked, "the handle tracked during the cleanup should stay tracked")
}

func testShutdownDeadline(t *testing.T) {
	m := connmgr.New()
	first, second, stuck := &counted{}, &counted{}, newBlocker()
	for _, h := range []connmgr.Handle{first, second, stuck} {
		_, err := m.TrackPlayer("p", "h", h)
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	err := m.Shutdown(ctx)
	assert.Equal(t, 5*time.Second, time.Since(start), "Shutdown should return at its deadline")
	assert.ErrorIs(t, err, context.DeadlineExceeded, "Shutdown should wrap ctx.Err()")
	assert.EqualError(t, err, "connmgr: shutdown: 3 handles still disconnecting: context deadline exceeded",
		"Shutdown should say how many handles remain")
	_, err = m.TrackPlayer("p", "late", &counted{})
	assert.ErrorIs(t, err, connmgr.ErrClosed, "the manager should be closed even though Shutdown gave up waiting")

	close(stuck.release)
	synctest.Wait()
	assert.EqualValues(t, 1, second.calls.Load(), "the remaining disconnects should complete in the background")
	assert.EqualValues(t, 1, first.calls.Load(), "the remaining disconnects should complete in the background")
	assert.NoError(t, m.Close(), "a later Close should return nil once the work is done")
}

// flippable is a Liveness handle whose Connected the test sets.
type flippable struct {
	counted
	connected atomic.Bool
	asked     atomic.Int32
}

func (f *flippable) Connected() bool {
	f.asked.Add(1)
	return f.connected.Load()
}

func testLivenessFlips(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	h := &flippable{}
	h.connected.Store(true)
	id, err := m.TrackPlayer("p", "conn", h)
	require.NoError(t, err)

	for _, step := range []struct {
		flips []bool // what Connected is set to before the Sweep, in turn
		stale bool
	}{
		{flips: nil, stale: false},
		{flips: []bool{false, true}, stale: false},
		{flips: []bool{false}, stale: true},
	} {
		for _, c := range step.flips {
			h.connected.Store(c)
		}
		asked := h.asked.Load()
		n, err := m.Sweep()
		assert.NoError(t, err)
		assert.Equal(t, asked+1, h.asked.Load(), "Sweep should ask Connected once")
		_, tracked := m.Lookup(id)
		if step.stale {
			assert.Equal(t, 1, n, "Sweep should count the stale handle")
			assert.False(t, tracked, "a handle that reports disconnected should be dropped")
		} else {
			assert.Zero(t, n, "Sweep should remove nothing while Connected reports true")
			assert.True(t, tracked, "a handle that reports connected should stay")
		}
	}
	assert.Zero(t, h.calls.Load(), "a stale handle should be dropped without calling Disconnect")
	st := m.Stats()
	assert.EqualValues(t, 1, st.Stale, "Stats.Stale should count the dropped handle")
	assert.Zero(t, st.Disconnected, "dropping a stale handle is not a Disconnect")
}

// panicky is a Liveness handle whose Connected panics.
type panicky struct{ counted }

func (*panicky) Connected() bool { panic("connected check down") }

func testConnectedPanics(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	id, err := m.TrackPlayer("p", "conn", &panicky{})
	require.NoError(t, err)
	n, err := m.Sweep()
	assert.Zero(t, n, "a handle whose Connected panics should count as connected")
	var pe *connmgr.PanicError
	require.ErrorAs(t, err, &pe, "Sweep should report the panic")
	assert.Equal(t, "connected check down", pe.Value, "the PanicError should hold the panic value")
	_, tracked := m.Lookup(id)
	assert.True(t, tracked, "a handle whose Connected panics should stay tracked")
}

func testPresencePanics(t *testing.T) {
	var reported []error
	m := connmgr.New(
		connmgr.WithPresence(func(player string) bool {
			if player == "p1" {
				panic("presence service down")
			}
			return player != "p2"
		}),
		connmgr.WithErrorHandler(func(err error) { reported = append(reported, err) }),
	)
	defer m.Close()
	p1, p2, p3, ttl := &counted{}, &counted{}, &counted{}, &counted{}
	id1, err := m.TrackPlayer("p1", "p1", p1)
	require.NoError(t, err)
	_, err = m.TrackPlayer("p2", "p2", p2)
	require.NoError(t, err)
	_, err = m.TrackPlayer("p3", "p3", p3)
	require.NoError(t, err)
	_, err = m.Track(connmgr.Meta{Name: "ttl", TTL: time.Second}, ttl)
	require.NoError(t, err)
	time.Sleep(time.Second)

	n, err := m.Sweep()
	assert.NoError(t, err, "the presence panic goes to the error handler, not to Sweep's caller")
	assert.Equal(t, 2, n, "the sweep should go on to the offline player and the expired handle")
	assert.EqualValues(t, 1, p2.calls.Load(), "the offline player's handle should be disconnected")
	assert.EqualValues(t, 1, ttl.calls.Load(), "the expired handle should be disconnected")
	assert.Zero(t, p1.calls.Load()+p3.calls.Load(), "the panicking player and the online one should keep their handles")
	_, tracked := m.Lookup(id1)
	assert.True(t, tracked, "a player whose presence check panics should count as online")
	require.Len(t, reported, 1, "the panic should be reported to the error handler once")
	var pe *connmgr.PanicError
	assert.ErrorAs(t, reported[0], &pe, "the reported error should hold a *PanicError")
	assert.Contains(t, reported[0].Error(), `player "p1"`, "the reported error should name the player")
	st := m.Stats()
	assert.EqualValues(t, 1, st.Orphaned, "Stats.Orphaned")
	assert.EqualValues(t, 1, st.Expired, "Stats.Expired")
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// captureLog sends the default slog logger's output to a buffer for the
// rest of the test.
func captureLog(t *testing.T) *syncBuffer {
	var buf syncBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return &buf
}

func testErrorHandlerPanics(t *testing.T) {
	logs := captureLog(t)
	var handled atomic.Int32
	m := connmgr.New(
		connmgr.WithSweepInterval(time.Second),
		connmgr.WithErrorHandler(func(error) {
			handled.Add(1)
			panic("error handler down")
		}),
	)
	first, second := &counted{fault: returnError}, &counted{fault: returnError}
	_, err := m.Track(connmgr.Meta{Name: "first", TTL: time.Second}, first)
	require.NoError(t, err)
	_, err = m.Track(connmgr.Meta{Name: "second", TTL: 2 * time.Second}, second)
	require.NoError(t, err)

	time.Sleep(time.Second)
	synctest.Wait()
	assert.EqualValues(t, 1, first.calls.Load(), "the background sweep should expire the first handle")
	assert.EqualValues(t, 1, handled.Load(), "its failure should reach the error handler")
	time.Sleep(time.Second)
	synctest.Wait()
	assert.EqualValues(t, 1, second.calls.Load(), "the background sweeper should survive the panicking handler")
	assert.EqualValues(t, 2, handled.Load(), "the second failure should reach the error handler too")
	assert.Equal(t, 2, strings.Count(logs.String(), "error handler panicked"), "each handler panic should be logged")

	h := &counted{}
	_, err = m.TrackPlayer("p", "after", h)
	assert.NoError(t, err, "Track should still work")
	n, err := m.CleanupPlayer("p")
	assert.Equal(t, 1, n, "Cleanup should still work")
	assert.NoError(t, err)
	assert.NoError(t, m.Validate())
	assert.NoError(t, m.Close())
}

func testConcurrentClose(t *testing.T) {
	const closers = 8
	m := connmgr.New()
	bad := &counted{fault: returnError}
	handles := []*counted{bad}
	_, err := m.TrackPlayer("p", "bad", bad)
	require.NoError(t, err)
	for i := range 5 {
		h := &counted{}
		handles = append(handles, h)
		_, err := m.TrackService("s", fmt.Sprint("ok", i), h)
		require.NoError(t, err)
	}
	stuck := newBlocker()
	handles = append(handles, &stuck.counted)
	_, err = m.TrackTag("t", "stuck", stuck)
	require.NoError(t, err)

	var (
		wg       sync.WaitGroup
		returned atomic.Int32
		errs     [closers]error
		complete [closers]bool // whether every handle was disconnected when that Close returned
	)
	for i := range closers {
		wg.Go(func() {
			errs[i] = m.Close()
			complete[i] = true
			for _, h := range handles {
				complete[i] = complete[i] && h.calls.Load() == 1
			}
			returned.Add(1)
		})
	}
	synctest.Wait() // every Close is waiting on the stuck Disconnect
	assert.Zero(t, returned.Load(), "no Close should return while a Disconnect is still running")
	close(stuck.release)
	wg.Wait()

	reporting := 0
	for i := range closers {
		assert.True(t, complete[i], "Close %d should return only once every handle is disconnected", i)
		if errs[i] != nil {
			reporting++
			des := disconnectErrors(errs[i])
			if assert.Len(t, des, 1, "the reporting Close should hold one DisconnectError") {
				assert.Equal(t, "bad", des[0].Info.Name, "the DisconnectError should name the failed handle")
			}
		}
	}
	assert.Equal(t, 1, reporting, "exactly one Close should report the disconnect errors")
}

func testNestedShutdown(t *testing.T) {
	m := connmgr.New()
	var (
		innerErr  error
		innerTook time.Duration
	)
	older := &counted{}
	_, err := m.TrackPlayer("p", "older", older)
	require.NoError(t, err)
	_, err = m.TrackPlayer("p", "closes the manager", connmgr.HandleFunc(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		innerErr = m.Shutdown(ctx)
		innerTook = time.Since(start)
		return nil
	}))
	require.NoError(t, err)

	start := time.Now()
	assert.NoError(t, m.Close(), "the outer Shutdown should complete")
	assert.Equal(t, time.Second, innerTook, "the inner Shutdown should wait until its own deadline")
	assert.NoError(t, innerErr, "the inner Shutdown, a later call, should return nil")
	assert.Equal(t, time.Second, time.Since(start), "the outer Shutdown should go on once the inner one returns")
	assert.EqualValues(t, 1, older.calls.Load(), "the outer Shutdown should disconnect the rest")
}
