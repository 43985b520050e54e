package connmgr_test

import (
	"context"
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

// watchedContext is a cancellable context that counts the functions
// registered on it. context.AfterFunc, which CleanupOnDone uses, registers
// through a context's AfterFunc method when it has one, and calls the stop
// that method returns when the registration ends; so armed() is the number
// of registrations the context still holds.
type watchedContext struct {
	done chan struct{}

	mu    sync.Mutex // guards the fields below
	funcs map[int]func()
	next  int
}

var _ interface {
	context.Context
	AfterFunc(func()) func() bool
} = (*watchedContext)(nil)

func newWatchedContext() *watchedContext {
	return &watchedContext{done: make(chan struct{}), funcs: make(map[int]func())}
}

func (c *watchedContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *watchedContext) Done() <-chan struct{}       { return c.done }
func (c *watchedContext) Value(any) any               { return nil }

func (c *watchedContext) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

func (c *watchedContext) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.next
	c.next++
	c.funcs[k] = f
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, armed := c.funcs[k]
		delete(c.funcs, k)
		return armed
	}
}

// cancel ends the context and runs what is still registered, each in its
// own goroutine, as the context package does.
func (c *watchedContext) cancel() {
	c.mu.Lock()
	funcs := c.funcs
	c.funcs = make(map[int]func())
	c.mu.Unlock()
	close(c.done)
	for _, f := range funcs {
		go f()
	}
}

func (c *watchedContext) armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.funcs)
}

// TestCloseStopsTheSweeperAndEndsEveryRegistration checks that after Close
// nothing of the manager is left running or registered: the sweeper
// goroutine is gone (goleak) and sweeps no more, and every CleanupOnDone
// registration has been taken off its context.
func TestCloseStopsTheSweeperAndEndsEveryRegistration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := goleak.IgnoreCurrent()
		var sweeps atomic.Int32
		m := connmgr.New(
			connmgr.WithSweepInterval(time.Second),
			connmgr.WithPresence(func(string) bool { sweeps.Add(1); return true }),
		)
		_, err := m.TrackPlayer("p", "h", &counted{})
		require.NoError(t, err)
		ctx := newWatchedContext()
		var stops []func() bool
		for _, p := range []connmgr.Pool{connmgr.Player("p"), connmgr.Player("p"), connmgr.Player("q"), connmgr.Service("s"), connmgr.Tag("t")} {
			stops = append(stops, m.CleanupOnDone(ctx, p))
		}
		require.Equal(t, 5, ctx.armed(), "each CleanupOnDone should register on the context")

		time.Sleep(3 * time.Second)
		synctest.Wait()
		require.EqualValues(t, 3, sweeps.Load(), "the sweeper should sweep every second")
		leaks := goleak.Find(before)
		require.Error(t, leaks, "goleak should see the sweeper goroutine while the manager is open")
		assert.Contains(t, leaks.Error(), "runSweeper", "the goroutine goleak sees should be the sweeper")

		require.NoError(t, m.Close())
		assert.Zero(t, ctx.armed(), "Close should take every CleanupOnDone registration off its context")
		for i, stop := range stops {
			assert.False(t, stop(), "stop of registration %d after Close should report false", i)
		}
		assert.NoError(t, goleak.Find(before), "Close should stop the sweeper goroutine")

		swept := sweeps.Load()
		time.Sleep(10 * time.Second)
		ctx.cancel()
		synctest.Wait()
		assert.Equal(t, swept, sweeps.Load(), "nothing should sweep after Close")
		assert.NoError(t, goleak.Find(before), "nothing should be left running")
	})
}

// TestCloseWaitsForARunningSweep checks that Close does not return while
// the background sweeper is still in the middle of a sweep: it stops the
// sweeper and waits for it.
func TestCloseWaitsForARunningSweep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := goleak.IgnoreCurrent()
		m := connmgr.New(connmgr.WithSweepInterval(time.Second))
		stuck := newBlocker()
		_, err := m.Track(connmgr.Meta{Name: "expires", TTL: time.Second}, stuck)
		require.NoError(t, err)
		time.Sleep(time.Second)
		synctest.Wait()
		require.EqualValues(t, 1, stuck.calls.Load(), "the background sweep should be stuck disconnecting the expired handle")

		closed := make(chan error)
		go func() { closed <- m.Close() }()
		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("Close returned while the sweeper was still sweeping")
		default:
		}
		close(stuck.release)
		assert.NoError(t, <-closed, "Close should return once the sweep has finished")
		assert.NoError(t, goleak.Find(before), "Close should leave no goroutine behind")
	})
}
