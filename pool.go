package connmgr

import (
	"sync"
	"sync/atomic"

	"github.com/connmgr/connmgr/internal/shrinkmap"
)

// Pool names a group of handles that are cleaned up together: a player's,
// a service's or a tag's. Build one with [Player], [Service] or [Tag]; the
// zero Pool names no pool. Pools are comparable and can be map keys.
type Pool struct {
	kind kind
	name string
}

type kind uint8

const (
	invalidKind kind = iota
	playerKind
	serviceKind
	tagKind
)

// Player returns the pool of the handles tracked with Meta.Player == id.
func Player(id string) Pool { return Pool{playerKind, id} }

// Service returns the pool of the handles tracked with Meta.Service == name.
func Service(name string) Pool { return Pool{serviceKind, name} }

// Tag returns the pool of the handles tracked with name in Meta.Tags.
func Tag(name string) Pool { return Pool{tagKind, name} }

// String returns "player:p42", "service:Pets" or "tag:round-3", and
// "invalid" for the zero Pool.
func (p Pool) String() string {
	if p.kind == invalidKind {
		return "invalid"
	}
	return p.kindName() + ":" + p.name
}

// kindName names a pool kind: "player", "service", "tag" or "invalid".
func (p Pool) kindName() string {
	switch p.kind {
	case playerKind:
		return "player"
	case serviceKind:
		return "service"
	case tagKind:
		return "tag"
	}
	return "invalid"
}

// valid reports whether p names a pool a handle can be in.
func (p Pool) valid() bool { return p.kind != invalidKind && p.name != "" }

// pool is one shard's part of a Pool: the handles of that pool that live in
// the shard, in track order. A player's handles all live in one shard, so a
// player pool is whole; a service or tag pool has a part in every shard that
// holds one of its handles, and the parts share a poolTotal.
//
// Player pools chain their entries through entry.prev/next (slot numbers, to
// keep entries small); service and tag pools chain the links in the entries'
// extra part. Either way first is the oldest and last the newest, so cleanup
// walks from last.
//
// A player pool also keeps the slot of its most recently removed handle
// parked (see slots.Table.Park) for its next Track: a player's Tracks and
// Disconnects then keep reusing a slot that only that player writes,
// instead of taking the shard's most recently freed slot, which whatever
// processor served some other player wrote last.
//
// A player pool has a lock of its own, mu, so that a player's Track and
// Disconnect on its parked slot need not take the shard's (see
// fastpath.go). Whoever changes a player pool holds its mu: the fast path
// alone, anyone else after the shard's lock. A player pool whose n is 0
// has been dropped from its shard's index (or is about to receive its
// first handle, under both locks), and the fast path leaves it alone.
//
// The struct is padded to 128 bytes, a size class whose objects start on
// a 128-byte boundary, so that two pools share no cache line, nor the pair
// of lines some processors fetch together: different processors serving
// different players then never write the same line.
type pool struct {
	key Pool

	mu          sync.Mutex // player pools: guards the fields below, with the entries in the pool and the parked slot
	n           int32      // handles in this part
	spare       uint32     // player pools: slot+1 of the parked slot, 0 = none
	first, last uint32     // player pools: slot+1 of the oldest/newest entry, 0 = none
	lastNext    uint32     // player pools: what the newest entry's next holds (see nextOf)
	newest      uint64     // player pools: the stamp of the newest handle it has held
	head, tail  *link      // service and tag pools: oldest/newest link
	total       *poolTotal // service and tag pools: the count over all shards
	_           [poolPad]byte
}

// poolPad rounds a pool up to 128 bytes (TestShardLayout). What a player's
// Track and Disconnect use lies in the first 64.
const poolPad = 40

// lock locks p's mu if p is a pool, and returns p. With a nil p it does
// nothing: a handle in no player pool has no pool lock to take.
func (p *pool) lock() *pool {
	if p != nil {
		p.mu.Lock()
	}
	return p
}

// unlock undoes lock.
func (p *pool) unlock() {
	if p != nil {
		p.mu.Unlock()
	}
}

// link is one service or tag membership of an entry.
type link struct {
	key        Pool
	pool       *pool // the shard's part of key while the handle is tracked
	slot       uint32
	prev, next *link
}

