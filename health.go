package connmgr

import (
	"slices"
	"time"

	"github.com/connmgr/connmgr/internal/heapq"
)

// Health is a report for finding leaks: which pools and which kinds of
// handle hold the most, which handles are the oldest (with where they were
// tracked, under [WithCallers]), and whether the manager is consistent.
type Health struct {
	Stats       Stats
	TopPlayers  []PoolCount // the n player pools with the most handles, most first
	TopServices []PoolCount // the n service pools with the most handles, most first
	TopNames    []NameCount // the n most common Meta.Name values among live handles, most first; "" is left out
	Oldest      []Info      // the n oldest live handles, oldest first, with Caller when recorded
	Problems    []string    // what Validate finds, one line each; empty when healthy
}

// PoolCount is a pool and how many live handles it holds.
type PoolCount struct {
	Pool  Pool
	Count int
}

// NameCount is a Meta.Name and how many live handles carry it.
type NameCount struct {
	Name  string
	Count int
}

// Health reports on the manager's live handles: Stats, the top n player
// pools, service pools and handle names by count (ties by name,
// ascending), the n oldest handles (by Created, ties by ID) and the
// problems of [Manager.Validate]. n <= 0 means 10.
//
// Unlike Validate, Health never pauses the manager: it walks each shard a
// chunk of 64 slots per lock hold (tens of microseconds, even with a
// million handles) and does its counting with no lock held. The lists are
// exact when nothing is tracked or removed during the call; otherwise
// they are a close approximation. Problems always include what each chunk
// can check on its own (each handle against its pools, neighbours and key
// index); the checks that compare totals across chunks (pool sizes, the
// registry, the key index's size, the counters against the Stats
// invariant) are made only when the walk saw one unchanging state, since
// under concurrent calls they would report differences that are not
// errors. While it walks a shard, every Track and Disconnect in that
// shard takes the shard's lock, even a resident player's, which otherwise
// takes only its pool's.
//
// Health costs O(handles) time and O(players + names) memory: it is for a
// debug page or an alert, not for every tick.
func (m *Manager) Health(n int) Health {
	if n <= 0 {
		n = 10
	}
	before := m.versions()
	st := m.Stats()
	// Sized from Stats, so that the maps rarely grow: fewer allocations
	// mean fewer garbage collections during the walk, which would compete
	// with the lock holder for the processor.
	w := &healthWalk{
		m:        m,
		n:        n,
		players:  make(map[string]int, st.PlayerPools),
		services: make(map[string]int, st.ServicePools),
		names:    map[string]int{},
		buf:      make([]view, 0, healthChunk),
		oldest:   heapq.New(min(n, st.Active), func(a, b view) bool { return older(&b, &a) }),
	}
	w.cross.init(len(m.shards), st.PlayerPools+st.ServicePools+st.TagPools)
	for i := range m.shards {
		w.walkShard(m.shards[i])
	}
	w.cross.readIndexes(m)
	if slices.Equal(before, m.versions()) {
		w.cross.check(&w.c)
	}
	return Health{
		Stats:       st,
		TopPlayers:  topPools(w.players, Player, n),
		TopServices: topPools(w.services, Service, n),
		TopNames:    topNames(w.names, n),
		Oldest:      w.oldestInfos(),
		Problems:    w.c.problems,
	}
}

// testHookHold, when set by a test, is told how many slots each of
// Health's chunked lock holds covered and how long it lasted.
var testHookHold func(slots int, held time.Duration)

// healthWalk is the state of one Health call.
type healthWalk struct {
	m        *Manager
	n        int
	players  map[string]int    // handles per player pool
	services map[string]int    // handles per service pool
	names    map[string]int    // handles per non-empty Meta.Name
	oldest   *heapq.Heap[view] // the n oldest seen so far, the newest of them on top
	buf      []view
	c        checker
	cross    crossCheck
}

// healthChunk is how many slots Health visits per lock hold: fewer than
// the cleanups' chunk, since it checks each handle against its neighbours,
// which are scattered in memory.
const healthChunk = 64

