package connmgr_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

func TestShutdownDisconnectsEverythingAndRefusesTracks(t *testing.T) {
	j := newJournal()
	m := connmgr.New()
	_, _ = m.TrackPlayer("p", "a", j.spy("a"))
	_, _ = m.TrackService("s", "b", j.spy("b"))
	_, _ = m.Track(connmgr.Meta{}, j.spy("c"))

	require.NoError(t, m.Shutdown(context.Background()))
	assert.Equal(t, []string{"c", "b", "a"}, j.Order())
	_, err := m.TrackPlayer("p", "late", j.spy("late"))
	assert.ErrorIs(t, err, connmgr.ErrClosed)
	assert.Equal(t, 1, j.Count("late"), "a Track after Shutdown disconnects its handle")

	n, err := m.CleanupAll()
	assert.Zero(t, n)
	assert.NoError(t, err, "cleanups of a closed manager find nothing to do")
	n, err = m.Sweep()
	assert.Zero(t, n)
	assert.NoError(t, err)
}

func TestConcurrentClosesAllWaitAndOneReportsTheErrors(t *testing.T) {
	j := newJournal()
	m := connmgr.New()
	release := make(chan struct{})
	slow := j.spy("slow")
	slow.before = func() { <-release }
	slow.err = errors.New("boom")
	_, _ = m.TrackPlayer("p", "slow", slow)

	const callers = 8
	results := make(chan error, callers)
	var started sync.WaitGroup
	for range callers {
		started.Add(1)
		go func() {
			started.Done()
			results <- m.Close()
		}()
	}
	started.Wait()
	time.Sleep(10 * time.Millisecond)
	select {
	case <-results:
		t.Fatal("a Close returned before the handle was disconnected")
	default:
	}
	close(release)
	var failures int
	for range callers {
		if err := <-results; err != nil {
			assert.ErrorContains(t, err, "boom")
			failures++
		}
	}
	assert.Equal(t, 1, failures, "exactly one Close reports the disconnect errors")
	assert.Equal(t, 1, j.Count("slow"))
}

func TestShutdownReturnsAtItsDeadlineAndFinishesInTheBackground(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := newJournal()
		m := connmgr.New()
		release := make(chan struct{})
		blocking := j.spy("blocking")
		blocking.before = func() { <-release }
		_, _ = m.TrackPlayer("p", "first", j.spy("first"))
		_, _ = m.TrackPlayer("p", "blocking", blocking)
		_, _ = m.TrackPlayer("p", "last", j.spy("last"))

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		err := m.Shutdown(ctx)
		assert.Equal(t, time.Second, time.Since(start), "Shutdown returns at its deadline")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorContains(t, err, "2 handles still disconnecting", "the error says how many remain")

		close(release)
		require.NoError(t, m.Close(), "a later Close waits for the background work and returns nil")
		assert.Equal(t, []string{"last", "blocking", "first"}, j.Order(), "the remaining disconnects complete")
	})
}

func TestShutdownFromInsideADisconnectReturnsAtItsOwnDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := newJournal()
		m := connmgr.New()
		var inner error
		var innerTook time.Duration
		nested := j.spy("nested")
		nested.before = func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			inner = m.Shutdown(ctx)
			innerTook = time.Since(start)
		}
		_, _ = m.TrackPlayer("p", "other", j.spy("other"))
		_, _ = m.TrackPlayer("p", "nested", nested)

		require.NoError(t, m.Close(), "the outer Shutdown still completes")
		assert.NoError(t, inner, "a later Shutdown returns nil")
		assert.Equal(t, time.Minute, innerTook, "a Shutdown inside a Disconnect that Shutdown runs waits for its own deadline")
		assert.Equal(t, []string{"nested", "other"}, j.Order())
	})
}

func TestNilContextPanicsWithAConnmgrMessage(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	//nolint:staticcheck // a nil Context is the point of the test
	assert.PanicsWithValue(t, "connmgr: Shutdown with nil Context", func() { _ = m.Shutdown(nil) })
	//nolint:staticcheck // a nil Context is the point of the test
	assert.PanicsWithValue(t, "connmgr: CleanupOnDone with nil Context", func() { m.CleanupOnDone(nil, connmgr.Player("p")) })
}
