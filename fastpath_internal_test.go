package connmgr

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// residentPlayer tracks two handles for player and one more that it
// disconnects at once, so that the player's pool holds handles and keeps a
// parked slot: what the fast path needs.
func residentPlayer(t *testing.T, m *Manager, player string) {
	t.Helper()
	for range 2 {
		_, err := m.Track(Meta{Name: "resident", Player: player}, nopHandle{})
		require.NoError(t, err)
	}
	id, err := m.Track(Meta{Name: "once", Player: player}, nopHandle{})
	require.NoError(t, err)
	require.NoError(t, m.Disconnect(id))
}

// whileLocked runs call in a goroutine while the test holds s's lock, and
// reports whether call finished within wait without it. It lets go of the
// lock before returning and waits for call either way.
func whileLocked(t *testing.T, s *shard, wait time.Duration, call func()) (finished bool) {
	t.Helper()
	s.lock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		call()
	}()
	select {
	case <-done:
		finished = true
	case <-time.After(wait):
	}
	s.mu.Unlock()
	<-done
	return finished
}

const (
	// mayFinish is how long a call that needs no shard lock gets to finish
	// (however loaded the machine); mustWait is how long a call that needs
	// it is watched for finishing all the same.
	mayFinish = 10 * time.Second
	mustWait  = 100 * time.Millisecond
)

func TestAResidentPlayersTrackAndDisconnectTakeNoShardLock(t *testing.T) {
	m := New()
	defer m.Close()
	residentPlayer(t, m, "p")
	beforeT, beforeD := m.tally.sum()

	var err1, err2 error
	finished := whileLocked(t, m.playerHome("p"), mayFinish, func() {
		var id ID
		id, err1 = m.Track(Meta{Name: "sub", Player: "p"}, nopHandle{})
		err2 = m.Disconnect(id)
	})
	assert.True(t, finished, "Track and Disconnect on the player's parked slot do not wait for the shard's lock")
	assert.NoError(t, err1)
	assert.NoError(t, err2)
	tracked, disconnected := m.tally.sum()
	assert.Equal(t, beforeT+1, tracked, "the fast path counts the Track in the tally")
	assert.Equal(t, beforeD+1, disconnected, "and the Disconnect")
	require.NoError(t, m.Validate())
}

// neighbourOf returns a player name, new to m, whose pool would live in
// player's shard.
func neighbourOf(m *Manager, player string) string {
	for i := 0; ; i++ {
		name := fmt.Sprint("neighbour-", i)
		if m.playerHome(name) == m.playerHome(player) {
			return name
		}
	}
}

func TestTheFastPathLeavesTheRestToTheShardLock(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(t *testing.T, m *Manager, alone ID)
	}{
		{"a Track with a service", func(t *testing.T, m *Manager, _ ID) {
			_, err := m.Track(Meta{Name: "n", Player: "p", Service: "s"}, nopHandle{})
			assert.NoError(t, err)
		}},
		{"a Track with a TTL", func(t *testing.T, m *Manager, _ ID) {
			_, err := m.Track(Meta{Name: "n", Player: "p", TTL: time.Hour}, nopHandle{})
			assert.NoError(t, err)
		}},
		{"a Track with a key", func(t *testing.T, m *Manager, _ ID) {
			_, err := m.Track(Meta{Name: "n", Player: "p", Key: "k"}, nopHandle{})
			assert.NoError(t, err)
		}},
		{"a Track of a player without a pool", func(t *testing.T, m *Manager, _ ID) {
			_, err := m.Track(Meta{Name: "n", Player: neighbourOf(m, "p")}, nopHandle{})
			assert.NoError(t, err)
		}},
		{"a second Track, the parked slot taken", func(t *testing.T, m *Manager, _ ID) {
			for range 2 {
				_, err := m.Track(Meta{Name: "n", Player: "p"}, nopHandle{})
				assert.NoError(t, err)
			}
		}},
		{"a Disconnect of the pool's last handle", func(t *testing.T, m *Manager, alone ID) {
			assert.NoError(t, m.Disconnect(alone))
		}},
		{"a Disconnect when the pool has a slot parked already", func(t *testing.T, m *Manager, _ ID) {
			for info := range m.Handles(Player("p")) {
				assert.NoError(t, m.Disconnect(info.ID))
				return
			}
		}},
	} {
		t.Run(tc.name+" waits for the shard's lock", func(t *testing.T) {
			m := New()
			defer m.Close()
			residentPlayer(t, m, "p")
			alone, err := m.Track(Meta{Name: "n", Player: neighbourOf(m, "p")}, nopHandle{})
			require.NoError(t, err)
			finished := whileLocked(t, m.playerHome("p"), mustWait, func() { tc.call(t, m, alone) })
			assert.False(t, finished, "the call waited for the shard's lock")
			require.NoError(t, m.Validate())
		})
	}
}

