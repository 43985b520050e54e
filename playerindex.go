package connmgr

import (
	"iter"
	"sync/atomic"
)

// playerIndex finds a shard's player pools by name. It is an open-addressing
// hash table keyed by the maphash of the player's name, the very hash Track
// computes to choose the shard: with a Go map, every Track would hash the
// name a second time, which costs about as much as the rest of the lookup.
//
// Like shrinkmap, it gives memory back: it shrinks when it falls far below
// its size, so a peak of players does not pin a large table for good.
//
// The hash's low bits chose the shard, so they are the same for every pool
// in one index; probing starts from the bits above them.
//
// The shard's lock guards every change. Track's fast path also reads the
// index without the lock (peek), so the table is published atomically and
// its slots are read and written atomically; a reader racing a change may
// miss a pool, never find a wrong one.
type playerIndex struct {
	tab atomic.Pointer[indexTable] // nil until the first pool
	n   int                        // pools held
}

// indexTable is the slots of a playerIndex: a power of two of them, at
// most 3/4 used.
type indexTable struct {
	slots []indexSlot
}

// indexSlot is one slot of a playerIndex; p is nil when it is free.
type indexSlot struct {
	hash atomic.Uint64
	p    atomic.Pointer[pool]
}

const (
	// indexMin is the smallest table an index allocates.
	indexMin = 8
	// indexShift drops the hash bits that chose the shard (at most 8).
	indexShift = 8
)

// Len reports the number of pools.
func (x *playerIndex) Len() int { return x.n }

// slots returns the index's slots, empty before the first pool.
func (x *playerIndex) slots() []indexSlot {
	if t := x.tab.Load(); t != nil {
		return t.slots
	}
	return nil
}

// get returns the pool of name, whose maphash is hash, or nil.
func (x *playerIndex) get(hash uint64, name string) *pool {
	if x.n == 0 {
		return nil
	}
	return x.peek(hash, name)
}

// peek is get without the shard's lock. Concurrent changes may hide a pool
// from it (backward-shift deletion moves pools, and a resize replaces the
// table), so it may report nil for a pool that exists; whatever pool it
// returns has the name asked for, but may have been dropped since.
func (x *playerIndex) peek(hash uint64, name string) *pool {
	slots := x.slots()
	mask := uint64(len(slots) - 1)
	i := (hash >> indexShift) & mask
	for range slots {
		s := &slots[i]
		p := s.p.Load()
		if p == nil {
			return nil
		}
		if s.hash.Load() == hash && p.key.name == name {
			return p
		}
		i = (i + 1) & mask
	}
	return nil
}

// add adds p, whose name's maphash is hash and which the index must not
// hold yet.
func (x *playerIndex) add(hash uint64, p *pool) {
	if (x.n+1)*4 > len(x.slots())*3 {
		x.resize(max(indexMin, len(x.slots())*2))
	}
	put(x.slots(), hash, p)
	x.n++
}

// put stores p in the first free slot of its probe sequence: the hash
// first, so that a reader that finds p finds its hash.
func put(slots []indexSlot, hash uint64, p *pool) {
	mask := uint64(len(slots) - 1)
	i := (hash >> indexShift) & mask
	for slots[i].p.Load() != nil {
		i = (i + 1) & mask
	}
	slots[i].hash.Store(hash)
	slots[i].p.Store(p)
}

// remove removes p, whose name's maphash is hash, if the index holds it.
// It removes by identity: another pool of the same name is left alone.
func (x *playerIndex) remove(hash uint64, p *pool) {
	if x.n == 0 {
		return
	}
	slots := x.slots()
	mask := uint64(len(slots) - 1)
	i := (hash >> indexShift) & mask
	for slots[i].p.Load() != p {
		if slots[i].p.Load() == nil {
			return
		}
		i = (i + 1) & mask
	}
	// Backward-shift deletion: move later members of the probe run into
	// the hole when the hole lies between their home slot and where they
	// are, so that lookups never stop early and no tombstones accumulate.
	for j := (i + 1) & mask; slots[j].p.Load() != nil; j = (j + 1) & mask {
		h := slots[j].hash.Load()
		if home := (h >> indexShift) & mask; (j-home)&mask >= (j-i)&mask {
			slots[i].hash.Store(h)
			slots[i].p.Store(slots[j].p.Load())
			i = j
		}
	}
	slots[i].p.Store(nil)
	slots[i].hash.Store(0)
	x.n--
	if len(slots) > indexMin && x.n*8 <= len(slots) {
		x.resize(max(indexMin, len(slots)/4))
	}
}

// resize rebuilds the table with size slots and publishes it whole.
func (x *playerIndex) resize(size int) {
	t := &indexTable{slots: make([]indexSlot, size)}
	old := x.slots()
	for i := range old {
		if p := old[i].p.Load(); p != nil {
			put(t.slots, old[i].hash.Load(), p)
		}
	}
	x.tab.Store(t)
}

// All returns an iterator over the pools by name. The loop body must not
// change the index.
func (x *playerIndex) All() iter.Seq2[string, *pool] {
	return func(yield func(string, *pool) bool) {
		slots := x.slots()
		for i := range slots {
			if p := slots[i].p.Load(); p != nil && !yield(p.key.name, p) {
				return
			}
		}
	}
}
