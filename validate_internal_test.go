package connmgr

import (
	"hash/maphash"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type nopHandle struct{}

func (nopHandle) Disconnect() error { return nil }

// TestValidateNamesEveryInconsistency corrupts the internals one way at a
// time and checks that Validate notices.
func TestValidateNamesEveryInconsistency(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(m *Manager, s *shard)
		want    string
	}{
		{"a player pool count that is off", func(m *Manager, s *shard) {
			p := s.partLocked(Player("p"), false)
			p.n++
		}, "player:p counts 2 handles, holds 1"},
		{"a lost lifetime counter", func(m *Manager, s *shard) { s.c.tracked-- }, "breaks the invariant"},
		{"a registry total that is off", func(m *Manager, s *shard) {
			t, _ := m.reg.totals.Get(Service("s"))
			t.n.Add(5)
		}, "registry counts 6 handles in service:s, found 1"},
		{"a player pool the shard forgot", func(m *Manager, s *shard) {
			s.players.remove(maphash.String(s.seed, "p"), s.partLocked(Player("p"), false))
		}, "which its shard does not index"},
		{"a handle count that is off", func(m *Manager, s *shard) { s.inPlayers = 7 }, "counts 7 handles in player pools"},
		{"a newest entry's next that the pool does not know", func(m *Manager, s *shard) {
			p := s.partLocked(Player("p"), false)
			p.lastNext = 99
		}, "keeps 99/"},
	} {
		t.Run(tc.name+" is reported", func(t *testing.T) {
			m := New()
			defer func() { _ = m.Close() }()
			_, err := m.Track(Meta{Name: "h", Player: "p", Service: "s", Tags: []string{"t"}}, nopHandle{})
			require.NoError(t, err)
			require.NoError(t, m.Validate(), "a fresh manager is consistent")

			tc.corrupt(m, m.playerHome("p"))
			err = m.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "connmgr: ")
		})
	}
}

func TestEntryStaysSmall(t *testing.T) {
	// Every tracked handle costs one entry; the memory budget per handle
	// (see BENCHMARKS.md) depends on it.
	assert.LessOrEqual(t, int(unsafe.Sizeof(entry{})), 72)
}
