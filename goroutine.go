package connmgr

import (
	"context"
	"fmt"
	"runtime/debug"
)

// Go runs fn in a new goroutine tracked as a handle in meta's pools, and
// returns the handle's ID. fn's ctx is cancelled when the handle is
// disconnected by any path (Disconnect of its ID, [Manager.DisconnectKey],
// a replacing keyed Track, Cleanup*, Sweep, Shutdown), and that Disconnect
// returns only after fn has returned. If fn returns on its own, the handle
// leaves the manager and counts in [Stats].Exited.
//
// A panic in fn is recovered: the handle leaves the manager as Exited and
// the panic goes to the error handler as a *[DisconnectError] wrapping a
// *[PanicError], counted in Failed and Panics; the server keeps running.
// If a cleanup is already disconnecting the handle when fn panics, that
// cleanup reports the panic instead, as it would a panicking Disconnect.
//
// Go refuses, without ever running fn, when fn is nil ([ErrNilHandle]), when
// meta is invalid ([ErrInvalid]), when the player is at the
// [WithMaxPerPlayer] limit ([ErrLimit]) and once Shutdown has begun
// ([ErrClosed]); the ID is then 0. When Go returns no error, fn runs, even
// if the handle is disconnected at once (ctx is then already done).
//
// Like a sync.WaitGroup, a goroutine cannot wait for itself: fn must not
// disconnect its own handle, directly or by cleaning a pool or key that
// holds it, for that Disconnect would wait for fn to return. fn ends itself
// by returning; to kick its own player it runs the cleanup in a new
// goroutine:
//
//	m.Go(connmgr.Meta{Name: "loop", Player: p}, func(ctx context.Context) {
//		...
//		if cheating {
//			go m.CleanupPlayer(p) // cancels ctx, then waits for this fn to return
//			return
//		}
//	})
//
// A fn that ignores ctx blocks whatever disconnects it (Disconnect,
// Cleanup, Sweep, Shutdown) until it returns. Give Shutdown a deadline: it
// then returns when its ctx ends, and the rest completes in the background.
//
// [Manager.Untrack] of a Go handle hands back a Handle whose Disconnect
// cancels ctx and waits for fn; fn keeps running until then, its exit is
// no longer counted, and that Disconnect returns the *PanicError if fn
// panicked.
func (m *Manager) Go(meta Meta, fn func(ctx context.Context)) (ID, error) {
	if fn == nil {
		return 0, fmt.Errorf("%w: Go of a nil func", ErrNilHandle)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &goroutine{cancel: cancel, done: make(chan struct{})}
	id, old, err := m.track(&meta, g)
	if err != nil {
		// fn never ran, so there is nothing to wait for: releasing the
		// context is the whole of disconnecting this refused handle.
		cancel()
		m.rejected.Add(1)
		return 0, err
	}
	// Start fn before disconnecting a replaced key holder: that Disconnect
	// is user code, and might clean a pool that holds this new handle, which
	// would then wait for fn.
	go m.run(ctx, g, id, fn)
	if old != nil {
		m.replaced(old)
	}
	return id, nil
}

// goroutine is the Handle of a goroutine started by Go.
type goroutine struct {
	cancel context.CancelFunc
	done   chan struct{} // closed once fn has returned and its handle is settled
	err    error         // a *PanicError if fn panicked; written before done is closed
}

// Disconnect cancels the goroutine's context and waits for fn to return. It
// returns the *PanicError if fn panicked.
func (g *goroutine) Disconnect() error {
	g.cancel()
	<-g.done
	return g.err
}

// run is the body of a goroutine started by Go.
func (m *Manager) run(ctx context.Context, g *goroutine, id ID, fn func(context.Context)) {
	// settle runs even when fn calls runtime.Goexit.
	defer m.settle(g, id)
	g.err = callGo(ctx, fn)
}

// settle removes the handle of a goroutine whose fn has returned, if it is
// still tracked (Exited), then releases whoever waits in Disconnect. When
// the exit removed the handle, nobody else will disconnect it, so a panic
// goes to the error handler here; otherwise whoever holds the handle gets
// the panic from Disconnect.
func (m *Manager) settle(g *goroutine, id ID) {
	d, exited := m.exit(id)
	g.cancel() // release the context's resources
	err := g.err
	close(g.done)
	if exited && err != nil {
		m.failed.Add(1)
		m.panics.Add(1)
		m.report(&DisconnectError{Info: m.detachedInfo(&d), Err: err})
	}
}

// exit removes the handle id if it is still tracked.
func (m *Manager) exit(id ID) (detached, bool) {
	s, slot, gen := m.locate(id)
	s.lock()
	defer s.mu.Unlock()
	e, p := s.getLocked(slot, gen)
	if e == nil {
		return detached{}, false
	}
	defer p.unlock()
	return s.removeLocked(slot, gen, e, byExit), true
}

// callGo runs fn, turning a panic into a *PanicError.
func callGo(ctx context.Context, fn func(context.Context)) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	fn(ctx)
	return nil
}
