package connmgr

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// corrupted builds a small manager, breaks it with corrupt and checks
// that Validate and Health both name the damage; then undoes it so that
// Close works.
func corrupted(t *testing.T, want string, corrupt func(m *Manager, ids []ID) (undo func())) {
	t.Helper()
	m := New()
	defer m.Close()
	var ids []ID
	for i := range 6 {
		meta := Meta{Name: fmt.Sprint(i), Player: "p", Service: "s", Tags: []string{"t"}}
		if i == 0 {
			meta.Key = "k"
		}
		id, err := m.Track(meta, Func(func() {}))
		require.NoError(t, err)
		ids = append(ids, id)
	}
	require.NoError(t, m.Validate())
	require.Empty(t, m.Health(3).Problems)

	undo := corrupt(m, ids)
	err := m.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), want, "Validate names the damage")
	problems := m.Health(3).Problems
	assert.True(t, containsLine(problems, want), "Health names the damage: %q not in %q", want, problems)
	undo()
	require.NoError(t, m.Validate())
}

func containsLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// entryOf returns the shard and the live entry of id.
func entryOf(m *Manager, id ID) (*shard, *entry) {
	s, slot, gen := m.locate(id)
	return s, s.slots.Get(slot, gen)
}

func TestHealthAndValidateFindTheSameDamage(t *testing.T) {
	t.Run("a counter off by one breaks the invariant", func(t *testing.T) {
		corrupted(t, "breaks the invariant", func(m *Manager, ids []ID) func() {
			s, _ := entryOf(m, ids[0])
			s.c.tracked++
			return func() { s.c.tracked-- }
		})
	})
	t.Run("an exit counted without a removal breaks the invariant", func(t *testing.T) {
		corrupted(t, "exited 1", func(m *Manager, ids []ID) func() {
			s, _ := entryOf(m, ids[0])
			s.c.exited++
			return func() { s.c.exited-- }
		})
	})
	t.Run("a broken player list", func(t *testing.T) {
		corrupted(t, "broken link in player:p", func(m *Manager, ids []ID) func() {
			_, e := entryOf(m, ids[2])
			old := e.next
			e.next = 0
			return func() { e.next = old }
		})
	})
	t.Run("a broken service list", func(t *testing.T) {
		corrupted(t, "broken link in service:s", func(m *Manager, ids []ID) func() {
			_, e := entryOf(m, ids[3])
			l := &e.x.Load().links[0]
			old := l.prev
			l.prev = nil
			return func() { l.prev = old }
		})
	})
	t.Run("a pool count that does not match its members", func(t *testing.T) {
		corrupted(t, "player:p counts 7 handles, holds 6", func(m *Manager, ids []ID) func() {
			_, e := entryOf(m, ids[0])
			e.player.Load().n++
			return func() { e.player.Load().n-- }
		})
	})
	t.Run("a registry total that does not match", func(t *testing.T) {
		corrupted(t, "registry counts 7 handles in tag:t, found 6", func(m *Manager, ids []ID) func() {
			_, e := entryOf(m, ids[0])
			total := e.x.Load().links[1].pool.total
			total.n.Add(1)
			return func() { total.n.Add(-1) }
		})
	})
	t.Run("a key index that names another handle", func(t *testing.T) {
		corrupted(t, `has key "k", which the key index gives to`, func(m *Manager, ids []ID) func() {
			kp := m.keys.part("k")
			kp.ids.Set("k", ids[1])
			return func() { kp.ids.Set("k", ids[0]) }
		})
	})
	t.Run("a key index that holds a key nobody has", func(t *testing.T) {
		corrupted(t, "key index holds 2 keys, 1 handles have one", func(m *Manager, ids []ID) func() {
			kp := m.keys.part("ghost")
			kp.ids.Set("ghost", ids[1])
			m.keys.n.Add(1)
			return func() {
				kp.ids.Delete("ghost")
				m.keys.n.Add(-1)
			}
		})
	})
}

func TestHealthHoldsEachLockForOneChunk(t *testing.T) {
	m := New()
	defer m.Close()
	const n = 20_000
	for range n {
		_, err := m.Track(Meta{Player: "one-shard", Service: "s"}, Func(func() {}))
		require.NoError(t, err)
	}
	holds, maxSlots := 0, 0
	var maxHeld time.Duration
	testHookHold = func(slots int, held time.Duration) {
		holds++
		maxSlots = max(maxSlots, slots)
		maxHeld = max(maxHeld, held)
		// Between chunks no lock is held: a Track into the shard being
		// walked goes through.
		_, err := m.Track(Meta{Player: "one-shard"}, Func(func() {}))
		require.NoError(t, err)
	}
	defer func() { testHookHold = nil }()

	h := m.Health(3)
	assert.LessOrEqual(t, maxSlots, chunk, "each lock hold covers at most one chunk of slots")
	assert.GreaterOrEqual(t, holds, n/chunk, "so a big shard takes many holds")
	assert.Equal(t, []PoolCount{{Service("s"), n}}, h.TopServices, "tracks during the walk do not disturb the report")
	t.Logf("%d holds, longest %v", holds, maxHeld)
}
