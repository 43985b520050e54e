package connmgr_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

func TestStatsCountsEveryPath(t *testing.T) {
	j := newJournal()
	m := connmgr.New(connmgr.WithPresence(func(p string) bool { return p != "offline" }))
	track := func(meta connmgr.Meta, h connmgr.Handle) connmgr.ID {
		id, err := m.Track(meta, h)
		require.NoError(t, err)
		return id
	}
	a := track(connmgr.Meta{Player: "p1", Service: "s", Tags: []string{"t"}}, j.spy("a"))
	track(connmgr.Meta{Player: "p1"}, j.spy("b"))
	untracked := track(connmgr.Meta{Player: "p2"}, j.spy("c"))
	stale := j.spy("stale")
	track(connmgr.Meta{Player: "p2"}, stale)
	track(connmgr.Meta{Player: "offline"}, j.spy("orphan"))
	track(connmgr.Meta{Service: "s", TTL: time.Nanosecond}, j.spy("expired"))
	failing := j.spy("failing")
	failing.err = errors.New("boom")
	track(connmgr.Meta{Tags: []string{"t"}}, failing)
	_, _ = m.Track(connmgr.Meta{Tags: []string{""}}, j.spy("rejected"))

	st := m.Stats()
	assert.Equal(t, 7, st.Active)
	assert.Equal(t, 3, st.PlayerPools)
	assert.Equal(t, 1, st.ServicePools)
	assert.Equal(t, 1, st.TagPools)
	assert.InDelta(t, 5.0/3, st.AvgPerPlayer, 1e-9, "5 handles in 3 player pools")

	require.NoError(t, m.Disconnect(a))
	handedBack, ok := m.Untrack(untracked)
	require.True(t, ok)
	defer func() { _ = handedBack.Disconnect() }()
	stale.alive.Store(false)
	time.Sleep(time.Millisecond)
	_, err := m.Sweep()
	require.NoError(t, err)
	_, err = m.CleanupTag("t")
	require.Error(t, err)

	st = m.Stats()
	assert.Equal(t, connmgr.Stats{
		Active:       1, // b
		PlayerPools:  1,
		AvgPerPlayer: 1,
		Tracked:      7,
		Disconnected: 4, // a, orphan, expired, failing
		Untracked:    1,
		Stale:        1,
		Expired:      1,
		Orphaned:     1,
		Rejected:     1,
		Failed:       1,
		Panics:       0,
		MemoryBytes:  st.MemoryBytes,
	}, st)
	assert.True(t, invariantHolds(st), "Tracked == Active + Disconnected + Untracked + Stale + Exited")
	assert.NotZero(t, st.MemoryBytes)
	require.NoError(t, m.Close())
	assert.True(t, invariantHolds(m.Stats()))
	require.NoError(t, m.Validate())
}

func TestStatsIsASnapshotThatDoesNotAllocate(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	for range 10_000 {
		_, _ = m.TrackPlayer("p", "h", nop{})
	}
	allocs := testing.AllocsPerRun(100, func() { _ = m.Stats() })
	assert.Zero(t, allocs, "Stats sums counters: no walk, no allocation")
}

func TestMemoryEstimateFollowsTheHandles(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	empty := m.Stats().MemoryBytes
	for range 10_000 {
		_, _ = m.TrackPlayer("p", "h", nop{})
	}
	full := m.Stats().MemoryBytes
	assert.Greater(t, full, empty+10_000*32, "10k handles cost at least 32 bytes each, on any architecture")
	assert.Less(t, full, empty+10_000*128, "and not more than 128 each")
	_, _ = m.CleanupAll()
	assert.Equal(t, empty, m.Stats().MemoryBytes, "memory is given back after cleanup")
}
