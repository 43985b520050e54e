package connmgr_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

func TestCleanupOnDoneCleansThePoolWhenTheContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := newJournal()
		errs := make(chan error, 1)
		m := connmgr.New(connmgr.WithErrorHandler(func(err error) { errs <- err }))
		defer m.Close()
		ctx, cancel := context.WithCancel(context.Background())
		m.CleanupOnDone(ctx, connmgr.Player("p"))
		failing := j.spy("b")
		failing.err = errors.New("boom")
		_, _ = m.TrackPlayer("p", "a", j.spy("a"))
		_, _ = m.TrackPlayer("p", "b", failing)
		_, _ = m.TrackPlayer("q", "c", j.spy("c"))
		assert.Equal(t, 3, m.Stats().Active, "the registration is not a handle")

		cancel()
		synctest.Wait()
		assert.Equal(t, []string{"b", "a"}, j.Order(), "the pool is cleaned, newest first")
		assert.ErrorContains(t, <-errs, "boom", "the cleanup's errors go to the error handler")
		assert.Equal(t, 1, m.Len(connmgr.Player("q")), "other pools are untouched")
	})
}

func TestCleanupOnDoneStopPreventsTheCleanup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := newJournal()
		m := connmgr.New()
		defer m.Close()
		ctx, cancel := context.WithCancel(context.Background())
		stop := m.CleanupOnDone(ctx, connmgr.Player("p"))
		_, _ = m.TrackPlayer("p", "a", j.spy("a"))

		assert.True(t, stop(), "stop reports true when it prevented the cleanup")
		assert.False(t, stop(), "a second stop has nothing to prevent")
		cancel()
		synctest.Wait()
		assert.Zero(t, j.Count("a"))
	})
}

func TestCleanupOnDoneEndsWhenThePoolIsCleaned(t *testing.T) {
	ends := map[string]func(m *connmgr.Manager){
		"Cleanup":       func(m *connmgr.Manager) { _, _ = m.Cleanup(connmgr.Player("p")) },
		"CleanupPlayer": func(m *connmgr.Manager) { _, _ = m.CleanupPlayer("p") },
		"CleanupAll":    func(m *connmgr.Manager) { _, _ = m.CleanupAll() },
		"presence sweep": func(m *connmgr.Manager) {
			_, _ = m.Sweep()
		},
	}
	for name, end := range ends {
		t.Run(name+" releases the registration, so the old context cannot clean a rejoined player", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				j := newJournal()
				online := false
				m := connmgr.New(connmgr.WithPresence(func(string) bool { return online }))
				defer m.Close()
				oldConn, cancel := context.WithCancel(context.Background())
				stop := m.CleanupOnDone(oldConn, connmgr.Player("p"))
				_, _ = m.TrackPlayer("p", "old", j.spy("old"))

				end(m)
				online = true
				assert.Equal(t, 1, j.Count("old"))
				assert.False(t, stop(), "after the pool is cleaned, stop has nothing to prevent")

				_, _ = m.TrackPlayer("p", "new", j.spy("new")) // the player rejoins
				cancel()                                       // the old connection's context ends late
				synctest.Wait()
				assert.Zero(t, j.Count("new"), "the rejoined player's handles survive the old context")
			})
		})
	}
}

func TestCleanupOnDoneOutlivesOneByOneRemoval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := newJournal()
		m := connmgr.New()
		defer m.Close()
		ctx, cancel := context.WithCancel(context.Background())
		m.CleanupOnDone(ctx, connmgr.Player("p"))
		id, _ := m.TrackPlayer("p", "a", j.spy("a"))
		require.NoError(t, m.Disconnect(id)) // the pool is now empty, and freed
		_, _ = m.TrackPlayer("p", "b", j.spy("b"))

		cancel()
		synctest.Wait()
		assert.Equal(t, 1, j.Count("b"), "removing handles one by one does not end the registration")
	})
}

func TestCleanupOnDoneOnAClosedManagerDoesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := connmgr.New()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		before := m.CleanupOnDone(ctx, connmgr.Player("p"))
		require.NoError(t, m.Close())
		assert.False(t, before(), "Shutdown ended the registration")
		after := m.CleanupOnDone(ctx, connmgr.Player("p"))
		assert.False(t, after(), "on a closed manager CleanupOnDone registers nothing")
		assert.False(t, m.CleanupOnDone(ctx, connmgr.Pool{})(), "the zero Pool registers nothing")
	})
}