// walkShard visits s a chunk of slots per lock hold: it checks each live
// handle and copies what the report needs, then counts with no lock held.
func (w *healthWalk) walkShard(s *shard) {
	s.lock()
	// The walk reads every handle and its neighbours, which the fast path
	// changes under a player pool's lock alone.
	s.closeFastLocked()
	defer s.openFast()
	w.cross.shardLocked(s)
	s.mu.Unlock()
	for from := uint32(0); ; from += healthChunk {
		w.buf = w.buf[:0]
		var start time.Time
		if testHookHold != nil {
			start = time.Now()
		}
		s.lock()
		end := s.slots.Bound()
		maxSeq := w.m.lastStampLocked(s)
		for slot := from; slot < from+healthChunk && slot < end; slot++ {
			e, gen, ok := s.slots.Live(slot)
			if !ok {
				continue
			}
			s.checkEntryLocked(&w.c, slot, gen, e, maxSeq)
			w.cross.entryLocked(s, e)
			w.buf = append(w.buf, s.viewLocked(s.id(slot, gen), e))
		}
		s.mu.Unlock()
		if testHookHold != nil {
			testHookHold(int(min(end, from+healthChunk)-min(end, from)), time.Since(start))
		}
		if from >= end {
			return
		}
		w.cross.absorb()
		for i := range w.buf {
			w.count(&w.buf[i])
		}
		letWaitersIn(s)
	}
}

// count adds one handle to the report.
func (w *healthWalk) count(v *view) {
	if v.player != "" {
		w.players[v.player]++
	}
	if x := v.x; x != nil && x.service {
		w.services[x.links[0].key.name]++
	}
	if v.name != "" {
		w.names[v.name]++
	}
	if w.oldest.Len() < w.n {
		w.oldest.Push(*v)
	} else if top := w.oldest.Top(); older(v, &top) {
		w.oldest.ReplaceTop(*v)
	}
}

// oldestInfos returns the oldest handles found, oldest first.
func (w *healthWalk) oldestInfos() []Info {
	vs := w.oldest.Drain()
	slices.SortFunc(vs, func(a, b view) int {
		if older(&a, &b) {
			return -1
		}
		return 1
	})
	infos := make([]Info, len(vs))
	for i := range vs {
		infos[i] = w.m.info(&vs[i])
	}
	return infos
}

// older reports whether a was tracked before b: by Created, ties by ID.
func older(a, b *view) bool {
	if a.created != b.created {
		return a.created < b.created
	}
	return a.id < b.id
}

// topPools returns the n pools with the most handles, most first, ties by
// name.
func topPools(counts map[string]int, pool func(string) Pool, n int) []PoolCount {
	top := topCounts(counts, n)
	out := make([]PoolCount, len(top))
	for i, t := range top {
		out[i] = PoolCount{Pool: pool(t.Name), Count: t.Count}
	}
	return out
}

// topNames returns the n most common names, most first, ties by name.
func topNames(counts map[string]int, n int) []NameCount {
	return topCounts(counts, n)
}

// topCounts returns the n largest counts, most first, ties by name
// ascending. It keeps the best n in a heap, so a million players cost a
// pass, not a sort.
func topCounts(counts map[string]int, n int) []NameCount {
	// The lowest-ranked of the best n so far is on top, to be replaced.
	h := heapq.New(min(n, len(counts)), func(a, b NameCount) bool { return before(b, a) })
	for name, c := range counts {
		nc := NameCount{Name: name, Count: c}
		if h.Len() < n {
			h.Push(nc)
		} else if before(nc, h.Top()) {
			h.ReplaceTop(nc)
		}
	}
	top := h.Drain()
	slices.SortFunc(top, func(a, b NameCount) int {
		if before(a, b) {
			return -1
		}
		return 1
	})
	return top
}

// before reports whether a ranks above b: a larger count, or the same
// count and a smaller name.
func before(a, b NameCount) bool {
	if a.Count != b.Count {
		return a.Count > b.Count
	}
	return a.Name < b.Name
}

// versions returns each shard's version, one O(1) lock hold per shard, and
// last the fast path's (its count of calls), which moves with every
// handle it tracks or removes.
func (m *Manager) versions() []uint64 {
	vs := make([]uint64, len(m.shards)+1)
	for i := range m.shards {
		s := m.shards[i]
		s.lock()
		vs[i] = s.c.version()
		s.mu.Unlock()
	}
	tracked, disconnected := m.tally.sum()
	vs[len(m.shards)] = tracked + disconnected
	return vs
}
