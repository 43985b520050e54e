package connmgr

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
)

// chunk bounds the handles detached per lock hold, so that a cleanup of a
// million handles never makes a concurrent Track wait long for the lock.
const chunk = 256

// letWaitersIn lets the goroutines waiting for s's lock take it, between
// two lock holds of a long walk over s, before the walk takes it again.
// Left alone, the walk would win every time: unlocking a sync.Mutex readies
// a parked waiter to run next on this very processor, and a waiter still
// spinning on another processor looks at the lock only now and then, while
// the walk, running, takes the lock again at once; a sync.Mutex hands
// itself over only once a waiter has waited 1 ms. So the walk yields the
// processor until every goroutine that was waiting has had the lock (lock
// counts them in s.waiting), or maxYields times: waiters that keep coming
// cannot stall the walk. With no one waiting it does nothing, since a yield
// costs a trip through the scheduler and can wake an idle processor.
func letWaitersIn(s *shard) {
	for i := 0; i < maxYields && s.waiting.Load() > 0; i++ {
		runtime.Gosched()
	}
}

// maxYields bounds how often a walk yields between two chunks.
const maxYields = 64

// Cleanup disconnects every handle in p, newest first, and returns how many
// it disconnected (failed ones included) with [errors.Join] of one
// *[DisconnectError] per failure. A handle that was also in other pools
// leaves them too. Handles tracked into p while Cleanup runs, for example by
// a Disconnect, are not disconnected and stay tracked. Cleanup also ends the
// [Manager.CleanupOnDone] registrations of p.
//
// Cleanup of the zero Pool, or of a pool with an empty name, returns an error
// wrapping [ErrInvalid].
func (m *Manager) Cleanup(p Pool) (int, error) {
	if !p.valid() {
		return 0, fmt.Errorf("%w: cleanup of %s pool with an empty name", ErrInvalid, p)
	}
	m.regs.releasePool(p)
	return m.disconnectHeld(m.holdPool(p, byDisconnect), nil)
}

// CleanupPlayer is Cleanup(Player(player)): everything a leaving player
// owned.
func (m *Manager) CleanupPlayer(player string) (int, error) {
	return m.Cleanup(Player(player))
}

// CleanupService is Cleanup(Service(service)): everything a stopping
// service owned.
func (m *Manager) CleanupService(service string) (int, error) {
	return m.Cleanup(Service(service))
}

// CleanupTag is Cleanup(Tag(tag)).
func (m *Manager) CleanupTag(tag string) (int, error) {
	return m.Cleanup(Tag(tag))
}

// holdPool takes the handles of p tracked so far out of the manager, as
// holdAll does, and returns them newest first.
func (m *Manager) holdPool(p Pool, why reason) []held {
	bound := m.stampBound()
	if p.kind == playerKind {
		return m.playerHome(p.name).holdPart(p, bound, why, nil)
	}
	var out []held
	for _, s := range m.shards {
		out = s.holdPart(p, bound, why, out)
	}
	sortHeldNewestFirst(out)
	return out
}

// holdPart appends to out the handles of s's part of p tracked at or before
// bound, newest first, taking the lock once per chunk.
func (s *shard) holdPart(p Pool, bound uint64, why reason, out []held) []held {
	// Make room for the whole part first, in one allocation: growing out
	// copies everything held so far, which should not happen while the lock
	// is held, and growing it in steps would copy it several times over.
	// The part only loses members that the walk takes (those tracked later
	// are skipped), so the room lasts, but for a Track that read the clock
	// before bound and took the lock after partLen, which append absorbs.
	out = growHeld(out, s.partLen(p))
	for more := true; more; {
		s.lock()
		out, more = s.holdPartLocked(p, bound, why, out)
		s.mu.Unlock()
		if more {
			letWaitersIn(s)
		}
	}
	return out
}

// growHeld returns hs with room for n more, reallocating at most once.
// (slices.Grow would do, but builds with -race allocate its temporary too.)
func growHeld(hs []held, n int) []held {
	if len(hs)+n <= cap(hs) {
		return hs
	}
	grown := make([]held, len(hs), len(hs)+n)
	copy(grown, hs)
	return grown
}

// partLen reports the handles in s's part of p.
func (s *shard) partLen(p Pool) int {
	s.lock()
	defer s.mu.Unlock()
	part := s.partLocked(p, false)
	if part == nil {
		return 0
	}
	if p.kind == playerKind {
		defer part.lock().unlock()
	}
	return int(part.n)
}

// holdPartLocked holds up to chunk handles of s's part of key, newest
// first, skipping those tracked after bound (they are at the newest end). It
// reports whether any are left.
func (s *shard) holdPartLocked(key Pool, bound uint64, why reason, out []held) ([]held, bool) {
	p := s.partLocked(key, false)
	if p == nil {
		return out, false
	}
	if key.kind == playerKind {
		defer p.lock().unlock()
		cur := p.last
		for cur != 0 && s.slots.At(cur-1).seq.Load() > bound {
			cur = s.slots.At(cur - 1).prev
		}
		for n := 0; cur != 0; n++ {
			if n == chunk {
				return out, true
			}
			slot := cur - 1
			e, gen, _ := s.slots.Live(slot)
			cur = e.prev
			out = append(out, s.holdLocked(slot, gen, e, why))
		}
		return out, false
	}
	l := p.tail
	for l != nil && s.slots.At(l.slot).seq.Load() > bound {
		l = l.prev
	}
	for n := 0; l != nil; n++ {
		if n == chunk {
			return out, true
		}
		// Holding l's entry unlinks only that entry's links, so prev,
		// another entry's link, stays valid.
		prev := l.prev
		e, gen, _ := s.slots.Live(l.slot)
		// e has a service or tags, so the fast path leaves it alone; but
		// it may be in a player pool, whose list only its lock guards.
		pp := e.player.Load().lock()
		out = append(out, s.holdLocked(l.slot, gen, e, why))
		pp.unlock()
		l = prev
	}
	return out, false
}

// sortHeldNewestFirst orders held handles by descending stamp.
func sortHeldNewestFirst(hs []held) {
	slices.SortFunc(hs, func(a, b held) int { return cmp.Compare(b.seq, a.seq) })
}

// everything is a bound that includes every handle.
const everything = math.MaxUint64
