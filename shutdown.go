package connmgr

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// shutdown is the state of the one Shutdown that does the work.
type shutdown struct {
	once      sync.Once
	remaining atomic.Int64  // handles still to disconnect
	done      chan struct{} // closed when every handle is disconnected
	err       error         // the joined disconnect errors; written before done is closed
}

// Shutdown closes the manager: it refuses new Tracks with [ErrClosed],
// stops the background sweeper, ends every [Manager.CleanupOnDone]
// registration and disconnects every handle, newest first. It returns the
// joined disconnect errors.
//
// If ctx ends first, Shutdown returns an error wrapping ctx.Err() that says
// how many handles remain, and the remaining disconnects still complete in
// the background.
//
// Shutdown is idempotent and safe to call concurrently: only the first call
// does the work; a later call waits for it to finish, or for its own ctx to
// end, and returns nil. Like sync.Once, a Shutdown called from inside a
// Disconnect that Shutdown is running therefore waits until its own ctx
// ends: give it a deadline, or call it in a new goroutine. The same holds
// for a Disconnect that the background sweeper runs, since Shutdown waits
// for the sweeper to stop. Handles that a concurrent Cleanup or Sweep has
// already taken are disconnected by that call, not waited for.
//
// A nil ctx panics.
func (m *Manager) Shutdown(ctx context.Context) error {
	if ctx == nil {
		panic("connmgr: Shutdown with nil Context")
	}
	first := false
	m.down.once.Do(func() {
		first = true
		m.beginShutdown()
	})
	if !first {
		select {
		case <-m.down.done:
		case <-ctx.Done():
		}
		return nil
	}
	select {
	case <-m.down.done:
		return m.down.err
	case <-ctx.Done():
		return fmt.Errorf("connmgr: shutdown: %d handles still disconnecting: %w", m.down.remaining.Load(), ctx.Err())
	}
}

// Close is Shutdown(context.Background()): it returns once every handle is
// disconnected.
func (m *Manager) Close() error {
	return m.Shutdown(context.Background())
}

// beginShutdown closes the manager and starts disconnecting in a goroutine
// of its own, so that a Shutdown whose ctx ends can return while the work
// goes on.
func (m *Manager) beginShutdown() {
	m.closed.Store(true)
	close(m.stopSweep)
	m.regs.releaseAll(true)
	m.down.remaining.Store(int64(m.active()))
	go func() {
		hs := m.holdAll(everything, byDisconnect)
		m.down.remaining.Store(int64(len(hs)))
		_, err := m.disconnectHeld(hs, func() { m.down.remaining.Add(-1) })
		m.sweeper.Wait()
		m.down.err = err
		close(m.down.done)
	}()
}

// active counts the handles tracked now.
func (m *Manager) active() int {
	return m.Stats().Active
}
