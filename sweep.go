package connmgr

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// Sweep removes the handles that no longer belong in the manager and
// returns how many it removed with the joined errors of their Disconnects:
//
//   - handles implementing [Liveness] whose Connected reports false are
//     dropped without calling Disconnect (counted in [Stats].Stale);
//   - handles older than their Meta.TTL are disconnected (Expired);
//   - with [WithPresence], every handle in the pool of a player who is not
//     online is disconnected (Orphaned), and the player's
//     [Manager.CleanupOnDone] registrations end.
//
// Sweep calls Connected and the presence function with no lock held, and
// walks the handles a chunk at a time, so that Track never waits long
// behind it.
func (m *Manager) Sweep() (int, error) {
	var (
		n    int
		errs []error
	)
	if online := m.cfg.presence; online != nil {
		for _, player := range m.playerNames() {
			if m.isOnline(online, player) {
				continue
			}
			m.regs.releasePool(Player(player))
			c, err := m.disconnectHeld(m.holdPool(Player(player), byPresence), nil)
			n += c
			errs = append(errs, err)
		}
	}
	now := m.now()
	for i := range m.shards {
		c, err := m.sweepShard(m.shards[i], now)
		n += c
		errs = append(errs, err)
	}
	return n, errors.Join(errs...)
}

// probe is a Liveness handle to ask outside the lock.
type probe struct {
	slot, gen uint32
	l         Liveness
}

// sweepShard takes s's expired handles out (held in place, as a cleanup
// does) and drops its stale ones, a chunk of slots per lock hold, then
// disconnects the expired, newest first.
func (m *Manager) sweepShard(s *shard, now int64) (int, error) {
	expired, stale, errs := sweepWalk(s, now)
	sortHeldNewestFirst(expired)
	n, err := m.disconnectHeld(expired, nil)
	return n + stale, errors.Join(append(errs, err)...)
}

// sweepWalk is sweepShard's walk over s: it returns the expired handles,
// held, how many stale ones it dropped, and the errors of their Connected.
func sweepWalk(s *shard, now int64) (expired []held, stale int, errs []error) {
	var probes []probe
	// The walk reads every handle's Handle, which the fast path writes
	// under a player pool's lock alone.
	s.closeFast()
	defer s.openFast()
	for from := uint32(0); ; from += chunk {
		probes = probes[:0]
		if len(expired) > 0 {
			// Room for a chunk more, made before taking the lock, so that
			// append never copies the expired handles while holding it.
			// Sweeps that find nothing expired allocate nothing.
			expired = growHeld(expired, chunk)
		}
		to, ok := s.lockChunk(from)
		if !ok {
			break
		}
		for slot := from; slot < to; slot++ {
			e, gen, ok := s.slots.Live(slot)
			if !ok {
				continue
			}
			if x := e.x.Load(); x != nil && x.ttl > 0 && now-x.created >= int64(x.ttl) {
				expired = append(expired, s.holdLocked(slot, gen, e, byExpiry))
				continue
			}
			if l, ok := e.h.(Liveness); ok {
				probes = append(probes, probe{slot, gen, l})
			}
		}
		s.mu.Unlock()

		// Connected is the user's code: ask with no lock held, then drop
		// only what is still the very handle that answered.
		dead := probes[:0]
		for _, p := range probes {
			alive, err := connected(p.l)
			if err != nil {
				errs = append(errs, fmt.Errorf("connmgr: Connected of handle %d: %w", s.id(p.slot, p.gen), err))
			}
			if !alive {
				dead = append(dead, p)
			}
		}
		if len(dead) > 0 {
			s.lock()
			for _, p := range dead {
				if e := s.slots.Get(p.slot, p.gen); e != nil {
					s.removeLocked(p.slot, p.gen, e, byStale)
					stale++
				}
			}
			s.mu.Unlock()
		}
		letWaitersIn(s)
	}
	return expired, stale, errs
}

// connected asks l whether it is still connected. A panic counts as
// connected, so that a faulty check never loses a handle.
func connected(l Liveness) (alive bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			alive, err = true, &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return l.Connected(), nil
}

// isOnline asks the presence function about player. A panic counts as
// online and goes to the error handler.
func (m *Manager) isOnline(online func(string) bool, player string) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			ok = true
			m.report(fmt.Errorf("connmgr: presence check of player %q: %w", player, &PanicError{Value: v, Stack: debug.Stack()}))
		}
	}()
	return online(player)
}

// playerNames returns the players that have a pool now.
func (m *Manager) playerNames() []string {
	var names []string
	for i := range m.shards {
		s := m.shards[i]
		s.lock()
		for name := range s.players.All() {
			names = append(names, name)
		}
		s.mu.Unlock()
	}
	return names
}

// runSweeper is the background sweeper started by WithSweepInterval. It
// stops when Shutdown closes stopSweep.
func (m *Manager) runSweeper(every time.Duration) {
	defer m.sweeper.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stopSweep:
			return
		case <-t.C:
			_, err := m.Sweep()
			m.report(err)
		}
	}
}
