package connmgr

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/connmgr/connmgr/internal/shrinkmap"
	"github.com/connmgr/connmgr/internal/slots"
)

// entry is one tracked handle. Entries live in a shard's slot table, so
// tracking a plain player handle allocates nothing; what most handles lack
// lives in the extra part, keeping the common entry at 64 bytes, one cache
// line.
//
// Lookup reads entries without the shard's lock (see slots.Table.Peek), so
// every field it reads is written atomically: set fills them before the
// slot is published, and clear empties them only after the slot's
// generation has moved on. The name is kept as its bytes and length, the
// two words of a string, because a string cannot be stored atomically.
// Code holding the lock reads the fields with Load, which costs what a
// plain read does. h, prev and next are the lock's alone.
//
// The slot's generation comes first, in the entry's own cache line, so
// that Lookup reads one line of the table, not two.
type entry struct {
	gen        slots.Gen     // the slot's generation: the table writes it (see slots.Gen)
	nameLen    atomic.Uint32 // Meta.check refuses longer names
	h          Handle
	nameAt     atomic.Pointer[byte]  // the name's bytes; see name
	player     atomic.Pointer[pool]  // nil when Meta.Player is ""
	x          atomic.Pointer[extra] // nil unless the handle has a service, tags or a TTL, or the manager counts its stamps
	seq        atomic.Uint64         // its stamp: its place in track order (see stamp.go)
	prev, next uint32                // neighbours in the player pool: slot+1, 0 = none
}

// set fills a slot's entry for a new handle, before the slot is published.
// The player pool is set by insertLocked.
func (e *entry) set(h Handle, name string, x *extra, seq uint64) {
	e.h = h
	if at := unsafe.StringData(name); e.nameAt.Load() != at {
		e.nameAt.Store(at)
	}
	if n := uint32(len(name)); e.nameLen.Load() != n {
		e.nameLen.Store(n)
	}
	if e.x.Load() != x {
		e.x.Store(x)
	}
	e.seq.Store(seq)
}

// clear empties the entry of a slot that has just been freed, or held and
// released, so that a free slot keeps nothing reachable. Only the pointers
// need clearing; the next set overwrites the rest. (nameLen stays, so a
// cleared entry's name is not a string: nothing reads it before set, as
// Lookup reads only published entries and the lock's holders live ones.)
func (e *entry) clear() {
	e.park()
	e.nameAt.Store(nil)
	if e.player.Load() != nil {
		e.player.Store(nil)
	}
}

// park empties the entry of a slot parked in its player's pool of all but
// the name and the pool. The pool's next Track most likely sets both again,
// and set and insertLocked skip storing a value that is already there; the
// pool clears the entry when it frees the slot (dropPartLocked).
func (e *entry) park() {
	e.h = nil
	if e.x.Load() != nil {
		e.x.Store(nil)
	}
}

// name returns the handle's Meta.Name.
func (e *entry) name() string {
	return unsafe.String(e.nameAt.Load(), int(e.nameLen.Load()))
}

// created returns when the handle was tracked, as an offset from
// Manager.start. A handle's stamp is that time where the clock is fine;
// where it is not, the manager gives every handle an extra part, which
// records it.
func (e *entry) created() int64 {
	return createdOf(e.x.Load(), e.seq.Load())
}

// createdOf is entry.created for an entry's extra part and stamp, read
// already (as Lookup reads them, before it checks they belong together).
func createdOf(x *extra, seq uint64) int64 {
	if x != nil {
		return x.created
	}
	return int64(seq)
}

// reason says why a handle leaves the manager, and so which counter counts
// it.
type reason uint8

const (
	byDisconnect reason = iota // Disconnect, Cleanup*, Shutdown; Disconnect is called
	byExpiry                   // Sweep: its TTL passed; Disconnect is called
	byPresence                 // Sweep: its player is offline; Disconnect is called
	byStale                    // Sweep: Connected reported false; Disconnect is not called
	byUntrack                  // Untrack: handed back to the caller
	byExit                     // the goroutine of a Go handle returned; nothing to disconnect
)

// counters are a shard's lifetime counters of handles coming and going.
// They change under the shard's lock together with the entries, so the
// Stats invariant holds per shard at every instant. (Of the disconnected,
// Sweep also counts the expired and the orphaned, in shard.swept.)
type counters struct {
	tracked, disconnected, untracked, stale, exited uint64
}

