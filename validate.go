package connmgr

import (
	"fmt"
	"strings"
)

// Validate walks the manager's internal structures (handles, pools, the
// registry of service and tag pools, the key index), checks them against
// each other and against the Stats invariant, and returns an error naming
// every inconsistency, or nil when everything is consistent. It holds every
// lock for the walk, so it costs O(handles) and pauses the other calls
// meanwhile: it is for tests, not for a live server. [Manager.Health] makes
// the same checks piecewise, without pausing anything for long.
func (m *Manager) Validate() error {
	problems := m.problems()
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("connmgr: %d inconsistencies: %s", len(problems), strings.Join(problems, "; "))
}

// checker collects problems, one line each.
type checker struct {
	problems []string
}

func (c *checker) addf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// problems lists every inconsistency, holding every shard lock (in
// ascending order), with the fast path off in every shard, and then the
// registry lock or a key index part's lock (the same order as Track) so
// that the picture is whole.
func (m *Manager) problems() []string {
	for i := range m.shards {
		m.shards[i].lock()
		m.shards[i].closeFastLocked()
	}
	defer func() {
		for i := range m.shards {
			m.shards[i].openFast()
			m.shards[i].mu.Unlock()
		}
	}()

	var (
		c      checker
		counts census
	)
	totals := make(map[Pool]int) // handles per service or tag pool, over the shards
	parts := make(map[Pool]int)  // shards holding a part of each
	keyed := 0
	for i := range m.shards {
		s := m.shards[i]
		counts.addShardLocked(s)
		keyed += s.checkLocked(&c, m.lastStampLocked(s), totals, parts, &counts)
	}
	counts.addTally(&m.tally)
	counts.check(&c)
	m.checkKeyCount(&c, keyed)

	m.reg.mu.Lock()
	defer m.reg.mu.Unlock()

	var kinds [tagKind + 1]int
	for key, t := range m.reg.totals.All() {
		kinds[key.kind]++
		if t.parts != parts[key] {
			c.addf("registry counts %d shards holding %s, found %d", t.parts, key, parts[key])
		}
		if n := t.n.Load(); n != int64(totals[key]) {
			c.addf("registry counts %d handles in %s, found %d", n, key, totals[key])
		}
	}
	for key := range parts {
		if _, ok := m.reg.totals.Get(key); !ok {
			c.addf("%s has handles but is missing from the registry", key)
		}
	}
	for _, k := range []kind{serviceKind, tagKind} {
		if kinds[k] != m.reg.pools[k] {
			c.addf("registry counts %d %s pools, holds %d", m.reg.pools[k], Pool{kind: k}.kindName(), kinds[k])
		}
	}
	return c.problems
}

// checkKeyCount checks that the key index holds exactly the keys of the
// keyed entries (each of which checkEntryLocked found named by its key).
// The caller holds every shard lock.
func (m *Manager) checkKeyCount(c *checker, keyed int) {
	held := m.keys.held()
	if held != keyed {
		c.addf("key index holds %d keys, %d handles have one", held, keyed)
	}
	if n := m.keys.n.Load(); n != int64(held) {
		c.addf("key index counts %d keys, holds %d", n, held)
	}
}

