package connmgr

// Health's consistency checks.
//
// Validate holds every lock while it walks, which with a million handles
// pauses the server for tens of milliseconds. Health instead checks in
// pieces that each hold one lock briefly:
//
//   - each live handle, in the chunk that visits it: its Handle and
//     stamp, each of its pools (indexed by the shard, its
//     neighbours in the pool's list linking back to it in track order) and
//     the key index naming it (checkEntryLocked, shared with Validate);
//     together these find any broken list, since a list whose every member
//     is linked both ways to its neighbours, in order, is whole;
//   - the totals (live handles per shard, members per pool part, pool parts
//     per shard, the registry's counts, the key index's size, and the
//     manager's counters against the Stats invariant), gathered
//     during the walk and compared afterwards only when no shard changed
//     between the first and the last piece (the shards' versions are equal
//     before and after), because only then do the pieces add up to one
//     state. Under concurrent Tracks these comparisons are skipped rather
//     than risk reporting a difference that is only a change.

// crossCheck gathers the totals during Health's walk and compares them.
// Under a shard's lock it only appends to reused slices, so that no map
// grows and nothing is allocated (which could make the lock holder assist
// the garbage collector) while the lock is held; absorb then counts with
// no lock held.
type crossCheck struct {
	shards  []shardSeen
	counts  census // the counters, and the live handles found
	parts   map[*pool]partSeen
	keyed   int          // live handles with a key
	members []membership // the current chunk's pool memberships

	// read before the walk ends, compared only if it saw one state
	reg      map[Pool]regSeen
	regPools [tagKind + 1]int // the registry's count of pools per kind
	regLen   int              // pools the registry holds
	keysHeld int              // keys in the key index's parts
	keysN    int64            // the key index's count
}

// shardSeen is one shard's own counts, and what the walk found there.
type shardSeen struct {
	live, extraBytes [2]int // [0] the shard's count, [1] found
	kinds            [tagKind + 1][2]int
}

// membership is one handle's membership of a pool part, with the part's
// count at the time, copied under the shard's lock.
type membership struct {
	p     *pool // its key and total never change, so they can be read later
	n     int
	shard int
}

// partSeen is one pool part: its count when first seen, and the members
// found.
type partSeen struct {
	shard   int
	n, seen int
	total   *poolTotal
}

// regSeen is the registry's entry for a service or tag pool.
type regSeen struct {
	found        bool
	total        *poolTotal
	parts        int
	n            int64
	walkedParts  int
	walkedN      int
	mixedTotals  bool
	walkedTotals *poolTotal
}

// init prepares for shards shards and about pools pool parts.
func (cc *crossCheck) init(shards, pools int) {
	cc.shards = make([]shardSeen, shards)
	cc.parts = make(map[*pool]partSeen, pools)
	cc.members = make([]membership, 0, 4*healthChunk)
}

// shardLocked records the shard's own counts. The fast path must be off.
func (cc *crossCheck) shardLocked(s *shard) {
	ss := &cc.shards[s.index]
	cc.counts.addShardLocked(s)
	ss.live[0], ss.extraBytes[0] = s.liveLocked(), s.extraBytes
	ss.kinds[playerKind][0] = s.players.Len()
	ss.kinds[serviceKind][0] = s.services.Len()
	ss.kinds[tagKind][0] = s.tags.Len()
}

// entryLocked counts a live entry of s.
func (cc *crossCheck) entryLocked(s *shard, e *entry) {
	ss := &cc.shards[s.index]
	ss.live[1]++
	cc.counts.live++
	if p := e.player.Load(); p != nil {
		cc.counts.foundInPlayers++
		cc.members = append(cc.members, membership{p: p, n: int(p.n), shard: int(s.index)})
	}
	if x := e.x.Load(); x != nil {
		ss.extraBytes[1] += x.size()
		for i := range x.links {
			if p := x.links[i].pool; p != nil {
				cc.members = append(cc.members, membership{p: p, n: int(p.n), shard: int(s.index)})
			}
		}
		if x.key() != "" {
			cc.keyed++
		}
	}
}