// version changes whenever the shard's handles change: every insert and
// every removal moves exactly one of these counters. Health compares it
// before and after a walk to tell whether the walk saw one state.
func (c *counters) version() uint64 {
	return c.tracked + c.disconnected + c.untracked + c.stale + c.exited
}

// shard holds the handles whose home it is, and every pool part they are in.
// A handle's home is picked from its player (else service, else first tag),
// so all of a player's handles share one shard and one lock, and different
// players rarely contend.
//
// The first 64 bytes, one cache line, hold everything that tracking or
// disconnecting a handle under the lock writes in the shard, so that such a
// call moves only that line between processors; the rest is read far more
// often than written. (Track and Disconnect of a player's handle mostly
// take the fast path, which writes nothing in the shard: see fastpath.go.)
// The slot table lives in the shard itself, one pointer fewer for Lookup
// to follow. Each shard is allocated on its own and is 384 bytes long, a
// size class whose objects start on a cache line and carry no allocation
// header, so that no two shards share a line (TestShardLayout).
type shard struct {
	mu        sync.Mutex // guards the fields below but waiting and fastOff
	c         counters   // of the handles tracked and removed under the lock; the fast path counts in Manager.tally
	inPlayers int32      // entries in a player pool, but those the fast path tracked and removed (Manager.tally)
	last      uint64     // the newest stamp handed out under the lock, where the clock is fine (see stamp.go)

	slots      slots.Table[entry]
	players    playerIndex // keyed by the maphash of the name that chose this shard
	services   shrinkmap.Map[string, *pool]
	tags       shrinkmap.Map[string, *pool]
	extraBytes int // memory held by extra parts, for Stats.MemoryBytes
	swept      struct{ expired, orphaned uint64 }
	waiting    atomic.Int32 // goroutines waiting in lock
	fastOff    atomic.Int32 // walks under way that keep the fast path off (see closeFastLocked)

	index uint64       // this shard's number, the low bits of its IDs
	bits  uint         // how many low bits of an ID name the shard
	reg   *registry    // the manager's registry of service and tag pools
	keys  *keyIndex    // the manager's index of keyed handles
	seed  maphash.Seed // the manager's, to hash player names

	_ [shardPad]byte
}

// shardPad rounds a shard up to 384 bytes.
const shardPad = 80

// detached is a handle that has left the manager, with what is needed to
// disconnect it and to describe it in an error.
type detached struct {
	h       Handle
	id      ID
	seq     uint64
	created int64
	name    string
	player  string
	x       *extra
}

// lock takes s's lock. If it has to wait, it counts itself in s.waiting
// meanwhile, so that a long walk over s lets it in (see letWaitersIn); the
// common case, an unlocked shard, costs what sync.Mutex.Lock costs.
func (s *shard) lock() {
	if s.mu.TryLock() {
		return
	}
	s.waiting.Add(1)
	s.mu.Lock()
	s.waiting.Add(-1)
}

// lockChunk takes s's lock for a walk over the chunk of slots that starts
// at from, and returns the slot the chunk ends before. When from is past
// every slot, the walk is over: it lets go of the lock again and reports
// false. A walk takes the lock once per chunk, releases it after the chunk
// and lets waiters in (letWaitersIn) before the next one.
func (s *shard) lockChunk(from uint32) (to uint32, ok bool) {
	s.lock()
	end := s.slots.Bound()
	if from >= end {
		s.mu.Unlock()
		return 0, false
	}
	return min(from+chunk, end), true
}

// getLocked returns the live entry of slot at gen, if any, with its player
// pool locked (nil when it has none); the caller unlocks it once it has
// changed or read the entry. The fast path changes a player's entries
// under the pool's lock alone, so a handle found live under the shard's
// lock may have left by the time the pool is locked: getLocked looks again.
func (s *shard) getLocked(slot, gen uint32) (*entry, *pool) {
	e := s.slots.Get(slot, gen)
	if e == nil {
		return nil, nil
	}
	p := e.player.Load().lock()
	if s.slots.Get(slot, gen) == nil {
		p.unlock()
		return nil, nil
	}
	return e, p
}