// checkLocked checks one shard: its entries, its pool lists, its counters.
// It returns how many of its handles have a Key, and adds the live handles
// it finds to counts. The fast path must be off.
func (s *shard) checkLocked(c *checker, maxSeq uint64, totals, parts map[Pool]int, counts *census) (keyed int) {
	var live, inPlayers, links, extraBytes int
	for slot := uint32(0); slot < s.slots.Bound(); slot++ {
		e, gen, ok := s.slots.Live(slot)
		if !ok {
			continue
		}
		live++
		s.checkEntryLocked(c, slot, gen, e, maxSeq)
		if e.player.Load() != nil {
			inPlayers++
		}
		if x := e.x.Load(); x != nil {
			extraBytes += x.size()
			links += len(x.links)
			if x.key() != "" {
				keyed++
			}
		}
	}
	counts.live += live
	counts.foundInPlayers += inPlayers
	if n := s.liveLocked(); live != n {
		c.addf("shard %d has %d slots in use but parked, found %d live", s.index, n, live)
	}
	for _, p := range s.players.All() {
		if p.spare == 0 {
			continue
		}
		if _, _, live := s.slots.Live(p.spare - 1); live {
			c.addf("%s keeps slot %d parked, but a handle lives in it", p.key, p.spare-1)
		}
	}
	if extraBytes != s.extraBytes {
		c.addf("shard %d counts %d bytes of extra parts, found %d", s.index, s.extraBytes, extraBytes)
	}

	walked := 0
	for name, p := range s.players.All() {
		if p.key != Player(name) {
			c.addf("shard %d indexes %s under %q", s.index, p.key, name)
		}
		walked += s.checkPlayerPoolLocked(c, p)
	}
	if walked != inPlayers {
		c.addf("shard %d: player pools list %d handles, %d handles name a player pool", s.index, walked, inPlayers)
	}
	walked = 0
	for _, k := range []kind{serviceKind, tagKind} {
		for name, p := range s.parts(k).All() {
			if p.key != (Pool{k, name}) {
				c.addf("shard %d indexes %s under %q", s.index, p.key, name)
			}
			walked += s.checkLinkPoolLocked(c, p)
			totals[p.key] += int(p.n)
			parts[p.key]++
		}
	}
	if walked != links {
		c.addf("shard %d: service and tag pools list %d memberships, handles have %d", s.index, walked, links)
	}
	return keyed
}

// check compares the counters with what was found.
func (k *census) check(c *checker) {
	if t := k.c; t.tracked != uint64(k.live)+t.disconnected+t.untracked+t.stale+t.exited {
		c.addf("the manager breaks the invariant: tracked %d != active %d + disconnected %d + untracked %d + stale %d + exited %d",
			t.tracked, k.live, t.disconnected, t.untracked, t.stale, t.exited)
	}
	if k.inPlayers != k.foundInPlayers {
		c.addf("the manager counts %d handles in player pools, found %d", k.inPlayers, k.foundInPlayers)
	}
}

// checkEntryLocked checks one live entry against what it can reach without
// a walk: its Handle and stamp, its pools (indexed by the shard,
// and its neighbours in each pool's list linking back to it, older before
// it and newer after), and the key index naming it as its key's holder.
// Validate and Health both use it. It takes a key index part's lock, after
// the shard's.
func (s *shard) checkEntryLocked(c *checker, slot, gen uint32, e *entry, maxSeq uint64) {
	id := s.id(slot, gen)
	if e.h == nil {
		c.addf("handle %d has no Handle", id)
	}
	if seq := e.seq.Load(); seq == 0 || seq > maxSeq {
		c.addf("handle %d has stamp %d, past the last issued %d", id, seq, maxSeq)
	}
	if p := e.player.Load(); p != nil {
		if got := s.partLocked(p.key, false); got != p {
			c.addf("handle %d is in %s, which its shard does not index", id, p.key)
		}
		if !s.playerNeighboursLocked(slot, e) {
			c.addf("handle %d has a broken link in %s", id, p.key)
		}
	}
	x := e.x.Load()
	if x == nil {
		return
	}
	for i := range x.links {
		l := &x.links[i]
		switch {
		case l.pool == nil || l.pool.key != l.key || l.slot != slot:
			c.addf("handle %d has a broken link to %s", id, l.key)
		case !s.linkNeighboursLocked(l, e.seq.Load()):
			c.addf("handle %d has a broken link in %s", id, l.key)
		default:
			if got, _ := s.parts(l.key.kind).Get(l.key.name); got != l.pool {
				c.addf("handle %d is in %s, which its shard does not index", id, l.key)
			}
			if l.pool.total == nil {
				c.addf("%s has no registry total", l.key)
			}
		}
	}
	if key := x.key(); key != "" {
		if holder := s.keys.holder(key); holder != id {
			c.addf("handle %d has key %q, which the key index gives to %d", id, key, holder)
		}
	}
}

