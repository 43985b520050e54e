package connmgr_test

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

// TestCleanupOnDone adds to ondone_test.go the cases it leaves out: a
// context that has already ended, that a registration is not a handle, and,
// for every way a pool can be cleaned (CleanupService, CleanupTag and
// Shutdown too), that the registration is really taken off the context,
// which a watchedContext can see, not only that a late cancel does nothing.
// The cleanups CleanupOnDone starts run in goroutines, so the cases run in
// synctest bubbles and synctest.Wait lets them finish.
func TestCleanupOnDone(t *testing.T) {
	t.Run("a context that has already ended cleans the pool at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := connmgr.New()
			defer m.Close()
			h := &counted{}
			trackHandles(t, m, connmgr.Meta{Service: "s"}, h)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			stop := m.CleanupOnDone(ctx, connmgr.Service("s"))
			synctest.Wait()
			assert.EqualValues(t, 1, h.calls.Load(), "the pool should be cleaned")
			assert.False(t, stop(), "stop after the cleanup ran should report false")
		})
	})
	t.Run("stop takes the registration off the context", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := connmgr.New()
			defer m.Close()
			h := &counted{}
			trackHandles(t, m, connmgr.Meta{Tags: []string{"t"}}, h)
			ctx := newWatchedContext()
			stop := m.CleanupOnDone(ctx, connmgr.Tag("t"))
			assert.True(t, stop(), "stop should report that it prevented the cleanup")
			assert.False(t, stop(), "a second stop should report false")
			assert.Zero(t, ctx.armed(), "stop should take the registration off the context")
			ctx.cancel()
			synctest.Wait()
			assert.Zero(t, h.calls.Load(), "a stopped registration should clean nothing")
		})
	})
	t.Run("a registration is not a handle: Len, Stats and cleanup counts leave it out", func(t *testing.T) {
		m := connmgr.New()
		defer m.Close()
		trackHandles(t, m, connmgr.Meta{Player: "p"}, &counted{})
		m.CleanupOnDone(context.Background(), connmgr.Player("p"))
		m.CleanupOnDone(context.Background(), connmgr.Player("empty"))
		assert.Equal(t, 1, m.Len(connmgr.Player("p")), "Len should count only the handle")
		assert.Zero(t, m.Len(connmgr.Player("empty")), "a pool with only a registration should be empty")
		st := m.Stats()
		assert.Equal(t, 1, st.Active, "Stats.Active should count only the handle")
		assert.Equal(t, 1, st.PlayerPools, "Stats should not count a pool that holds only a registration")
		n, err := m.CleanupPlayer("p")
		assert.NoError(t, err)
		assert.Equal(t, 1, n, "Cleanup should count only the handle")
	})

	for _, end := range []struct {
		by   string
		pool connmgr.Pool
		meta connmgr.Meta
		end  func(m *connmgr.Manager) error
	}{
		{"Cleanup", connmgr.Player("p"), connmgr.Meta{Player: "p"},
			func(m *connmgr.Manager) error { _, err := m.Cleanup(connmgr.Player("p")); return err }},
		{"CleanupPlayer", connmgr.Player("p"), connmgr.Meta{Player: "p"},
			func(m *connmgr.Manager) error { _, err := m.CleanupPlayer("p"); return err }},
		{"CleanupService", connmgr.Service("s"), connmgr.Meta{Service: "s"},
			func(m *connmgr.Manager) error { _, err := m.CleanupService("s"); return err }},
		{"CleanupTag", connmgr.Tag("t"), connmgr.Meta{Tags: []string{"t"}},
			func(m *connmgr.Manager) error { _, err := m.CleanupTag("t"); return err }},
		{"CleanupAll", connmgr.Player("p"), connmgr.Meta{Player: "p"},
			func(m *connmgr.Manager) error { _, err := m.CleanupAll(); return err }},
		{"a presence sweep", connmgr.Player("p"), connmgr.Meta{Player: "p"},
			func(m *connmgr.Manager) error { _, err := m.Sweep(); return err }},
		{"Shutdown", connmgr.Player("p"), connmgr.Meta{Player: "p"},
			func(m *connmgr.Manager) error { return m.Close() }},
	} {
		t.Run("once "+end.by+" cleans the pool the registration is gone and the old context's end spares the new session", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				offline := true
				m := connmgr.New(connmgr.WithPresence(func(string) bool { return !offline }))
				defer m.Close()
				old := &counted{}
				trackHandles(t, m, end.meta, old)
				ctx := newWatchedContext()
				stop := m.CleanupOnDone(ctx, end.pool)
				require.Equal(t, 1, ctx.armed(), "CleanupOnDone should register on the context")

				require.NoError(t, end.end(m))
				assert.EqualValues(t, 1, old.calls.Load(), "%s should clean the pool", end.by)
				assert.Zero(t, ctx.armed(), "%s should take the registration off the context", end.by)
				assert.False(t, stop(), "stop after %s should report false", end.by)

				offline = false // the player rejoins
				rejoined := &counted{}
				var id connmgr.ID
				if end.by != "Shutdown" {
					id = trackHandles(t, m, end.meta, rejoined)[0]
				}
				ctx.cancel() // the old session's context ends late
				synctest.Wait()
				assert.Zero(t, rejoined.calls.Load(), "the old context's end should not touch the new session's handle")
				if id != 0 {
					_, tracked := m.Lookup(id)
					assert.True(t, tracked, "the new session's handle should stay tracked")
				}
			})
		})
	}
}

// trackHandles tracks hs with meta, requiring each to be accepted, and
// returns their IDs.
func trackHandles(t *testing.T, m *connmgr.Manager, meta connmgr.Meta, hs ...connmgr.Handle) []connmgr.ID {
	t.Helper()
	ids := make([]connmgr.ID, len(hs))
	for i, h := range hs {
		var err error
		ids[i], err = m.Track(meta, h)
		require.NoError(t, err, "handle %d should be tracked", i)
	}
	return ids
}