// closeFastLocked turns the fast path off in s and waits for the calls in
// it to finish, so that s's handles and pools change only under its lock
// until openFast: a walk that reads or removes the handles of many players
// can then do so holding the shard's lock alone. It costs a lock and an
// unlock of every player pool in s.
//
// Why it is enough: a fast call checks fastOff after taking its pool's
// lock. Each pool's lock is taken here after fastOff is raised, so a call
// that took it before has finished, and one that takes it after sees
// fastOff raised and goes the slow way, behind the shard's lock.
func (s *shard) closeFastLocked() {
	s.fastOff.Add(1)
	for _, p := range s.players.All() {
		p.mu.Lock()
		p.mu.Unlock() //nolint:staticcheck // an empty critical section: waiting for the holder is the point
	}
}

// closeFast is closeFastLocked for a caller without the shard's lock. The
// fast path stays off after the lock is released, across all of a walk's
// lock holds.
func (s *shard) closeFast() {
	s.lock()
	s.closeFastLocked()
	s.mu.Unlock()
}

// openFast undoes closeFastLocked, with or without the shard's lock.
func (s *shard) openFast() { s.fastOff.Add(-1) }

// id returns the ID of a slot at a generation.
func (s *shard) id(slot, gen uint32) ID {
	return ID(uint64(gen)<<32 | uint64(slot)<<s.bits | s.index)
}

// parts returns the shard's map of service or tag pool parts of kind k.
// Player pools are in s.players.
func (s *shard) parts(k kind) *shrinkmap.Map[string, *pool] {
	if k == serviceKind {
		return &s.services
	}
	return &s.tags
}

// partLocked returns the shard's part of key, creating it if create is set.
func (s *shard) partLocked(key Pool, create bool) *pool {
	if key.kind == playerKind {
		return s.playerLocked(maphash.String(s.seed, key.name), key.name, create)
	}
	m := s.parts(key.kind)
	p, ok := m.Get(key.name)
	if ok || !create {
		return p
	}
	p = &pool{key: key}
	if key.kind != playerKind {
		p.total = s.reg.acquire(key)
	}
	m.Set(key.name, p)
	return p
}

// playerLocked returns the pool of player, whose maphash is hash,
// creating it if create is set. Track passes the hash it chose the shard
// by, so that the name is hashed once per Track.
func (s *shard) playerLocked(hash uint64, player string, create bool) *pool {
	p := s.players.get(hash, player)
	if p == nil && create {
		p = &pool{key: Player(player)}
		s.players.add(hash, p)
	}
	return p
}

// dropPartLocked forgets an empty pool part, freeing its parked slot. The
// caller holds a player pool's lock.
func (s *shard) dropPartLocked(p *pool) {
	if p.key.kind == playerKind {
		if p.spare != 0 {
			e := s.slots.At(p.spare - 1)
			s.slots.FreeParked(p.spare - 1)
			e.clear()
			p.spare = 0
		}
		// Rehashing here costs only when a player's last handle goes.
		s.players.remove(maphash.String(s.seed, p.key.name), p)
		return
	}
	s.parts(p.key.kind).Delete(p.key.name)
	if p.total != nil {
		s.reg.release(p.key, p.total)
	}
}

// liveLocked counts the handles s holds, from its slots: the slots in use
// but those parked. It walks the player pools, so the fast path must be
// off (see closeFastLocked).
func (s *shard) liveLocked() int {
	n := s.slots.Len()
	for _, p := range s.players.All() {
		if p.spare != 0 {
			n--
		}
	}
	return n
}

// allocLocked takes a slot for a new handle of player pool p (nil for none
// yet, or no player; else the caller holds its lock): p's parked slot if
// it has one, else a free one.
func (s *shard) allocLocked(p *pool) (slot, gen uint32, e *entry, ok bool) {
	if p != nil && p.spare != 0 {
		slot = p.spare - 1
		p.spare = 0
		gen, e = s.slots.Unpark(slot)
		return slot, gen, e, true
	}
	return s.slots.Alloc()
}

