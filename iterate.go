package connmgr

import (
	"cmp"
	"iter"
	"slices"

	"github.com/connmgr/connmgr/internal/heapq"
)

// Handles returns an iterator over the live handles of p, newest first.
//
// The walk takes the lock of a shard for one chunk of at most 256 handles
// at a time, copies the chunk, and yields it with no lock held, so the loop
// body may call any Manager method (Disconnect the handle it is given,
// Track more, clean p) and may break out early. A handle tracked or removed
// during the walk may or may not be yielded; none is yielded twice. For the
// zero Pool, or a pool with an empty name, it yields nothing.
func (m *Manager) Handles(p Pool) iter.Seq[Info] {
	return func(yield func(Info) bool) {
		if !p.valid() {
			return
		}
		if p.kind == playerKind {
			m.merge([]source{&partSource{s: m.playerHome(p.name), key: p}}, yield)
			return
		}
		srcs := make([]source, len(m.shards))
		for i := range m.shards {
			srcs[i] = &partSource{s: m.shards[i], key: p}
		}
		m.merge(srcs, yield)
	}
}

// All returns an iterator over every live handle, newest first, with the
// same guarantees as [Manager.Handles]. It first lists the live handles'
// IDs, a chunk of slots per lock hold (16 bytes per handle), then fetches
// and yields them a chunk at a time.
func (m *Manager) All() iter.Seq[Info] {
	return func(yield func(Info) bool) {
		srcs := make([]source, len(m.shards))
		for i := range m.shards {
			s := m.shards[i]
			srcs[i] = &allSource{s: s, refs: s.refs()}
		}
		m.merge(srcs, yield)
	}
}

// source produces one shard's part of a walk, a chunk at a time.
type source interface {
	// next appends the next chunk to out, newest first and every handle
	// older than all those returned before. It returns out unchanged when
	// the source is exhausted.
	next(out []view) []view
}

// stream is a source with the rest of its current chunk.
type stream struct {
	src source
	buf []view // the unyielded rest of the chunk
	mem []view // the chunk's memory, reused for the next chunk
}

// merge yields the handles of srcs newest first, keeping the streams in a
// heap by the stamp of their next handle. Chunks are fetched
// under their shard's lock inside next; yield runs with no lock held.
func (m *Manager) merge(srcs []source, yield func(Info) bool) {
	h := heapq.New(len(srcs), func(a, b *stream) bool { return a.buf[0].seq > b.buf[0].seq })
	for _, src := range srcs {
		st := &stream{src: src}
		if st.refill() {
			h.Push(st)
		}
	}
	for h.Len() > 0 {
		st := h.Top()
		v := st.buf[0]
		st.buf = st.buf[1:]
		if len(st.buf) == 0 && !st.refill() {
			h.Pop()
		} else {
			h.Fix()
		}
		if !yield(m.info(&v)) {
			return
		}
	}
}

// refill fetches the stream's next chunk and reports whether it has one.
func (st *stream) refill() bool {
	clear(st.mem) // drop references to the last chunk's extras
	st.mem = st.src.next(st.mem[:0])
	st.buf = st.mem
	return len(st.buf) > 0
}

// partSource walks one shard's part of a pool from its newest handle back,
// a chunk per lock hold.
//
// Between chunks the list may change. The walk resumes after the oldest
// handle of the previous chunk that is still in the pool: a live entry's
// older neighbours are still the older members, since handles join only at
// the newest end. Only if every handle of the previous chunk has left does
// it start again from the newest end, skipping what it has passed (every
// handle at or after bound); that costs as many steps as there are handles
// newer than the walk, which a concurrent Cleanup, removing newest first,
// keeps short.
type partSource struct {
	s     *shard
	key   Pool
	last  []ID   // the previous chunk, newest first
	bound uint64 // the stamp of the oldest handle yielded so far; 0 before the first chunk
	done  bool
}

func (c *partSource) next(out []view) []view {
	if c.done {
		return out
	}
	s := c.s
	s.lock()
	defer s.mu.Unlock()
	p := s.partLocked(c.key, false)
	if p == nil {
		c.done = true
		return out
	}
	n := len(out)
	if c.key.kind == playerKind {
		p.mu.Lock()
		out = c.playerChunkLocked(p, out)
		p.mu.Unlock()
	} else {
		out = c.linkChunkLocked(p, out)
	}
	c.last = c.last[:0]
	for _, v := range out[n:] {
		c.last = append(c.last, v.id)
	}
	if len(out) > n {
		c.bound = out[len(out)-1].seq
	} else {
		c.done = true
	}
	return out
}