// absorb counts the memberships of the last chunk, with no lock held.
func (cc *crossCheck) absorb() {
	for _, mb := range cc.members {
		ps, ok := cc.parts[mb.p]
		if !ok {
			ps = partSeen{shard: mb.shard, n: mb.n, total: mb.p.total}
			cc.shards[mb.shard].kinds[mb.p.key.kind][1]++
		}
		ps.seen++
		cc.parts[mb.p] = ps
	}
	clear(cc.members) // drop the pool pointers
	cc.members = cc.members[:0]
}

// readIndexes reads the registry entries of the service and tag pools the
// walk found, a chunk of pools per lock hold, and the key index's size.
func (cc *crossCheck) readIndexes(m *Manager) {
	cc.reg = make(map[Pool]regSeen)
	for p, ps := range cc.parts {
		if p.key.kind == playerKind {
			continue
		}
		r := cc.reg[p.key]
		switch {
		case r.walkedParts == 0:
			r.walkedTotals = ps.total
		case r.walkedTotals != ps.total:
			r.mixedTotals = true
		}
		r.walkedParts++
		r.walkedN += ps.seen
		cc.reg[p.key] = r
	}
	keys := make([]Pool, 0, len(cc.reg))
	for key := range cc.reg {
		keys = append(keys, key)
	}
	for len(keys) > 0 {
		k := min(chunk, len(keys))
		m.reg.mu.Lock()
		for _, key := range keys[:k] {
			r := cc.reg[key]
			if t, ok := m.reg.totals.Get(key); ok {
				r.found, r.total, r.parts, r.n = true, t, t.parts, t.n.Load()
			}
			cc.reg[key] = r
		}
		m.reg.mu.Unlock()
		keys = keys[k:]
	}
	m.reg.mu.Lock()
	cc.regPools, cc.regLen = m.reg.pools, m.reg.totals.Len()
	m.reg.mu.Unlock()

	cc.keysHeld, cc.keysN = m.keys.held(), m.keys.n.Load()
	cc.counts.addTally(&m.tally)
}

// check compares the totals, naming each difference in c.
func (cc *crossCheck) check(c *checker) {
	for i := range cc.shards {
		ss := &cc.shards[i]
		if ss.live[0] != ss.live[1] {
			c.addf("shard %d counts %d live slots, found %d", i, ss.live[0], ss.live[1])
		}
		if ss.extraBytes[0] != ss.extraBytes[1] {
			c.addf("shard %d counts %d bytes of extra parts, found %d", i, ss.extraBytes[0], ss.extraBytes[1])
		}
		for k := playerKind; k <= tagKind; k++ {
			if got := ss.kinds[k]; got[0] != got[1] {
				c.addf("shard %d indexes %d %s pools, its handles are in %d", i, got[0], Pool{kind: k}.kindName(), got[1])
			}
		}
	}
	cc.counts.check(c)
	for p, ps := range cc.parts {
		if ps.n != ps.seen {
			c.addf("%s counts %d handles, holds %d", p.key, ps.n, ps.seen)
		}
	}
	var kinds [tagKind + 1]int
	for key, r := range cc.reg {
		kinds[key.kind]++
		switch {
		case !r.found:
			c.addf("%s has handles but is missing from the registry", key)
			continue
		case r.mixedTotals || r.walkedTotals != r.total:
			c.addf("%s has parts that do not share its registry total", key)
		}
		if r.parts != r.walkedParts {
			c.addf("registry counts %d shards holding %s, found %d", r.parts, key, r.walkedParts)
		}
		if r.n != int64(r.walkedN) {
			c.addf("registry counts %d handles in %s, found %d", r.n, key, r.walkedN)
		}
	}
	for _, k := range []kind{serviceKind, tagKind} {
		if kinds[k] != cc.regPools[k] {
			c.addf("registry counts %d %s pools, found %d", cc.regPools[k], Pool{kind: k}.kindName(), kinds[k])
		}
	}
	if n := kinds[serviceKind] + kinds[tagKind]; n != cc.regLen {
		c.addf("registry holds %d pools, found %d", cc.regLen, n)
	}
	if cc.keysHeld != cc.keyed {
		c.addf("key index holds %d keys, %d handles have one", cc.keysHeld, cc.keyed)
	}
	if cc.keysN != int64(cc.keysHeld) {
		c.addf("key index counts %d keys, holds %d", cc.keysN, cc.keysHeld)
	}
}
