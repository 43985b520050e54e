package connmgr_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

// TestCleanupsKeepLittlePerHandle checks what CleanupAll, Shutdown and
// Cleanup allocate to disconnect their handles: 24 bytes per handle to put
// them in order, not a copy of each handle's entry. A copy, about 100 bytes
// per handle, is enough on a million handles to start a garbage collection
// in the middle of the cleanup, which delays every other goroutine.
func TestCleanupsKeepLittlePerHandle(t *testing.T) {
	const handles = 100_000
	const maxPerHandle = 40 // bytes: 24 for the handle's place in the order, and slack
	players := numbered("p", handles/10)
	for _, tc := range []struct {
		name    string
		players []string
		run     func(m *connmgr.Manager) (int, error)
	}{
		{"CleanupAll", players, (*connmgr.Manager).CleanupAll},
		{"Shutdown", players, func(m *connmgr.Manager) (int, error) {
			return handles, m.Shutdown(context.Background())
		}},
		{"CleanupPlayer", []string{"p"}, func(m *connmgr.Manager) (int, error) {
			return m.CleanupPlayer("p")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := connmgr.New()
			defer m.Close()
			for i := range handles {
				_, err := m.Track(playerMeta(tc.players, i), nop{})
				require.NoError(t, err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			n, err := tc.run(m)
			runtime.ReadMemStats(&after)
			require.NoError(t, err)
			require.Equal(t, handles, n)
			perHandle := float64(after.TotalAlloc-before.TotalAlloc) / handles
			t.Logf("%s of %d handles allocated %.1f bytes per handle", tc.name, handles, perHandle)
			assert.Less(t, perHandle, float64(maxPerHandle))
		})
	}
}

// TestCleanupAllHandlesAreGoneBeforeTheyAreDisconnected checks that what
// CleanupAll has taken out is out for every other call while it
// disconnects, although the entries stay in their slots until then: a
// Disconnect finds neither itself nor the others by ID, Stats and Validate
// see a consistent manager without them, and a handle tracked meanwhile
// gets a slot of its own and stays tracked.
func TestCleanupAllHandlesAreGoneBeforeTheyAreDisconnected(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	const handles = 600 // more than one chunk of 256
	ids := make([]connmgr.ID, handles)
	calls := 0
	var tracked []connmgr.ID
	for i := range ids {
		var err error
		ids[i], err = m.Track(connmgr.Meta{Name: fmt.Sprint(i), Player: fmt.Sprint("p", i%7)}, connmgr.Func(func() {
			calls++
			_, found := m.Lookup(ids[i])
			assert.False(t, found, "a handle being disconnected is no longer found")
			assert.ErrorIs(t, m.Disconnect(ids[(i+1)%handles]), connmgr.ErrNotFound, "nor are the others CleanupAll took")
			assert.NoError(t, m.Validate())
			st := m.Stats()
			assert.Equal(t, len(tracked), st.Active, "Active counts only what was tracked since")
			id, err := m.TrackPlayer("p0", "late", nop{})
			assert.NoError(t, err)
			assert.NotContains(t, ids, id, "a held slot is not handed out again")
			tracked = append(tracked, id)
		}))
		require.NoError(t, err)
	}
	n, err := m.CleanupAll()
	require.NoError(t, err)
	assert.Equal(t, handles, n)
	assert.Equal(t, handles, calls)
	require.NoError(t, m.Validate())
	for _, id := range tracked {
		_, found := m.Lookup(id)
		assert.True(t, found, "handles tracked during CleanupAll stay tracked")
	}
	assert.Equal(t, handles, m.Stats().Active)
}

// TestMemoryReturnsAfterCleanupAll checks that CleanupAll gives every slot
// back once it has disconnected the handles in them: the memory estimate
// returns to that of an empty manager.
func TestMemoryReturnsAfterCleanupAll(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	empty := m.Stats().MemoryBytes
	for i := range 5000 {
		_, err := m.TrackPlayer(fmt.Sprint("p", i%50), "h", nop{})
		require.NoError(t, err)
	}
	require.Greater(t, m.Stats().MemoryBytes, empty)
	_, err := m.CleanupAll()
	require.NoError(t, err)
	assert.Equal(t, empty, m.Stats().MemoryBytes)
}