// A player pool's list links its entries both ways, with one exception:
// the newest entry's next means nothing (nextOf); the pool keeps what it
// holds in lastNext. Removing the newest entry so leaves its older
// neighbour's next as it was, and a player who keeps tracking and removing
// one handle on the same parked slot finds that next already pointing
// there: with the pool's newest stamp kept in the pool too, the pair of
// calls neither writes nor reads any entry but the handle's own. (The
// neighbour lies among other players' entries, which other processors
// write; every line less that a call touches there is a cache miss less.)

// nextOf returns the slot+1 of the entry after e, the entry in slot, in
// player pool p; 0 when e is the newest.
func (p *pool) nextOf(slot uint32, e *entry) uint32 {
	if p.last == slot+1 {
		return 0
	}
	return e.next
}

// pushSlot appends the entry in slot, stamped already, to a player pool.
func (p *pool) pushSlot(s *shard, slot uint32, e *entry) {
	e.prev, e.next = p.last, 0
	if p.last == 0 {
		p.first = slot + 1
	} else if p.lastNext != slot+1 {
		s.slots.At(p.last - 1).next = slot + 1
	}
	p.last, p.lastNext = slot+1, 0
	p.newest = e.seq.Load()
	p.n++
}

// unlinkSlot removes entry e, the entry in slot, from a player pool.
func (p *pool) unlinkSlot(s *shard, slot uint32, e *entry) {
	switch {
	case p.last != slot+1:
		// In the middle, or the oldest of several: both links are real.
		if e.prev != 0 {
			s.slots.At(e.prev - 1).next = e.next
		} else {
			p.first = e.next
		}
		s.slots.At(e.next - 1).prev = e.prev
	case e.prev != 0:
		// The newest: its older neighbour becomes the newest, its next
		// still pointing at e.
		p.last, p.lastNext = e.prev, slot+1
	default:
		p.first, p.last = 0, 0
	}
	p.n--
}

// pushLink appends l to a service or tag pool.
func (p *pool) pushLink(l *link) {
	l.pool, l.prev, l.next = p, p.tail, nil
	if p.tail != nil {
		p.tail.next = l
	} else {
		p.head = l
	}
	p.tail = l
	p.n++
	p.total.n.Add(1)
}

// unlinkLink removes l from its service or tag pool.
func (p *pool) unlinkLink(l *link) {
	if l.prev != nil {
		l.prev.next = l.next
	} else {
		p.head = l.next
	}
	if l.next != nil {
		l.next.prev = l.prev
	} else {
		p.tail = l.prev
	}
	l.prev, l.next = nil, nil
	p.n--
	p.total.n.Add(-1)
}

// poolTotal is what all shards' parts of one service or tag pool share.
type poolTotal struct {
	n     atomic.Int64 // handles in the pool, over all shards
	parts int          // shards holding a part; guarded by registry.mu
}

// registry knows every non-empty service and tag pool across shards, so
// that Len and Stats answer in O(1). Shards touch it only when a part of a
// pool appears or disappears, not on every Track. Lock order: a shard's
// mutex, then registry.mu.
type registry struct {
	mu     sync.Mutex // guards the fields below
	totals shrinkmap.Map[Pool, *poolTotal]
	pools  [tagKind + 1]int // non-empty pools per kind
}

// acquire returns the total of key, creating it, and counts one more part.
func (r *registry) acquire(key Pool) *poolTotal {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.totals.Get(key)
	if !ok {
		t = new(poolTotal)
		r.totals.Set(key, t)
		r.pools[key.kind]++
	}
	t.parts++
	return t
}

// release counts one part fewer of key, forgetting it after the last.
func (r *registry) release(key Pool, t *poolTotal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t.parts--
	if t.parts == 0 {
		r.totals.Delete(key)
		r.pools[key.kind]--
	}
}

// len reports the handles in a service or tag pool.
func (r *registry) len(key Pool) int {
	r.mu.Lock()
	t, ok := r.totals.Get(key)
	r.mu.Unlock()
	if !ok {
		return 0
	}
	return int(t.n.Load())
}
