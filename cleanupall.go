package connmgr

import (
	"cmp"
	"errors"
	"slices"
)

// CleanupAll disconnects every handle tracked before the call, newest first,
// and ends every [Manager.CleanupOnDone] registration. Unlike Shutdown it
// leaves the manager open. It returns the count and errors as
// [Manager.Cleanup] does.
func (m *Manager) CleanupAll() (int, error) {
	m.regs.releaseAll(false)
	return m.disconnectHeld(m.holdAll(m.stampBound(), byDisconnect), nil)
}

// held is a handle taken out of the manager whose entry still sits in its
// slot (see shard.holdLocked): the 24 bytes that CleanupAll and Shutdown
// keep per handle between detaching everything and disconnecting it.
// Copying whole entries out instead would allocate around 100 MB for a
// million handles, enough to start the garbage collector, whose work on a
// small machine delays every other goroutine, Tracks included.
type held struct {
	seq uint64
	e   *entry // in its held slot: written by no one until released
	id  ID
}

// holdAll takes every handle tracked at or before bound out of the manager,
// counting each removal as why, and returns them newest first. It walks each
// shard's slots a chunk at a time, so that no lock is held for long.
func (m *Manager) holdAll(bound uint64, why reason) []held {
	// Under the lock, hold into a small buffer that stays in cache, and
	// copy it to out after unlocking: growing out, or writing to its
	// freshly mapped pages for the first time, costs page faults and
	// copies that a concurrent Track must not wait for.
	out := make([]held, 0, m.active())
	buf := make([]held, 0, chunk)
	for i := range m.shards {
		s := m.shards[i]
		s.closeFast()
		for from := uint32(0); ; from += chunk {
			buf = buf[:0]
			to, ok := s.lockChunk(from)
			if !ok {
				break
			}
			for slot := from; slot < to; slot++ {
				if e, gen, ok := s.slots.Live(slot); ok && e.seq.Load() <= bound {
					buf = append(buf, s.holdLocked(slot, gen, e, why))
				}
			}
			s.mu.Unlock()
			out = append(out, buf...)
			letWaitersIn(s)
		}
		s.openFast()
	}
	sortHeldNewestFirst(out)
	return out
}

// disconnectHeld disconnects hs in order, calling each (if not nil) after
// every handle, and releases their slots a chunk at a time. It returns how
// many there were with one *[DisconnectError] per failure joined.
func (m *Manager) disconnectHeld(hs []held, each func()) (n int, err error) {
	var errs []error
	released := 0
	// Should a Disconnect end the goroutine (runtime.Goexit), still give
	// the slots back, so that their pages are not pinned for good.
	defer func() { m.releaseHeld(hs[released:]) }()
	for released < len(hs) {
		batch := hs[released:min(released+chunk, len(hs))]
		for i := range batch {
			if err := m.call(batch[i].e.h); err != nil {
				errs = append(errs, &DisconnectError{Info: m.heldInfo(&batch[i]), Err: err})
			}
			if each != nil {
				each()
			}
		}
		m.releaseHeld(batch)
		released += len(batch)
	}
	return len(hs), errors.Join(errs...)
}

// releaseHeld frees the slots of hs, taking each shard's lock once per
// chunk of hs.
func (m *Manager) releaseHeld(hs []held) {
	var buf [chunk]ID
	for len(hs) > 0 {
		ids := buf[:0]
		for _, h := range hs[:min(chunk, len(hs))] {
			// The holder alone writes a held entry, so it clears it
			// without the lock; the slot's generation moved on at Hold.
			h.e.clear()
			ids = append(ids, h.id)
		}
		hs = hs[len(ids):]
		shardOf := func(id ID) uint64 { return uint64(id) & m.mask }
		slices.SortFunc(ids, func(a, b ID) int { return cmp.Compare(shardOf(a), shardOf(b)) })
		for len(ids) > 0 {
			run := 1
			for run < len(ids) && shardOf(ids[run]) == shardOf(ids[0]) {
				run++
			}
			s, _, _ := m.locate(ids[0])
			s.lock()
			for _, id := range ids[:run] {
				s.releaseLocked(id)
			}
			s.mu.Unlock()
			letWaitersIn(s)
			ids = ids[run:]
		}
	}
}

// heldInfo describes a held handle.
func (m *Manager) heldInfo(h *held) Info {
	e := h.e
	v := view{id: h.id, seq: e.seq.Load(), created: e.created(), name: e.name(), x: e.x.Load()}
	if p := e.player.Load(); p != nil {
		v.player = p.key.name
	}
	return m.info(&v)
}
