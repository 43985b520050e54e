package connmgr

// The fast path: Track and Disconnect of a player's handle without the
// shard's lock.
//
// A server's commonest pair of calls is a resident player subscribing to
// something and unsubscribing again. Under the shard's lock, every such call
// would write the shard's first cache line, and with players spread over
// the shards by hash, two processors serving different players keep
// taking that line from each other: on a small machine that cost more than
// the rest of the call. So a player pool keeps the slot of its last
// removed handle parked (see pool), and a Track that can reuse it, or a
// Disconnect that can park its slot, runs under the pool's own lock alone:
// it writes only the pool, the player's entries and a stripe of the
// manager's tally, which no other processor serving another player writes.
//
// The fast path takes only what it can finish alone, and leaves the rest to
// the slow path, under the shard's lock:
//   - Track: a handle with a player and a name only (no service, tags,
//     TTL, Key or recorded callers), whose pool exists, holds a handle and
//     has a parked slot, and is under WithMaxPerPlayer's limit;
//   - Disconnect: such a handle, when its pool keeps another handle and
//     has no parked slot yet (so that the slot is parked, not freed).
//
// Everything else that changes a player pool holds the pool's lock too,
// after the shard's; and a walk over many players' handles first turns the
// fast path off in the shard (closeFastLocked). Where the clock is not
// fine-grained, stamps come from one counter anyway, and Track's fast path
// is off for good (Disconnect's stamps nothing).

// trackFast tracks h, with meta (a player and a name only), in player's
// pool in s, if it can; ok is false when it did nothing, and Track must
// take the slow path. hash is the maphash of the player.
func (m *Manager) trackFast(s *shard, hash uint64, meta *Meta, h Handle) (id ID, ok bool) {
	p := s.players.peek(hash, meta.Player)
	if p == nil {
		return 0, false
	}
	p.mu.Lock()
	// p.n == 0: dropped, or not yet holding its first handle.
	if p.spare == 0 || p.n == 0 || s.fastOff.Load() != 0 || m.closed.Load() ||
		(m.cfg.maxPerPlayer > 0 && int(p.n) >= m.cfg.maxPerPlayer) {
		p.mu.Unlock()
		return 0, false
	}
	// The clock is read here, under the lock, rather than before it as the
	// slow path does: BenchmarkTrackDisconnect measured the pair about
	// 7 ns faster so (the clock read waits for the instructions before it
	// to finish, and most likely has less to wait for here). A stamp read
	// under the lock is no later than the lock's release, as stamp.go
	// asks.
	created := m.now()
	slot := p.spare - 1
	p.spare = 0
	gen, e := s.slots.Unpark(slot)
	e.set(h, meta.Name, nil, max(uint64(created), p.newestStamp()+1))
	p.pushSlot(s, slot, e) // the parked entry is still p's (entry.park)
	s.slots.Publish(slot)
	// Counted before the pool's lock is let go: a walk that finds the
	// handle has taken that lock since (closeFastLocked), and so sees the
	// count too, and Health and Validate compare the two.
	m.tally.countTracked()
	p.mu.Unlock()
	return s.id(slot, gen), true
}

// disconnectFast removes the handle in slot at gen of s, if it can, and
// returns it for Disconnect to disconnect; ok is false when it did
// nothing, and Disconnect must take the slow path.
func (m *Manager) disconnectFast(s *shard, slot, gen uint32) (d detached, ok bool) {
	e := s.slots.Peek(slot, gen)
	if e == nil {
		return d, false
	}
	p := e.player.Load()
	if p == nil || e.x.Load() != nil {
		return d, false
	}
	p.mu.Lock()
	// Under the pool's lock the handle is p's for as long as its slot
	// holds generation gen: only p's lock holders remove p's handles.
	if e.gen.Load() != gen || e.player.Load() != p || e.x.Load() != nil ||
		p.n < 2 || p.spare != 0 || s.fastOff.Load() != 0 || !s.slots.Park(slot) {
		p.mu.Unlock()
		return d, false
	}
	// Written out rather than shared with removeLocked: a shared helper
	// is past the inlining budget, and the call cost the pair about 10 ns.
	d = detached{h: e.h, id: s.id(slot, gen), seq: e.seq.Load(), created: e.created(), name: e.name(), player: p.key.name}
	p.unlinkSlot(s, slot, e)
	p.spare = slot + 1
	e.park()
	m.tally.countDisconnected() // under the lock, as in trackFast
	p.mu.Unlock()
	return d, true
}
