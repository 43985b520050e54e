package connmgr

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTheKeyIndexGivesMemoryBack(t *testing.T) {
	m := New()
	defer m.Close()
	empty := m.Stats().MemoryBytes
	const n = 50_000
	for i := range n {
		_, err := m.Track(Meta{Player: fmt.Sprint("p", i%100), Key: fmt.Sprint("k", i)}, Func(func() {}))
		require.NoError(t, err)
	}
	peak := 0
	for i := range m.keys.parts {
		peak += m.keys.parts[i].ids.Peak()
	}
	require.GreaterOrEqual(t, peak, n, "the index held every key")
	assert.Greater(t, m.Stats().MemoryBytes, empty+n*keyBytes, "MemoryBytes counts the keys")

	_, err := m.CleanupAll()
	require.NoError(t, err)
	peak = 0
	for i := range m.keys.parts {
		peak += m.keys.parts[i].ids.Peak()
	}
	assert.Less(t, peak, n/8, "emptied parts were rebuilt small (shrinkmap)")
	assert.Equal(t, empty, m.Stats().MemoryBytes, "and the estimate is back where it started")
	require.NoError(t, m.Validate())
}

// TestLookupKeyWaitsForAKeyedTrackInFlight stops a keyed Track where
// trackKeyed has pointed the key at the new handle but not yet published
// it, its shard's lock held. LookupKey must wait for that lock, not spin on
// a Lookup that takes none, and then find the handle.
func TestLookupKeyWaitsForAKeyedTrackInFlight(t *testing.T) {
	m := New()
	defer m.Close()
	meta := Meta{Name: "n", Player: "p", Key: "k"}
	s, hash := m.home(&meta)
	s.lock()
	slot, gen, e, p, err := m.admitLocked(s, meta.Player, nil)
	require.NoError(t, err)
	id := s.id(slot, gen)
	kp := m.keys.part(meta.Key)
	kp.mu.Lock()
	kp.ids.Set(meta.Key, id)
	m.keys.n.Add(1)
	kp.mu.Unlock()

	got := make(chan Info, 1)
	go func() {
		info, _ := m.LookupKey(meta.Key)
		got <- info
	}()
	// assert, not require: the lock must be let go whatever happens.
	assert.Eventually(t, func() bool { return s.waiting.Load() == 1 }, 5*time.Second, time.Millisecond,
		"LookupKey waits for the shard's lock")

	x := newExtraMore(&meta, false)
	x.created = m.now()
	e.set(Func(func() {}), meta.Name, x, m.stampLocked(s, p, x.created))
	s.insertLocked(slot, e, p, meta.Player, hash)
	p.unlock()
	s.mu.Unlock()
	select {
	case info := <-got:
		assert.Equal(t, id, info.ID, "and then finds the handle the Track published")
	case <-time.After(5 * time.Second):
		t.Fatal("LookupKey did not return")
	}
	require.NoError(t, m.Validate())
}