// playerNeighboursLocked reports whether the entry in slot and its
// neighbours in its player pool link to each other in track order.
func (s *shard) playerNeighboursLocked(slot uint32, e *entry) bool {
	p := e.player.Load()
	if e.prev == 0 {
		if p.first != slot+1 {
			return false
		}
	} else if pe, _, ok := s.slots.Live(e.prev - 1); !ok || pe.player.Load() != p || pe.next != slot+1 || pe.seq.Load() >= e.seq.Load() {
		return false
	}
	next := p.nextOf(slot, e)
	if next == 0 {
		return p.last == slot+1
	}
	ne, _, ok := s.slots.Live(next - 1)
	return ok && ne.player.Load() == p && ne.prev == slot+1 && ne.seq.Load() > e.seq.Load()
}

// linkNeighboursLocked reports whether the service or tag link l of an
// entry with stamp seq and its neighbours link to each other in
// track order.
func (s *shard) linkNeighboursLocked(l *link, seq uint64) bool {
	p := l.pool
	if l.prev == nil {
		if p.head != l {
			return false
		}
	} else if pe, _, ok := s.slots.Live(l.prev.slot); !ok || l.prev.pool != p || l.prev.next != l || pe.seq.Load() >= seq {
		return false
	}
	if l.next == nil {
		return p.tail == l
	}
	ne, _, ok := s.slots.Live(l.next.slot)
	return ok && l.next.pool == p && l.next.prev == l && ne.seq.Load() > seq
}

// checkPlayerPoolLocked walks a player pool from oldest to newest and
// returns how many entries it holds.
func (s *shard) checkPlayerPoolLocked(c *checker, p *pool) int {
	n, prev, lastSeq := 0, uint32(0), uint64(0)
	for cur := p.first; cur != 0; {
		e, _, ok := s.slots.Live(cur - 1)
		switch {
		case !ok:
			c.addf("%s links free slot %d", p.key, cur-1)
		case n > int(p.n):
			c.addf("%s is longer than its count %d", p.key, p.n)
		case e.player.Load() != p || e.prev != prev:
			c.addf("%s has a broken link at slot %d", p.key, cur-1)
		default:
			if e.seq.Load() <= lastSeq {
				c.addf("%s is out of track order at slot %d", p.key, cur-1)
			}
			n, prev, lastSeq = n+1, cur, e.seq.Load()
			cur = p.nextOf(cur-1, e)
			continue
		}
		return n
	}
	if prev != p.last {
		c.addf("%s does not end at its last entry", p.key)
	}
	if p.last != 0 {
		if e := s.slots.At(p.last - 1); e.next != p.lastNext || e.seq.Load() > p.newest {
			c.addf("%s keeps %d/%d as its newest entry's next and stamp, which holds %d/%d", p.key, p.lastNext, p.newest, e.next, e.seq.Load())
		}
	}
	if n != int(p.n) || n == 0 {
		c.addf("%s counts %d handles, holds %d", p.key, p.n, n)
	}
	return n
}

// checkLinkPoolLocked walks a service or tag pool part from oldest to
// newest and returns how many entries it holds.
func (s *shard) checkLinkPoolLocked(c *checker, p *pool) int {
	n, lastSeq := 0, uint64(0)
	var prev *link
	for l := p.head; l != nil; l = l.next {
		e, _, ok := s.slots.Live(l.slot)
		switch {
		case !ok:
			c.addf("%s links free slot %d", p.key, l.slot)
			return n
		case n > int(p.n):
			c.addf("%s is longer than its count %d", p.key, p.n)
			return n
		case l.pool != p || l.prev != prev || e.x.Load() == nil:
			c.addf("%s has a broken link at slot %d", p.key, l.slot)
			return n
		}
		if e.seq.Load() <= lastSeq {
			c.addf("%s is out of track order at slot %d", p.key, l.slot)
		}
		n, prev, lastSeq = n+1, l, e.seq.Load()
	}
	if prev != p.tail {
		c.addf("%s does not end at its last entry", p.key)
	}
	if n != int(p.n) || n == 0 {
		c.addf("%s counts %d handles, holds %d", p.key, p.n, n)
	}
	if p.total == nil {
		c.addf("%s has no registry total", p.key)
	}
	return n
}
