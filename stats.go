package connmgr

import (
	"unsafe"
)

// Stats is a snapshot of a Manager, for dashboards and health checks. It
// is kept incrementally, so taking it costs the same with a million handles
// as with ten. Whenever no call is in flight,
//
//	Tracked == Active + Disconnected + Untracked + Stale + Exited
type Stats struct {
	Active                              int     // handles tracked now
	PlayerPools, ServicePools, TagPools int     // non-empty pools now
	AvgPerPlayer                        float64 // handles in player pools / PlayerPools (0 when none)

	// lifetime counters since New
	Tracked      uint64 // handles accepted by Track
	Disconnected uint64 // Disconnect calls the manager made on tracked handles (any path)
	Untracked    uint64 // handed back by Untrack
	Stale        uint64 // dropped by Sweep because Connected() reported false (Disconnect not called)
	Expired      uint64 // disconnected by Sweep because their TTL passed (also counted in Disconnected)
	Orphaned     uint64 // disconnected by Sweep because their player was offline (also counted in Disconnected)
	Rejected     uint64 // refused by Track and disconnected at once (not counted in Tracked)
	Failed       uint64 // Disconnect calls that returned an error or panicked
	Panics       uint64 // of Failed, those that panicked
	Exited       uint64 // goroutines started with Go that returned on their own, panics included (handles replaced by Key count in Disconnected)
	MemoryBytes  uint64 // estimate of the manager's own memory
}

// Sizes for the memory estimate: a pool part with its map slot, a
// registry total with its map slot, a CleanupOnDone registration with the
// context's bookkeeping.
const (
	poolBytes         = int(unsafe.Sizeof(pool{})) + 48
	totalBytes        = int(unsafe.Sizeof(poolTotal{})) + 48
	registrationBytes = int(unsafe.Sizeof(registration{})) + 96
)

// activeOf returns the handles tracked now by the lifetime counters of st:
// the invariant, solved for Active. While calls are in flight, the counters
// may be read a call apart, so it never reports fewer than none.
func activeOf(st *Stats) int {
	return max(0, int(int64(st.Tracked-st.Disconnected-st.Untracked-st.Stale-st.Exited)))
}

// census holds what the manager's counters say, summed over the shards and
// the tally, for Stats; and what a walk found, for Health's and
// Validate's checks of the Stats invariant and of the count of handles in
// player pools (census.check). The fast path counts in the tally, not in
// any shard, so these hold for the manager as a whole, not shard by shard.
type census struct {
	c                    counters // the lifetime counters
	inPlayers            int      // the count of handles in player pools
	live, foundInPlayers int      // found: live handles, and those in a player pool
}

// addShardLocked adds the counters of s.
func (k *census) addShardLocked(s *shard) {
	k.c.tracked += s.c.tracked
	k.c.disconnected += s.c.disconnected
	k.c.untracked += s.c.untracked
	k.c.stale += s.c.stale
	k.c.exited += s.c.exited
	k.inPlayers += int(s.inPlayers)
}

// addTally adds the fast path's counts. The handles it tracks and removes
// are all in player pools.
func (k *census) addTally(t *tally) {
	tracked, disconnected := t.sum()
	k.c.tracked += tracked
	k.c.disconnected += disconnected
	k.inPlayers += int(int64(tracked - disconnected))
}

// Stats returns a snapshot of the manager's counters. Its cost does not
// grow with the number of handles: it sums a few counters per shard.
func (m *Manager) Stats() Stats {
	var (
		st  Stats
		k   census
		mem = int(unsafe.Sizeof(*m)) + len(m.shards)*int(unsafe.Sizeof(shard{}))
	)
	for i := range m.shards {
		s := m.shards[i]
		s.lock()
		k.addShardLocked(s)
		st.PlayerPools += s.players.Len()
		st.Expired += s.swept.expired
		st.Orphaned += s.swept.orphaned
		mem += s.slots.Pages()*int(s.slots.PageBytes()) + s.extraBytes +
			(s.players.Len()+s.services.Len()+s.tags.Len())*poolBytes
		s.mu.Unlock()
	}
	k.addTally(&m.tally)
	st.Tracked, st.Disconnected, st.Untracked = k.c.tracked, k.c.disconnected, k.c.untracked
	st.Stale, st.Exited = k.c.stale, k.c.exited
	st.Active = activeOf(&st)

	m.reg.mu.Lock()
	st.ServicePools = m.reg.pools[serviceKind]
	st.TagPools = m.reg.pools[tagKind]
	mem += m.reg.totals.Len() * totalBytes
	m.reg.mu.Unlock()
	mem += int(m.regs.n.Load()) * registrationBytes
	mem += int(m.keys.n.Load())*keyBytes + len(m.keys.parts)*int(unsafe.Sizeof(keyPart{}))

	if st.PlayerPools > 0 {
		st.AvgPerPlayer = float64(k.inPlayers) / float64(st.PlayerPools)
	}
	st.Rejected = m.rejected.Load()
	st.Failed = m.failed.Load()
	st.Panics = m.panics.Load()
	st.MemoryBytes = uint64(mem)
	return st
}
