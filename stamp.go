package connmgr

import (
	"sync/atomic"
	"time"
)

// A handle's stamp is its place in the order handles were tracked in, which
// cleanup follows backwards: larger is newer. Stamps are at least 1, and
// strictly increasing along every pool's list: within a player pool, and
// among the handles a shard tracks under its lock (the only ones in service
// and tag pools).
//
// Where the monotonic clock is fine-grained, a stamp is the time Track
// read, in nanoseconds since Manager.start, or one more than the newest
// stamp its pools hold if that is later (when two Tracks race for a lock).
// Either way a stamp is no later than the time its Track released its
// lock, so a Track that begins after another has returned reads the clock
// later, and gets a larger stamp, whatever shards the two use. That
// needs no cache line shared by all shards, so Tracks on different
// processors do not slow each other down. Where the clock can return the
// same time twice in a row (it is coarse, as on Windows, or stands still,
// as inside a testing/synctest bubble), two Tracks in a row could read the
// same time, so there the stamps come from one manager-wide counter
// instead.

// fineClock reports whether the monotonic clock advanced between each of n
// readings in a row. New asks it, so that a manager made inside a
// synctest bubble, where time stands still, counts instead.
func fineClock(n int) bool {
	start := time.Now()
	prev := time.Since(start)
	for range n {
		now := time.Since(start)
		if now <= prev {
			return false
		}
		prev = now
	}
	return true
}

// clockProbes is how many readings in a row New takes to tell a fine clock:
// a clock that ticks only every microsecond or more repeats itself well
// within them, and a fine one costs New about a microsecond.
const clockProbes = 64

// stampCounter hands out stamps where the clock is not fine-grained.
type stampCounter struct {
	_    [64]byte // keeps last off the cache lines of the fields around it
	last atomic.Uint64
	_    [56]byte
}

// stampLocked returns the stamp of a handle s is tracking under its lock
// into player pool p (nil for none or a new one; else locked), whose Track
// read the clock at now (an offset from Manager.start).
func (m *Manager) stampLocked(s *shard, p *pool, now int64) uint64 {
	if m.counter != nil {
		return m.counter.last.Add(1)
	}
	stamp := max(uint64(now), s.last+1, p.newestStamp()+1)
	s.last = stamp
	return stamp
}

// newestStamp returns the newest stamp player pool p has held, 0 for a nil
// p. The caller holds p's lock.
func (p *pool) newestStamp() uint64 {
	if p == nil {
		return 0
	}
	return p.newest
}

// stampBound returns a stamp that no handle tracked before the call
// exceeds and every handle tracked after it does: the bound of "tracked
// before the cleanup".
func (m *Manager) stampBound() uint64 {
	if m.counter != nil {
		return m.counter.last.Load()
	}
	return uint64(m.now())
}

// lastStampLocked returns a stamp that no handle of s exceeds. The fast
// path's stamps do not move s.last, but none is later than the clock.
func (m *Manager) lastStampLocked(s *shard) uint64 {
	if m.counter != nil {
		return m.counter.last.Load()
	}
	return max(s.last, uint64(m.now()))
}
