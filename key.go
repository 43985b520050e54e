package connmgr

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/connmgr/connmgr/internal/shrinkmap"
)

// Keyed handles.
//
// A handle tracked with a non-empty Meta.Key is the key's holder until it
// leaves the manager by any path. The key index maps each key to the ID of
// its holder. It is split into parts by a hash of the key, each with its
// own mutex, so that keys of different players rarely contend.
//
// Lock order: a shard's mutex, then a key index part's mutex, never the
// reverse; nothing holds two key index parts at once, and the key index and
// the registry are never held together. A keyed Track may hold two shard
// mutexes (the new handle's home and the old holder's); it takes them in
// ascending shard order, as Validate does.
//
// Invariant, visible to anyone holding a shard's mutex: a live keyed entry
// of that shard is the holder its key index part names. The index changes
// only while the shards of both the old and the new holder are locked.

// keyIndex maps every key in use to its holder.
type keyIndex struct {
	n     atomic.Int64 // keys in use, for Stats.MemoryBytes and Validate
	parts []keyPart
	mask  uint64
	seed  maphash.Seed
}

// keyPart is one part of the key index.
type keyPart struct {
	mu  sync.Mutex // guards ids
	ids shrinkmap.Map[string, ID]

	_ [40]byte // keeps neighbouring parts' mutexes off one cache line
}

// keyBytes estimates the memory of one key in the index: a map slot with
// its string header and ID.
const keyBytes = 48

// init makes n parts (a power of two).
func (ki *keyIndex) init(n int, seed maphash.Seed) {
	ki.parts = make([]keyPart, n)
	ki.mask = uint64(n - 1)
	ki.seed = seed
}

// part returns the part that holds key.
func (ki *keyIndex) part(key string) *keyPart {
	return &ki.parts[maphash.String(ki.seed, key)&ki.mask]
}

// holder returns the ID of key's holder, 0 when the key is free.
func (ki *keyIndex) holder(key string) ID {
	kp := ki.part(key)
	kp.mu.Lock()
	id, _ := kp.ids.Get(key)
	kp.mu.Unlock()
	return id
}

// held counts the keys in the index, one O(1) lock hold per part.
func (ki *keyIndex) held() int {
	n := 0
	for i := range ki.parts {
		kp := &ki.parts[i]
		kp.mu.Lock()
		n += kp.ids.Len()
		kp.mu.Unlock()
	}
	return n
}

// release frees key if id still holds it. A replaced holder no longer
// does, so its removal leaves the key to its successor: removal by
// identity, never by key alone. The caller holds the shard lock of id.
func (ki *keyIndex) release(key string, id ID) {
	kp := ki.part(key)
	kp.mu.Lock()
	if cur, ok := kp.ids.Get(key); ok && cur == id {
		kp.ids.Delete(key)
		ki.n.Add(-1)
	}
	kp.mu.Unlock()
}

