package connmgr

import (
	"log/slog"
	"time"
)

// Option configures a [Manager] in [New].
type Option interface {
	apply(*config)
}

// config holds every setting; defaults are set in one place, newConfig.
type config struct {
	sweepInterval time.Duration
	presence      func(player string) bool
	errorHandler  func(error)
	maxPerPlayer  int
	callers       bool // record where each handle was tracked; see callers.go
}

func newConfig(opts []Option) config {
	c := config{
		errorHandler: func(err error) {
			slog.Warn("connmgr: background cleanup failed", "err", err)
		},
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithSweepInterval makes the manager run [Manager.Sweep] every d in one
// background goroutine, handing its errors to the error handler. d <= 0
// means no background sweep, the default. Shutdown and Close stop the
// goroutine and wait for it.
func WithSweepInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.sweepInterval = d })
}

// WithPresence makes [Manager.Sweep] disconnect every handle in the pools of
// players for whom online reports false (counted in [Stats].Orphaned). Sweep
// calls online once per player pool, with no lock held; a panic in online
// counts as online and is reported to the error handler. nil, the default,
// turns the check off.
func WithPresence(online func(player string) bool) Option {
	return optionFunc(func(c *config) { c.presence = online })
}

// WithErrorHandler sets the function that receives the errors of cleanups
// nobody waits for: the background sweep, [Manager.CleanupOnDone], a
// presence check that panicked. It is called with no lock held, and a panic
// in it is recovered and logged. The default logs with log/slog at Warn;
// nil restores the default.
func WithErrorHandler(h func(error)) Option {
	return optionFunc(func(c *config) {
		if h != nil {
			c.errorHandler = h
		}
	})
}

// WithMaxPerPlayer caps the live handles in one player pool at n: a Track
// that would exceed it is refused with an error wrapping [ErrLimit], and
// the handle is disconnected at once (counted in [Stats].Rejected). It guards
// against a client that opens subscriptions in a loop. Other players are
// unaffected. n <= 0 means no limit, the default.
func WithMaxPerPlayer(n int) Option {
	return optionFunc(func(c *config) { c.maxPerPlayer = max(n, 0) })
}