func TestAWalkTurnsTheFastPathOff(t *testing.T) {
	m := New()
	defer m.Close()
	residentPlayer(t, m, "p")
	s := m.playerHome("p")
	s.closeFast()
	finished := whileLocked(t, s, mustWait, func() {
		id, err := m.Track(Meta{Name: "sub", Player: "p"}, nopHandle{})
		assert.NoError(t, err)
		assert.NoError(t, m.Disconnect(id))
	})
	s.openFast()
	assert.False(t, finished, "with the fast path off, Track waits for the shard's lock")

	finished = whileLocked(t, s, mayFinish, func() {
		id, err := m.Track(Meta{Name: "sub", Player: "p"}, nopHandle{})
		assert.NoError(t, err)
		assert.NoError(t, m.Disconnect(id))
	})
	assert.True(t, finished, "once the walk is over, it is back on")
}

func TestTheFastPathRefusesOnceClosed(t *testing.T) {
	m := New()
	defer m.Close()
	residentPlayer(t, m, "p")
	m.closed.Store(true) // as Shutdown does first, before it walks the shards
	var disconnected atomic.Bool
	_, err := m.Track(Meta{Name: "late", Player: "p"}, Func(func() { disconnected.Store(true) }))
	m.closed.Store(false)
	assert.ErrorIs(t, err, ErrClosed)
	assert.True(t, disconnected.Load(), "and disconnects the refused handle")
}

func TestTheFastPathKeepsToTheLimit(t *testing.T) {
	m := New(WithMaxPerPlayer(2))
	defer m.Close()
	// A keyed Track that replaces a holder in the same pool parks the
	// holder's slot while the pool stays at its limit.
	_, err := m.Track(Meta{Name: "a", Player: "p", Key: "k"}, nopHandle{})
	require.NoError(t, err)
	_, err = m.Track(Meta{Name: "b", Player: "p"}, nopHandle{})
	require.NoError(t, err)
	_, err = m.Track(Meta{Name: "a2", Player: "p", Key: "k"}, nopHandle{})
	require.NoError(t, err)
	p := m.playerHome("p").partLocked(Player("p"), false)
	require.NotNil(t, p)
	require.NotZero(t, p.spare, "the pool keeps a parked slot")
	require.Equal(t, int32(2), p.n, "at its limit")

	_, err = m.Track(Meta{Name: "c", Player: "p"}, nopHandle{})
	assert.ErrorIs(t, err, ErrLimit, "a Track that could reuse the parked slot is refused all the same")
	assert.Equal(t, 2, m.Len(Player("p")))
}

func TestStatsCountTheFastPath(t *testing.T) {
	m := New()
	defer m.Close()
	residentPlayer(t, m, "p")
	beforeT, beforeD := m.tally.sum()
	for range 100 {
		id, err := m.Track(Meta{Name: "sub", Player: "p"}, nopHandle{})
		require.NoError(t, err)
		require.NoError(t, m.Disconnect(id))
	}
	id, err := m.Track(Meta{Name: "left", Player: "p"}, nopHandle{})
	require.NoError(t, err)
	tracked, disconnected := m.tally.sum()
	require.Equal(t, beforeT+101, tracked, "the fast path did the work")
	require.Equal(t, beforeD+100, disconnected)

	st := m.Stats()
	assert.Equal(t, uint64(104), st.Tracked)
	assert.Equal(t, uint64(101), st.Disconnected)
	assert.Equal(t, 3, st.Active)
	assert.Equal(t, 1, st.PlayerPools)
	assert.InDelta(t, 3.0, st.AvgPerPlayer, 1e-9)
	assert.Equal(t, 3, m.Len(Player("p")))
	require.NoError(t, m.Validate())
	h := m.Health(3)
	assert.Empty(t, h.Problems)

	// A handle the fast path tracked, removed under the shard's lock.
	back, ok := m.Untrack(id)
	require.True(t, ok)
	require.NoError(t, back.Disconnect(), "the handed-back handle is ours to disconnect")
	st = m.Stats()
	assert.Equal(t, uint64(1), st.Untracked)
	assert.Equal(t, 2, st.Active)
	require.NoError(t, m.Validate())
}