// freeLocked frees the slot of entry e, a handle removed from player pool p
// (nil for none; else the caller holds its lock): it parks it in p if p
// lives on and has none parked yet. Either way it clears e (see clear and
// park) once the slot's generation has moved on, as Lookup's lock-free
// reads need.
func (s *shard) freeLocked(slot uint32, e *entry, p *pool) {
	if p != nil && p.n > 0 && p.spare == 0 && s.slots.Park(slot) {
		p.spare = slot + 1
		e.park()
		return
	}
	s.slots.Free(slot)
	e.clear()
}

// insertLocked links a freshly allocated entry, filled by entry.set, into
// its pools and publishes its slot.
// p is the player's pool if the caller has it, locked, else nil; hash is
// the maphash of player.
func (s *shard) insertLocked(slot uint32, e *entry, p *pool, player string, hash uint64) {
	if player != "" {
		if p == nil {
			// A new pool: the fast path may find it in the index at once,
			// but leaves it alone until it holds a handle (n > 0), which
			// it gets under its lock.
			p = s.playerLocked(hash, player, true).lock()
			defer p.unlock()
		}
		p.pushSlot(s, slot, e)
		if e.player.Load() != p {
			e.player.Store(p)
		}
		s.inPlayers++
	}
	if x := e.x.Load(); x != nil {
		s.extraBytes += x.size()
		for i := range x.links {
			l := &x.links[i]
			l.slot = slot
			s.partLocked(l.key, true).pushLink(l)
		}
	}
	s.c.tracked++
	s.slots.Publish(slot) // last: from here on Lookup finds the entry whole
}

// removeLocked unlinks the live entry e in slot from its pools, frees the
// slot and counts the removal. The caller then owns the returned handle.
// The caller holds the lock of e's player pool, if any (see getLocked),
// or has the fast path off.
func (s *shard) removeLocked(slot, gen uint32, e *entry, why reason) detached {
	p := e.player.Load()
	d := detached{h: e.h, id: s.id(slot, gen), seq: e.seq.Load(), created: e.created(), name: e.name(), x: e.x.Load()}
	if p != nil {
		d.player = p.key.name
	}
	s.unlinkLocked(d.id, e, why)
	s.freeLocked(slot, e, p)
	return d
}

// holdLocked takes the live entry e in slot out of the manager as
// removeLocked does (with the same locks held), but holds the slot instead
// of freeing it: e stays
// where it is, for the caller to read with the lock released and to hand
// back with releaseLocked, once it has cleared e. The caller then owns e's
// handle.
func (s *shard) holdLocked(slot, gen uint32, e *entry, why reason) held {
	id := s.id(slot, gen)
	s.unlinkLocked(id, e, why)
	s.slots.Hold(slot)
	return held{seq: e.seq.Load(), e: e, id: id}
}

// releaseLocked frees the slot of a held entry, which the holder has
// cleared.
func (s *shard) releaseLocked(id ID) {
	s.slots.Release(uint32(id) >> s.bits)
}

// unlinkLocked unlinks the live entry e, named id, from its pools and its
// key, and counts its removal: everything removeLocked and holdLocked do
// but free or hold its slot.
func (s *shard) unlinkLocked(id ID, e *entry, why reason) {
	if p := e.player.Load(); p != nil {
		p.unlinkSlot(s, uint32(id)>>s.bits, e)
		s.inPlayers--
		if p.n == 0 {
			s.dropPartLocked(p)
		}
	}
	if x := e.x.Load(); x != nil {
		s.extraBytes -= x.size()
		for i := range x.links {
			l := &x.links[i]
			p := l.pool
			p.unlinkLink(l)
			l.pool = nil
			if p.n == 0 {
				s.dropPartLocked(p)
			}
		}
		if x.more != nil && x.more.key != "" {
			s.keys.release(x.more.key, id)
		}
	}
	switch why {
	case byDisconnect:
		s.c.disconnected++
	case byExpiry:
		s.c.disconnected++
		s.swept.expired++
	case byPresence:
		s.c.disconnected++
		s.swept.orphaned++
	case byStale:
		s.c.stale++
	case byUntrack:
		s.c.untracked++
	case byExit:
		s.c.exited++
	}
}

// size estimates the memory an extra part holds.
func (x *extra) size() int {
	n := int(unsafe.Sizeof(extra{})) + cap(x.links)*int(unsafe.Sizeof(link{}))
	if x.more != nil {
		n += int(unsafe.Sizeof(more{}))
	}
	return n
}
