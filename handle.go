package connmgr

import (
	"io"
	"time"
)

// Handle is anything that can be disconnected: an event subscription, a
// remote-call handler, a timer, a network connection, a goroutine's cancel
// func. The manager calls Disconnect at most once per tracked handle, never
// while holding a lock, so Disconnect may call back into the [Manager].
type Handle interface {
	Disconnect() error
}

// Liveness is implemented by handles that can be disconnected elsewhere (a
// connection the peer closed, a subscription the event source dropped).
// [Manager.Sweep] drops a tracked handle whose Connected reports false
// without calling its Disconnect, and counts it in [Stats].Stale. Connected
// is called with no lock held.
type Liveness interface {
	Connected() bool
}

// HandleFunc adapts an ordinary function to [Handle]. A nil HandleFunc
// panics when disconnected; use [Func] for funcs that may be nil.
type HandleFunc func() error

// Disconnect calls f.
func (f HandleFunc) Disconnect() error { return f() }

// Func returns a Handle whose Disconnect calls f and returns nil: the form
// of unsubscribe funcs and [context.CancelFunc]. Func(nil) returns nil, which
// [Manager.Track] refuses with [ErrNilHandle].
func Func(f func()) Handle {
	if f == nil {
		return nil
	}
	return funcHandle(f)
}

// funcHandle is pointer-shaped, so turning it into a Handle does not
// allocate.
type funcHandle func()

// Disconnect calls f.
func (f funcHandle) Disconnect() error {
	f()
	return nil
}

// Closer returns a Handle whose Disconnect calls c.Close, for network
// connections, files and anything else that is an [io.Closer]. Closer(nil)
// returns nil.
func Closer(c io.Closer) Handle {
	if c == nil {
		return nil
	}
	return closer{c}
}

type closer struct{ c io.Closer }

// Disconnect closes c.
func (c closer) Disconnect() error { return c.c.Close() }

// Timer returns a Handle whose Disconnect stops t. Timer(nil) returns nil.
func Timer(t *time.Timer) Handle {
	if t == nil {
		return nil
	}
	return timer{t}
}

type timer struct{ t *time.Timer }

// Disconnect stops the timer.
func (t timer) Disconnect() error {
	t.t.Stop()
	return nil
}

// Ticker returns a Handle whose Disconnect stops t. Ticker(nil) returns nil.
func Ticker(t *time.Ticker) Handle {
	if t == nil {
		return nil
	}
	return ticker{t}
}

type ticker struct{ t *time.Ticker }

// Disconnect stops the ticker.
func (t ticker) Disconnect() error {
	t.t.Stop()
	return nil
}