// TestTheFastPathAgainstEverythingElse has goroutines track and disconnect
// on their players' parked slots while others walk, clean, sweep, look up
// and validate the same shards, and checks that every handle is
// disconnected exactly once and that the manager ends consistent. Run it
// with -race.
func TestTheFastPathAgainstEverythingElse(t *testing.T) {
	const workers, players, rounds = 4, 8, 2000
	m := New()
	var (
		counts sync.Map // handle -> *atomic.Int32, its Disconnect calls
		made   atomic.Int64
	)
	newHandle := func() Handle {
		n := new(atomic.Int32)
		h := Func(func() { n.Add(1) })
		counts.Store(n, n)
		made.Add(1)
		return h
	}
	name := func(w, i int) string { return fmt.Sprintf("w%d-p%d", w, i) }
	for w := range workers {
		for i := range players {
			for range 3 {
				_, err := m.Track(Meta{Name: "resident", Player: name(w, i)}, newHandle())
				require.NoError(t, err)
			}
		}
	}

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				id, err := m.Track(Meta{Name: "sub", Player: name(w, r%players)}, newHandle())
				if !assert.NoError(t, err) {
					return
				}
				if err := m.Disconnect(id); err != nil && !errors.Is(err, ErrNotFound) {
					assert.NoError(t, err)
				}
			}
		}()
	}
	walks := []func(i int){
		func(int) { _, _ = m.Sweep() },
		func(int) {
			assert.Empty(t, m.Health(3).Problems, "Health reports no false problem under fast-path traffic")
		},
		func(int) {
			for range m.All() {
			}
		},
		func(i int) {
			for range m.Handles(Player(name(i%workers, i%players))) {
			}
		},
		func(i int) { _, _ = m.CleanupPlayer(name(i%workers, (i+3)%players)) },
		func(int) { assert.NoError(t, m.Validate()) },
		func(int) { _ = m.Stats() },
		func(i int) { _ = m.Len(Player(name(i%workers, i%players))) },
	}
	for k, walk := range walks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				walk(i + k)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	stop()
	wg.Wait()
	require.NoError(t, m.Validate())
	st := m.Stats()
	assert.Equal(t, st.Tracked, uint64(st.Active)+st.Disconnected+st.Untracked+st.Stale+st.Exited)
	require.NoError(t, m.Close())

	total := int64(0)
	counts.Range(func(_, v any) bool {
		n := v.(*atomic.Int32).Load()
		assert.Equal(t, int32(1), n, "every handle is disconnected exactly once")
		total++
		return true
	})
	assert.Equal(t, made.Load(), total)
	tracked, _ := m.tally.sum()
	assert.NotZero(t, tracked, "the fast path was taken")
}

// TestHealthUnderFastPathTrafficReportsNoFalseProblems runs Health while
// another goroutine only tracks and disconnects on resident players' parked
// slots. Those calls move no shard's counters, only the tally, so Health's
// cross-checks must see the tally move too, or they would compare counts
// taken on either side of such a call.
func TestHealthUnderFastPathTrafficReportsNoFalseProblems(t *testing.T) {
	m := New()
	defer m.Close()
	players := make([]string, 64)
	for i := range players {
		players[i] = fmt.Sprint("p", i)
		residentPlayer(t, m, players[i])
	}
	before, _ := m.tally.sum()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id, err := m.Track(Meta{Name: "sub", Player: players[i%len(players)]}, nopHandle{})
			if assert.NoError(t, err) {
				assert.NoError(t, m.Disconnect(id))
			}
		}
	}()
	for range 200 {
		require.Empty(t, m.Health(3).Problems)
	}
	close(stop)
	<-done
	after, _ := m.tally.sum()
	assert.Greater(t, after, before, "the traffic took the fast path")
	require.NoError(t, m.Validate())
}

// TestStatsNeverReportsFewerThanNoActiveHandles: Active is worked out from
// the lifetime counters, which Stats reads one after the other while calls
// are in flight, so it may read a Disconnect's count without its Track's.
func TestStatsNeverReportsFewerThanNoActiveHandles(t *testing.T) {
	m := New()
	defer m.Close()
	s := m.tally.mine()
	s.disconnected.Add(1) // as read a call apart
	assert.Zero(t, m.Stats().Active)
	s.disconnected.Add(^uint64(0))
}
