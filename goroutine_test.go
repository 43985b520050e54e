package connmgr_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/connmgr/connmgr"
)

func TestGoRefusalsNeverRunFn(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     []connmgr.Option
		setup    func(m *connmgr.Manager)
		meta     connmgr.Meta
		nilFn    bool
		want     error
		rejected uint64
	}{
		{name: "a closed manager refuses with ErrClosed", setup: func(m *connmgr.Manager) { m.Close() },
			meta: connmgr.Meta{Player: "p"}, want: connmgr.ErrClosed, rejected: 1},
		{name: "invalid meta is refused with ErrInvalid",
			meta: connmgr.Meta{Player: "p", TTL: -time.Second}, want: connmgr.ErrInvalid, rejected: 1},
		{name: "a nil fn is refused with ErrNilHandle",
			meta: connmgr.Meta{Player: "p"}, nilFn: true, want: connmgr.ErrNilHandle},
		{name: "a player at the limit is refused with ErrLimit", opts: []connmgr.Option{connmgr.WithMaxPerPlayer(1)},
			setup: func(m *connmgr.Manager) { m.TrackPlayer("p", "first", nop{}) },
			meta:  connmgr.Meta{Player: "p"}, want: connmgr.ErrLimit, rejected: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := connmgr.New(tc.opts...)
				defer m.Close()
				if tc.setup != nil {
					tc.setup(m)
				}
				var ran atomic.Bool
				fn := func(context.Context) { ran.Store(true) }
				if tc.nilFn {
					fn = nil
				}
				id, err := m.Go(tc.meta, fn)
				require.ErrorIs(t, err, tc.want)
				assert.Zero(t, id, "a refused Go returns ID 0")
				synctest.Wait() // any goroutine Go had started would have run by now
				assert.False(t, ran.Load(), "fn must never run when Go refuses")
				st := m.Stats()
				assert.Equal(t, tc.rejected, st.Rejected)
				assert.True(t, invariantHolds(st), "invariant: %+v", st)
			})
		})
	}
}

func TestGoDisconnectByAnyPathCancelsAndWaitsForFn(t *testing.T) {
	meta := connmgr.Meta{Name: "loop", Player: "p", Service: "s", Tags: []string{"t"}, Key: "k"}
	for _, tc := range []struct {
		name string
		opts []connmgr.Option
		meta connmgr.Meta
		run  func(t *testing.T, m *connmgr.Manager, id connmgr.ID)
	}{
		{name: "Disconnect(id)", run: func(t *testing.T, m *connmgr.Manager, id connmgr.ID) { require.NoError(t, m.Disconnect(id)) }},
		{name: "DisconnectKey", run: func(t *testing.T, m *connmgr.Manager, _ connmgr.ID) { require.NoError(t, m.DisconnectKey("k")) }},
		{name: "CleanupPlayer", run: func(t *testing.T, m *connmgr.Manager, _ connmgr.ID) { cleaned(t, 1)(m.CleanupPlayer("p")) }},
		{name: "CleanupService", run: func(t *testing.T, m *connmgr.Manager, _ connmgr.ID) { cleaned(t, 1)(m.CleanupService("s")) }},
		{name: "CleanupTag", run: func(t *testing.T, m *connmgr.Manager, _ connmgr.ID) { cleaned(t, 1)(m.CleanupTag("t")) }},
		{name: "CleanupAll", run: func(t *testing.T, m *connmgr.Manager, _ connmgr.ID) { cleaned(t, 1)(m.CleanupAll()) }},
		{name: "Sweep of an expired handle", meta: withTTL(meta, time.Minute), run: func(t *testing.T, m *connmgr.Manager, _ connmgr.ID) {
			time.Sleep(time.Minute)
			cleaned(t, 1)(m.Sweep())
		}},
		{name: "Sweep of an offline player's handle", opts: []connmgr.Option{connmgr.WithPresence(func(string) bool { return false })},
			run: func(t *testing.T, m *connmgr.Manager, _ connmgr.ID) { cleaned(t, 1)(m.Sweep()) }},
		{name: "Shutdown", run: func(t *testing.T, m *connmgr.Manager, _ connmgr.ID) {
			require.NoError(t, m.Shutdown(context.Background()))
		}},
		{name: "a Track that replaces its key", run: func(t *testing.T, m *connmgr.Manager, _ connmgr.ID) {
			_, err := m.Track(connmgr.Meta{Name: "next", Key: "k"}, nop{})
			require.NoError(t, err)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := connmgr.New(tc.opts...)
				defer m.Close()
				var cancelled, returned atomic.Bool
				if tc.meta.Name == "" {
					tc.meta = meta
				}
				id, err := m.Go(tc.meta, func(ctx context.Context) {
					<-ctx.Done()
					cancelled.Store(true)
					time.Sleep(time.Second) // slow to wind down: the disconnect must wait
					returned.Store(true)
				})
				require.NoError(t, err)
				synctest.Wait()
				require.False(t, cancelled.Load(), "ctx must stay live until the handle is disconnected")

				tc.run(t, m, id)
				assert.True(t, returned.Load(), "the disconnect must return only after fn has returned")
				_, ok := m.Lookup(id)
				assert.False(t, ok, "the handle has left the manager")
				st := m.Stats()
				assert.Equal(t, uint64(1), st.Disconnected)
				assert.Zero(t, st.Exited, "a goroutine stopped by a disconnect did not exit on its own")
				assert.True(t, invariantHolds(st), "invariant: %+v", st)
			})
		})
	}
}