// passed reports whether the walk has already passed a handle with seq.
func (c *partSource) passed(seq uint64) bool {
	return c.bound != 0 && seq >= c.bound
}

// playerChunkLocked appends the next chunk of a player pool.
func (c *partSource) playerChunkLocked(p *pool, out []view) []view {
	s := c.s
	cur, resumed := uint32(0), false
	for i := len(c.last) - 1; i >= 0 && !resumed; i-- {
		slot, gen := s.split(c.last[i])
		if e := s.slots.Get(slot, gen); e != nil {
			cur, resumed = e.prev, true
		}
	}
	if !resumed {
		cur = p.last
	}
	for cur != 0 && c.passed(s.slots.At(cur-1).seq.Load()) {
		cur = s.slots.At(cur - 1).prev
	}
	for n := 0; cur != 0 && n < chunk; n++ {
		e, gen, _ := s.slots.Live(cur - 1)
		out = append(out, s.viewLocked(s.id(cur-1, gen), e))
		cur = e.prev
	}
	if cur == 0 {
		c.done = true
	}
	return out
}

// linkChunkLocked appends the next chunk of a service or tag pool part.
func (c *partSource) linkChunkLocked(p *pool, out []view) []view {
	s := c.s
	var cur *link
	resumed := false
	for i := len(c.last) - 1; i >= 0 && !resumed; i-- {
		slot, gen := s.split(c.last[i])
		if e := s.slots.Get(slot, gen); e != nil {
			cur, resumed = e.x.Load().link(c.key).prev, true
		}
	}
	if !resumed {
		cur = p.tail
	}
	for cur != nil && c.passed(s.slots.At(cur.slot).seq.Load()) {
		cur = cur.prev
	}
	for n := 0; cur != nil && n < chunk; n++ {
		e, gen, _ := s.slots.Live(cur.slot)
		out = append(out, s.viewLocked(s.id(cur.slot, gen), e))
		cur = cur.prev
	}
	if cur == nil {
		c.done = true
	}
	return out
}

// link returns the link of x to key. The handle must be in key.
func (x *extra) link(key Pool) *link {
	for i := range x.links {
		if x.links[i].key == key {
			return &x.links[i]
		}
	}
	panic("connmgr: internal error: handle not in " + key.String())
}

// split returns the slot and generation of an ID of this shard.
func (s *shard) split(id ID) (slot, gen uint32) {
	return uint32(id) >> s.bits, uint32(id >> 32)
}

// ref names a live handle at the time it was listed.
type ref struct {
	seq       uint64
	slot, gen uint32
}

// refs lists the shard's live handles, newest first, taking the lock for a
// chunk of slots at a time.
func (s *shard) refs() []ref {
	var out []ref
	s.closeFast()
	defer s.openFast()
	for from := uint32(0); ; from += chunk {
		to, ok := s.lockChunk(from)
		if !ok {
			break
		}
		for slot := from; slot < to; slot++ {
			if e, gen, ok := s.slots.Live(slot); ok {
				out = append(out, ref{seq: e.seq.Load(), slot: slot, gen: gen})
			}
		}
		s.mu.Unlock()
		letWaitersIn(s)
	}
	slices.SortFunc(out, func(a, b ref) int { return cmp.Compare(b.seq, a.seq) })
	return out
}

// allSource yields the listed handles of one shard that are still live, a
// chunk per lock hold.
type allSource struct {
	s    *shard
	refs []ref // not yet fetched, newest first
}

func (c *allSource) next(out []view) []view {
	s := c.s
	for n := len(out); len(out) == n && len(c.refs) > 0; {
		k := min(chunk, len(c.refs))
		s.lock()
		for _, r := range c.refs[:k] {
			if e, p := s.getLocked(r.slot, r.gen); e != nil {
				out = append(out, s.viewLocked(s.id(r.slot, r.gen), e))
				p.unlock()
			}
		}
		s.mu.Unlock()
		c.refs = c.refs[k:]
	}
	return out
}