// trackKeyed is track for a handle with a Key. In one hold of the shard
// locks of the new handle and of the key's current holder, it checks that
// the new handle is admitted (a refusal leaves the holder alone; the
// holder's pool place is not counted against the player limit), points the
// key at the new handle, detaches the old holder and inserts the new one.
// The old holder is returned for the caller to disconnect with no lock held.
func (m *Manager) trackKeyed(meta *Meta, h Handle, x *extra, created int64) (ID, *detached, error) {
	key := meta.Key
	s, hash := m.home(meta)
	kp := m.keys.part(key)
	for {
		prevID := m.keys.holder(key)
		var (
			ps          *shard
			pslot, pgen uint32
			prev        *entry
		)
		if prevID != 0 {
			ps, pslot, pgen = m.locate(prevID)
		}
		unlock := lockPair(s, ps)
		if prevID != 0 {
			// A keyed handle has an extra part, so the fast path leaves
			// it alone: it is live as long as the shard's lock is held.
			if prev = ps.slots.Get(pslot, pgen); prev == nil {
				// The holder left between the look-up and the locks; its
				// removal freed the key or handed it on. Look again.
				unlock()
				continue
			}
		}
		kp.mu.Lock()
		if cur, _ := kp.ids.Get(key); cur != prevID {
			// A concurrent Track took the free key first.
			kp.mu.Unlock()
			unlock()
			continue
		}
		var leaving *pool
		if prev != nil && ps == s {
			leaving = prev.player.Load()
		}
		slot, gen, e, p, err := m.admitLocked(s, meta.Player, leaving)
		if err != nil {
			kp.mu.Unlock()
			unlock()
			return 0, nil, err
		}
		id := s.id(slot, gen)
		kp.ids.Set(key, id)
		if prevID == 0 {
			m.keys.n.Add(1)
		}
		kp.mu.Unlock()

		var old *detached
		if prev != nil {
			// The key already names the new handle, so this removal leaves
			// it alone. It needs the lock of the old holder's player pool,
			// unless that is p, locked already. (Holding two pool locks
			// cannot deadlock: whoever else takes two holds both shards.)
			pp := prev.player.Load()
			if pp != p {
				pp.lock()
			}
			d := ps.removeLocked(pslot, pgen, prev, byDisconnect)
			if pp != p {
				pp.unlock()
			}
			old = &d
		}
		if p != nil && p.n == 0 {
			// Removing the old holder emptied and dropped the player's
			// pool: insertLocked makes a new one.
			p.unlock()
			p = nil
		}
		e.set(h, meta.Name, x, m.stampLocked(s, p, created))
		s.insertLocked(slot, e, p, meta.Player, hash)
		p.unlock()
		unlock()
		return id, old, nil
	}
}

// lockPair locks a, and b too when it is another shard, in ascending shard
// order, and returns the function that unlocks them.
func lockPair(a, b *shard) (unlock func()) {
	switch {
	case b == nil || b == a:
		a.lock()
		return a.mu.Unlock
	case a.index < b.index:
		a.lock()
		b.lock()
	default:
		b.lock()
		a.lock()
	}
	return func() {
		a.mu.Unlock()
		b.mu.Unlock()
	}
}

// replaced disconnects a key holder that a Track replaced, with no lock
// held, and hands the error of its Disconnect to the error handler: the
// Track itself succeeded.
func (m *Manager) replaced(old *detached) {
	m.report(m.disconnect(old))
}

// DisconnectKey disconnects the handle that holds key, as
// [Manager.Disconnect] of its ID would, in O(1). It returns [ErrNotFound]
// when no live handle holds key (and for the empty key), and a
// *[DisconnectError] when the Disconnect fails or panics.
func (m *Manager) DisconnectKey(key string) error {
	if key == "" {
		return ErrNotFound
	}
	for {
		id := m.keys.holder(key)
		if id == 0 {
			return ErrNotFound
		}
		// Disconnect returns the sentinel itself; a DisconnectError that
		// wraps ErrNotFound (from a handle's own Disconnect) is a result.
		if err := m.Disconnect(id); err != ErrNotFound {
			return err
		}
		// The holder left or was replaced after the look-up: ask again.
	}
}

// LookupKey returns what is known of the handle that holds key, in O(1). It
// reports false when no live handle holds key, and for the empty key.
func (m *Manager) LookupKey(key string) (Info, bool) {
	if key == "" {
		return Info{}, false
	}
	for {
		id := m.keys.holder(key)
		if id == 0 {
			return Info{}, false
		}
		if info, ok := m.Lookup(id); ok {
			return info, true
		}
		// The holder left, or the Track that made it the holder has not
		// published it yet: that Track holds the shard's lock, so wait for
		// the lock (Lookup takes none) rather than spin, then ask again.
		s, _, _ := m.locate(id)
		s.lock()
		s.mu.Unlock()
	}
}
