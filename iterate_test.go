package connmgr_test

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

// collect returns the IDs a walk yields, in order.
func collect(seq func(func(connmgr.Info) bool)) []connmgr.ID {
	var ids []connmgr.ID
	for info := range seq {
		ids = append(ids, info.ID)
	}
	return ids
}

func TestHandlesAndAllWalkNewestFirst(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	var all, player, service, tag []connmgr.ID
	for i := range 1500 { // several chunks in one shard, and handles in every shard
		meta := connmgr.Meta{Name: fmt.Sprint(i), Player: fmt.Sprint("p", i%31), Service: "s", Tags: []string{"t"}}
		switch {
		case i%3 == 0:
			meta.Player = "big"
		case i%3 == 1:
			meta.Service = ""
		case i%5 == 0:
			meta.Player, meta.Service, meta.Tags = "", "", nil // in no pool at all
		}
		id, err := m.Track(meta, nop{})
		require.NoError(t, err)
		all = append([]connmgr.ID{id}, all...)
		if meta.Player == "big" {
			player = append([]connmgr.ID{id}, player...)
		}
		if meta.Service == "s" {
			service = append([]connmgr.ID{id}, service...)
		}
		if len(meta.Tags) > 0 {
			tag = append([]connmgr.ID{id}, tag...)
		}
	}
	assert.Equal(t, player, collect(m.Handles(connmgr.Player("big"))), "a player pool, newest first")
	assert.Equal(t, service, collect(m.Handles(connmgr.Service("s"))), "a service pool across shards, newest first")
	assert.Equal(t, tag, collect(m.Handles(connmgr.Tag("t"))), "a tag pool, newest first")
	assert.Equal(t, all, collect(m.All()), "every handle, newest first")

	assert.Empty(t, collect(m.Handles(connmgr.Pool{})), "the zero Pool yields nothing")
	assert.Empty(t, collect(m.Handles(connmgr.Player(""))), "nor does an empty name")
	assert.Empty(t, collect(m.Handles(connmgr.Player("nobody"))))
}

func TestHandlesYieldsFullInfos(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	id, _ := m.Track(connmgr.Meta{Name: "n", Player: "p", Service: "s", Tags: []string{"a", "b"}, Key: "k"}, nop{})
	want, _ := m.Lookup(id)
	for _, seq := range []func(func(connmgr.Info) bool){m.Handles(connmgr.Tag("b")), m.All()} {
		var got []connmgr.Info
		for info := range seq {
			got = append(got, info)
		}
		assert.Equal(t, []connmgr.Info{want}, got, "a walk yields what Lookup says")
	}
}

func TestTheLoopBodyMayCallAnyManagerMethod(t *testing.T) {
	for _, tc := range []struct {
		name string
		walk func(m *connmgr.Manager) func(func(connmgr.Info) bool)
	}{
		{"Handles", func(m *connmgr.Manager) func(func(connmgr.Info) bool) { return m.Handles(connmgr.Service("s")) }},
		{"All", func(m *connmgr.Manager) func(func(connmgr.Info) bool) { return m.All() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := connmgr.New()
			defer m.Close()
			for i := range 1000 { // two players: two shards, several chunks each
				_, err := m.Track(connmgr.Meta{Player: fmt.Sprint("p", i%2), Service: "s"}, nop{})
				require.NoError(t, err)
			}
			seen := map[connmgr.ID]bool{}
			for info := range tc.walk(m) {
				require.False(t, seen[info.ID], "no handle is yielded twice")
				seen[info.ID] = true
				// Every lock must be free here: Validate takes them all.
				if len(seen)%50 == 0 {
					require.NoError(t, m.Validate())
				}
				_ = m.Stats()
				require.NoError(t, m.Disconnect(info.ID))
				_, err := m.Track(connmgr.Meta{Player: info.Player, Service: "s"}, nop{})
				require.NoError(t, err)
			}
			assert.Len(t, seen, 1000, "every handle live for the whole walk is yielded")
			assert.Equal(t, 1000, m.Stats().Active)
		})
	}
}

func TestBreakingOutOfAWalkIsFine(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	for i := range 600 {
		m.Track(connmgr.Meta{Player: "p", Service: "s"}, nop{})
		_ = i
	}
	for _, seq := range []func(func(connmgr.Info) bool){m.Handles(connmgr.Player("p")), m.Handles(connmgr.Service("s")), m.All()} {
		n := 0
		for range seq {
			n++
			if n == 3 {
				break
			}
		}
		assert.Equal(t, 3, n)
	}
	// The manager is usable afterwards: no lock was left held.
	_, err := m.CleanupAll()
	require.NoError(t, err)
}

func TestWalksUnderConcurrentChangeYieldNothingTwiceAndMissNoSurvivor(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	var survivors []connmgr.ID // live for the whole test
	for i := range 2000 {
		id, err := m.Track(connmgr.Meta{Player: fmt.Sprint("p", i%3), Service: "s"}, nop{})
		require.NoError(t, err)
		if i%4 == 0 {
			survivors = append(survivors, id)
		}
	}
	var churn []connmgr.ID // the rest: removed during the walks, while new ones come
	for info := range m.All() {
		if !slices.Contains(survivors, info.ID) {
			churn = append(churn, info.ID)
		}
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			if i < len(churn) {
				m.Disconnect(churn[i])
			}
			m.Track(connmgr.Meta{Player: fmt.Sprint("p", i%3), Service: "s"}, nop{})
		}
	}()
	for _, tc := range []struct {
		name string
		seq  func(func(connmgr.Info) bool)
		want int // survivors the walk must yield
	}{
		{"Handles of a player", m.Handles(connmgr.Player("p0")), countIn(m, survivors, "p0")},
		{"Handles of a service", m.Handles(connmgr.Service("s")), len(survivors)},
		{"All", m.All(), len(survivors)},
	} {
		seen := map[connmgr.ID]bool{}
		found := 0
		for info := range tc.seq {
			require.False(t, seen[info.ID], "%s: no handle is yielded twice", tc.name)
			seen[info.ID] = true
			if slices.Contains(survivors, info.ID) {
				found++
			}
		}
		assert.Equal(t, tc.want, found, "%s: every handle live for the whole walk is yielded", tc.name)
	}
	stop.Store(true)
	wg.Wait()
	require.NoError(t, m.Validate())
}

// countIn counts the ids in player's pool.
func countIn(m *connmgr.Manager, ids []connmgr.ID, player string) int {
	n := 0
	for _, id := range ids {
		if info, ok := m.Lookup(id); ok && info.Player == player {
			n++
		}
	}
	return n
}
