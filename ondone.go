package connmgr

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/connmgr/connmgr/internal/shrinkmap"
)

// CleanupOnDone arranges for Cleanup(p) to run when ctx is done, with its
// errors going to the error handler: tie a player's pool to the context of
// their connection and the pool goes when the connection does.
//
// The registration lasts until ctx is done or p is cleaned up, by Cleanup(p)
// or its CleanupPlayer, CleanupService and CleanupTag forms, CleanupAll,
// Shutdown or a presence sweep, whichever comes first; removing p's handles
// one by one does not end it. Once p is cleaned up the registration is gone:
// a later end of ctx does nothing, so a player who rejoins with a new
// connection keeps the handles of the new one when the old context ends.
//
// stop ends the registration early and reports true when it prevented the
// cleanup, as the stop of [context.AfterFunc] does; it reports false when the
// cleanup already ran or the registration already ended. The registration
// is not a handle: Len, Stats and cleanup counts do not include it. On a
// closed manager, or for the zero Pool, CleanupOnDone does nothing and stop
// reports false. A nil ctx panics.
func (m *Manager) CleanupOnDone(ctx context.Context, p Pool) (stop func() bool) {
	if ctx == nil {
		panic("connmgr: CleanupOnDone with nil Context")
	}
	if !p.valid() || m.closed.Load() {
		return func() bool { return false }
	}
	r := &registration{pool: p}
	if !m.regs.add(r, ctx, func() {
		if m.regs.remove(r) {
			_, err := m.Cleanup(p)
			m.report(err)
		}
	}) {
		return func() bool { return false }
	}
	return func() bool {
		if !m.regs.remove(r) {
			return false
		}
		r.stop()
		return true
	}
}

// registration is one CleanupOnDone call: a context.AfterFunc that cleans
// pool, chained with the other registrations of pool.
type registration struct {
	pool       Pool
	stop       func() bool // the AfterFunc's stop
	active     bool        // false once the registration has ended
	prev, next *registration
}

// registrations are all live CleanupOnDone registrations, by pool.
type registrations struct {
	n atomic.Int64 // live registrations: lets Cleanup skip the lock when 0

	mu     sync.Mutex // guards the fields below
	closed bool       // set by Shutdown: no more registrations
	byPool shrinkmap.Map[Pool, *registration]
}

// add registers r and arms its AfterFunc, unless the manager is closed.
func (rs *registrations) add(r *registration, ctx context.Context, f func()) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.closed {
		return false
	}
	// f takes rs.mu, so even when ctx is already done it cannot run before
	// r is fully registered.
	r.stop = context.AfterFunc(ctx, f)
	r.active = true
	if head, ok := rs.byPool.Get(r.pool); ok {
		r.next, head.prev = head, r
	}
	rs.byPool.Set(r.pool, r)
	rs.n.Add(1)
	return true
}

// remove ends r and reports whether it was still active.
func (rs *registrations) remove(r *registration) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if !r.active {
		return false
	}
	r.active = false
	switch {
	case r.prev != nil:
		r.prev.next = r.next
	case r.next != nil:
		rs.byPool.Set(r.pool, r.next)
	default:
		rs.byPool.Delete(r.pool)
	}
	if r.next != nil {
		r.next.prev = r.prev
	}
	r.prev, r.next = nil, nil
	rs.n.Add(-1)
	return true
}

// releasePool ends every registration of p.
func (rs *registrations) releasePool(p Pool) {
	if rs.n.Load() == 0 {
		return
	}
	rs.mu.Lock()
	head, ok := rs.byPool.Get(p)
	if ok {
		rs.byPool.Delete(p)
	}
	stops := rs.endLocked(head, nil)
	rs.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
}

// releaseAll ends every registration; with close, it also refuses new ones.
func (rs *registrations) releaseAll(close bool) {
	rs.mu.Lock()
	if close {
		rs.closed = true
	}
	var stops []func() bool
	for _, head := range rs.byPool.All() {
		stops = rs.endLocked(head, stops)
	}
	rs.byPool.Clear()
	rs.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
}

// endLocked marks the chain starting at r ended and appends the stops of
// its AfterFuncs, to be called once the lock is released.
func (rs *registrations) endLocked(r *registration, stops []func() bool) []func() bool {
	for r != nil {
		next := r.next
		r.active, r.prev, r.next = false, nil, nil
		stops = append(stops, r.stop)
		rs.n.Add(-1)
		r = next
	}
	return stops
}