func withTTL(meta connmgr.Meta, ttl time.Duration) connmgr.Meta {
	meta.TTL = ttl
	return meta
}

// cleaned returns a checker for the (count, error) of a cleanup.
func cleaned(t *testing.T, want int) func(int, error) {
	return func(n int, err error) {
		t.Helper()
		require.NoError(t, err)
		assert.Equal(t, want, n)
	}
}

func TestGoFnReturningOnItsOwnLeavesAsExited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := connmgr.New()
		defer m.Close()
		stop := make(chan struct{})
		id, err := m.Go(connmgr.Meta{Name: "once", Player: "p", Key: "k"}, func(context.Context) { <-stop })
		require.NoError(t, err)
		assert.Equal(t, 1, m.Len(connmgr.Player("p")))

		close(stop)
		synctest.Wait()
		_, ok := m.Lookup(id)
		assert.False(t, ok, "a goroutine that returned leaves the manager")
		assert.Equal(t, 0, m.Len(connmgr.Player("p")))
		_, ok = m.LookupKey("k")
		assert.False(t, ok, "and frees its key")
		st := m.Stats()
		assert.Equal(t, uint64(1), st.Exited)
		assert.Zero(t, st.Disconnected)
		assert.True(t, invariantHolds(st), "invariant: %+v", st)
		require.NoError(t, m.Validate())
	})
}

func TestGoRecoversAPanicAndReportsIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var reported []error
		var mu sync.Mutex
		m := connmgr.New(connmgr.WithErrorHandler(func(err error) {
			mu.Lock()
			reported = append(reported, err)
			mu.Unlock()
		}))
		defer m.Close()
		id, err := m.Go(connmgr.Meta{Name: "buggy", Player: "p"}, func(context.Context) { panic("boom") })
		require.NoError(t, err)
		synctest.Wait()

		require.Len(t, reported, 1, "the panic goes to the error handler once")
		var de *connmgr.DisconnectError
		require.ErrorAs(t, reported[0], &de)
		assert.Equal(t, id, de.Info.ID)
		assert.Equal(t, "buggy", de.Info.Name)
		var pe *connmgr.PanicError
		require.ErrorAs(t, reported[0], &pe)
		assert.Equal(t, "boom", pe.Value)
		assert.Contains(t, string(pe.Stack), "TestGoRecoversAPanicAndReportsIt", "the stack is the panicking goroutine's")

		_, ok := m.Lookup(id)
		assert.False(t, ok)
		st := m.Stats()
		assert.Equal(t, uint64(1), st.Exited, "a panicking goroutine leaves as Exited")
		assert.Equal(t, uint64(1), st.Failed)
		assert.Equal(t, uint64(1), st.Panics)
		assert.True(t, invariantHolds(st), "invariant: %+v", st)

		// The server keeps running: the manager still works.
		_, err = m.Go(connmgr.Meta{Name: "fine", Player: "p"}, func(ctx context.Context) { <-ctx.Done() })
		require.NoError(t, err)
	})
}

func TestGoFnThatCallsGoexitStillSettles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := connmgr.New()
		defer m.Close()
		id, err := m.Go(connmgr.Meta{Player: "p"}, func(context.Context) { runtime.Goexit() })
		require.NoError(t, err)
		synctest.Wait()
		_, ok := m.Lookup(id)
		assert.False(t, ok, "a goroutine that called runtime.Goexit has left the manager")
		assert.Equal(t, uint64(1), m.Stats().Exited)
	})
}

func TestGoUntrackHandsBackAHandleThatCancelsAndWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := connmgr.New()
		defer m.Close()
		var returned atomic.Bool
		id, err := m.Go(connmgr.Meta{Player: "p"}, func(ctx context.Context) {
			<-ctx.Done()
			time.Sleep(time.Second)
			returned.Store(true)
		})
		require.NoError(t, err)
		h, ok := m.Untrack(id)
		require.True(t, ok)

		time.Sleep(time.Hour)
		assert.False(t, returned.Load(), "fn keeps running after Untrack")
		require.NoError(t, h.Disconnect())
		assert.True(t, returned.Load(), "the handed-back Disconnect waits for fn")
		st := m.Stats()
		assert.Equal(t, uint64(1), st.Untracked)
		assert.Zero(t, st.Exited, "an untracked goroutine's exit is not counted")
		assert.True(t, invariantHolds(st), "invariant: %+v", st)
	})
}

