package connmgr_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

// heapAfterGC returns the live heap once garbage has been collected.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC() // the second cycle frees what the first one's finalizers released
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// memorySize is the population of TestMemoryPerHandle: 1M handles over 10k
// players, a tenth of that under the race detector.
func memorySize() (handles, players int) {
	if raceEnabled {
		return 100_000, 1_000
	}
	return 1_000_000, 10_000
}

// TestMemoryPerHandle tracks 1M handles with Meta{Player, Name} (shared name
// strings, one shared handle value, so that only the manager's own memory
// is counted), reports the heap bytes per handle, cleans everything up and
// reports what the heap keeps. The hand-written tracker is measured the
// same way, for comparison.
func TestMemoryPerHandle(t *testing.T) {
	if testing.Short() {
		t.Skip("tracks 1M handles; run without -short")
	}
	handles, nplayers := memorySize()
	players := numbered("p", nplayers)

	before := heapAfterGC()
	m := connmgr.New()
	for i := range handles {
		_, err := m.Track(playerMeta(players, i), benchHandle)
		require.NoError(t, err)
	}
	tracked := heapAfterGC()
	perHandle := float64(int64(tracked)-int64(before)) / float64(handles)
	estimate := float64(m.Stats().MemoryBytes) / float64(handles)
	n, err := m.CleanupAll()
	require.NoError(t, err)
	require.Equal(t, handles, n)
	retained := int64(heapAfterGC()) - int64(before)
	runtime.KeepAlive(m)
	require.NoError(t, m.Close())
	t.Logf("connmgr: %d handles over %d players: %.1f bytes/handle (Stats.MemoryBytes estimates %.1f); after CleanupAll the heap keeps %d bytes",
		handles, nplayers, perHandle, estimate, retained)

	before = heapAfterGC()
	naive := newNaiveTracker()
	for i := range handles {
		naive.Track(playerMeta(players, i), benchHandle)
	}
	naivePerHandle := float64(int64(heapAfterGC())-int64(before)) / float64(handles)
	naive.CleanupAll()
	naiveRetained := int64(heapAfterGC()) - int64(before)
	runtime.KeepAlive(naive)
	t.Logf("naive:   %d handles over %d players: %.1f bytes/handle; after CleanupAll the heap keeps %d bytes",
		handles, nplayers, naivePerHandle, naiveRetained)

	assert.LessOrEqual(t, perHandle, 96.0, "bytes per tracked handle")
	assert.LessOrEqual(t, retained, int64(2<<20), "heap kept after CleanupAll")
}

// churnSize is the shape of TestChurnSoak: how many players join in all,
// and how many are online at once; a tenth under the race detector.
func churnSize() (joins, online int) {
	if raceEnabled {
		return 20_000, 500
	}
	return 200_000, 5_000
}

// churnPlayer is one online player of the soak.
type churnPlayer struct {
	name   string
	cancel context.CancelFunc
}

// TestChurnSoak lets players join with 20 handles each and leave again,
// 200k joins with 5k players online at any time, and checks that the heap
// after GC stays within 10% of its level after the first 10% of the run,
// and that every goroutine the handles started is gone at the end.
//
// A player's handles are what a game server's are: a goroutine's cancel
// func, a timer, a subscription also in a service and a tag pool, and 17
// plain subscriptions; the player's connection context is tied to the pool
// with CleanupOnDone. One player in ten leaves by that context ending, the
// others by CleanupPlayer.
func TestChurnSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("200k joins; run without -short")
	}
	joins, online := churnSize()
	goroutines := runtime.NumGoroutine()
	m := connmgr.New()
	zones := numbered("zone", 16)

	join := func(j int) churnPlayer {
		p := churnPlayer{name: "player" + strconv.Itoa(j)}
		ctx, cancel := context.WithCancel(context.Background())
		p.cancel = cancel
		m.CleanupOnDone(ctx, connmgr.Player(p.name))
		stop := make(chan struct{})
		go func() { <-stop }()
		track := func(meta connmgr.Meta, h connmgr.Handle) {
			meta.Player = p.name
			_, err := m.Track(meta, h)
			require.NoError(t, err)
		}
		track(connmgr.Meta{Name: "session loop"}, connmgr.Func(func() { close(stop) }))
		track(connmgr.Meta{Name: "Heartbeat"}, connmgr.Timer(time.NewTimer(time.Hour)))
		track(connmgr.Meta{Name: "event:ZoneChat", Service: "chat", Tags: []string{zones[j%len(zones)]}}, benchHandle)
		for k := range 17 {
			track(connmgr.Meta{Name: handleNames[k%len(handleNames)]}, benchHandle)
		}
		return p
	}
	leave := func(j int, p churnPlayer) {
		if j%10 == 0 {
			p.cancel() // CleanupOnDone cleans the pool, in a goroutine of its own
			return
		}
		n, err := m.CleanupPlayer(p.name)
		require.NoError(t, err)
		require.Equal(t, 20, n, "handles of %s", p.name)
		p.cancel()
	}
	// settled waits for the cleanups that ended contexts started, so that
	// the heap is measured with exactly the online players tracked.
	settled := func() {
		deadline := time.Now().Add(10 * time.Second)
		for m.Stats().Active != online*20 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		require.Equal(t, online*20, m.Stats().Active, "handles of the online players")
	}

	ring := make([]churnPlayer, online)
	var base uint64
	var levels []uint64
	for j := range joins {
		if j >= online {
			leave(j-online, ring[j%online])
		}
		ring[j%online] = join(j)
		if (j+1)%(joins/10) == 0 {
			settled()
			heap := heapAfterGC()
			if base == 0 {
				base = heap
			}
			levels = append(levels, heap)
		}
	}
	t.Logf("heap after GC at each tenth of %d joins (%d online, %d handles): %v", joins, online, online*20, levels)
	for i, heap := range levels {
		assert.LessOrEqual(t, float64(heap), 1.1*float64(base), "heap at tenth %d stays within 10%% of %d", i+1, base)
	}

	for j := joins - online; j < joins; j++ {
		leave(j, ring[j%online])
	}
	require.NoError(t, m.Close())
	require.NoError(t, m.Validate())
	st := m.Stats()
	assert.Equal(t, uint64(joins*20), st.Tracked)
	assert.Equal(t, uint64(joins*20), st.Disconnected)
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), goroutines, "goroutines back to the baseline")
}
