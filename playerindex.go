package connmgr

import "iter"

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
type playerIndex struct {
	slots []indexSlot // a power of two long, or empty; load at most 3/4
	n     int         // pools held
}

// indexSlot is one slot of a playerIndex; p is nil when it is free.
type indexSlot struct {
	hash uint64
	p    *pool
}

const (
	// indexMin is the smallest table an index allocates.
	indexMin = 8
	// indexShift drops the hash bits that chose the shard (at most 8).
	indexShift = 8
)

// Len reports the number of pools.
func (x *playerIndex) Len() int { return x.n }

// get returns the pool of name, whose maphash is hash, or nil.
func (x *playerIndex) get(hash uint64, name string) *pool {
	if x.n == 0 {
		return nil
	}
	mask := uint64(len(x.slots) - 1)
	for i := (hash >> indexShift) & mask; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.p == nil {
			return nil
		}
		if s.hash == hash && s.p.key.name == name {
			return s.p
		}
	}
}

// add adds p, whose name's maphash is hash and which the index must not
// hold yet.
func (x *playerIndex) add(hash uint64, p *pool) {
	if (x.n+1)*4 > len(x.slots)*3 {
		x.resize(max(indexMin, len(x.slots)*2))
	}
	x.put(hash, p)
	x.n++
}

// put stores p in the first free slot of its probe sequence.
func (x *playerIndex) put(hash uint64, p *pool) {
	mask := uint64(len(x.slots) - 1)
	i := (hash >> indexShift) & mask
	for x.slots[i].p != nil {
		i = (i + 1) & mask
	}
	x.slots[i] = indexSlot{hash, p}
}

// remove removes p, whose name's maphash is hash, if the index holds it.
// It removes by identity: another pool of the same name is left alone.
func (x *playerIndex) remove(hash uint64, p *pool) {
	if x.n == 0 {
		return
	}
	mask := uint64(len(x.slots) - 1)
	i := (hash >> indexShift) & mask
	for x.slots[i].p != p {
		if x.slots[i].p == nil {
			return
		}
		i = (i + 1) & mask
	}
	// Backward-shift deletion: move later members of the probe run into
	// the hole when the hole lies between their home slot and where they
	// are, so that lookups never stop early and no tombstones accumulate.
	for j := (i + 1) & mask; x.slots[j].p != nil; j = (j + 1) & mask {
		home := (x.slots[j].hash >> indexShift) & mask
		if (j-home)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = indexSlot{}
	x.n--
	if len(x.slots) > indexMin && x.n*8 <= len(x.slots) {
		x.resize(max(indexMin, len(x.slots)/4))
	}
}

// resize rebuilds the table with size slots.
func (x *playerIndex) resize(size int) {
	old := x.slots
	x.slots = make([]indexSlot, size)
	for _, s := range old {
		if s.p != nil {
			x.put(s.hash, s.p)
		}
	}
}

// All returns an iterator over the pools by name. The loop body must not
// change the index.
func (x *playerIndex) All() iter.Seq2[string, *pool] {
	return func(yield func(string, *pool) bool) {
		for _, s := range x.slots {
			if s.p != nil && !yield(s.p.key.name, s.p) {
				return
			}
		}
	}
}