func TestGoUntrackedFnThatReturnsIsNotCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := connmgr.New()
		defer m.Close()
		stop := make(chan struct{})
		id, err := m.Go(connmgr.Meta{Player: "p"}, func(context.Context) {
			<-stop
			panic("late")
		})
		require.NoError(t, err)
		h, _ := m.Untrack(id)
		close(stop)
		synctest.Wait()
		st := m.Stats()
		assert.Zero(t, st.Exited, "the exit of an untracked goroutine is no longer the manager's")
		assert.Zero(t, st.Panics, "nor is its panic")
		var pe *connmgr.PanicError
		assert.ErrorAs(t, h.Disconnect(), &pe, "whoever owns the handle gets the panic from Disconnect")
		assert.True(t, invariantHolds(st), "invariant: %+v", st)
	})
}

func TestCleanupOfAThousandGoHandlesWaitsForAll(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent()) // the goroutine count returns to its baseline
	m := connmgr.New()
	defer m.Close()
	var started sync.WaitGroup
	var running, returned atomic.Int64
	for i := range 1000 {
		started.Add(1)
		_, err := m.Go(connmgr.Meta{Name: fmt.Sprint("g", i), Player: "p"}, func(ctx context.Context) {
			running.Add(1)
			started.Done()
			<-ctx.Done()
			runtime.Gosched()
			returned.Add(1)
		})
		require.NoError(t, err)
	}
	started.Wait()
	require.Equal(t, int64(1000), running.Load())

	n, err := m.CleanupPlayer("p")
	require.NoError(t, err)
	assert.Equal(t, 1000, n)
	assert.Equal(t, int64(1000), returned.Load(), "Cleanup returns after every fn has returned")
	assert.Equal(t, 0, m.Len(connmgr.Player("p")))
}

func TestGoCanKickItsOwnPlayerFromANewGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := connmgr.New()
		defer m.Close()
		_, err := m.TrackPlayer("cheater", "chat", nop{})
		require.NoError(t, err)
		var returned atomic.Bool
		_, err = m.Go(connmgr.Meta{Name: "loop", Player: "cheater"}, func(ctx context.Context) {
			// Kicking the player from inside fn: the cleanup must run in a
			// new goroutine, since it waits for this fn to return.
			go m.CleanupPlayer("cheater")
			<-ctx.Done()
			returned.Store(true)
		})
		require.NoError(t, err)
		synctest.Wait()
		assert.True(t, returned.Load(), "the cleanup cancelled fn")
		assert.Equal(t, 0, m.Len(connmgr.Player("cheater")), "and removed everything the player owned")
		assert.Equal(t, uint64(2), m.Stats().Disconnected)
	})
}

func TestShutdownDeadlineBoundsAFnThatIgnoresCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := connmgr.New()
		release := make(chan struct{})
		_, err := m.Go(connmgr.Meta{Name: "stubborn", Player: "p"}, func(context.Context) { <-release })
		require.NoError(t, err)

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		err = m.Shutdown(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded, "Shutdown returns at its deadline")
		assert.Contains(t, err.Error(), "1 handles still disconnecting")
		assert.Equal(t, time.Second, time.Since(start))

		close(release)
		require.NoError(t, m.Close(), "the disconnect completes in the background once fn returns")
		assert.Equal(t, 0, m.Stats().Active)
	})
}

func TestGoErrNilHandleSaysWhatIsNil(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	_, err := m.Go(connmgr.Meta{}, nil)
	assert.True(t, errors.Is(err, connmgr.ErrNilHandle))
	assert.Contains(t, err.Error(), "nil func")
}

func TestGoStartsFnBeforeDisconnectingTheKeyHolderItReplaces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := connmgr.New()
		defer m.Close()
		var cleaned int
		// The old holder's Disconnect cleans the player, which by then
		// holds the new Go handle: that cleanup waits for the new fn, so fn
		// must already be running (else this deadlocks, and synctest says
		// so).
		_, err := m.Track(connmgr.Meta{Name: "old", Player: "p", Key: "p/loop"}, connmgr.Func(func() {
			cleaned, _ = m.CleanupPlayer("p")
		}))
		require.NoError(t, err)
		var ran atomic.Bool
		_, err = m.Go(connmgr.Meta{Name: "new", Player: "p", Key: "p/loop"}, func(ctx context.Context) {
			ran.Store(true)
			<-ctx.Done()
		})
		require.NoError(t, err)
		assert.True(t, ran.Load(), "fn runs even though its handle was disconnected at once")
		assert.Equal(t, 1, cleaned, "the old holder's cleanup disconnected the new handle")
		_, ok := m.LookupKey("p/loop")
		assert.False(t, ok)
	})
}
