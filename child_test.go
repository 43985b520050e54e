package connmgr_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

func TestCleaningTheParentsPoolClosesTheChild(t *testing.T) {
	j := newJournal()
	parent := connmgr.New()
	defer parent.Close()
	match := connmgr.New() // a child manager: one per match, say
	_, err := match.TrackService("Match", "scoreboard", j.spy("scoreboard"))
	require.NoError(t, err)
	_, err = match.TrackPlayer("p1", "spawn", j.spy("spawn"))
	require.NoError(t, err)
	var loopReturned atomic.Bool
	_, err = match.Go(connmgr.Meta{Name: "match-loop"}, func(ctx context.Context) {
		<-ctx.Done()
		loopReturned.Store(true)
	})
	require.NoError(t, err)

	_, err = parent.Track(connmgr.Meta{Name: "match", Player: "host", Tags: []string{"round-1"}}, connmgr.Closer(match))
	require.NoError(t, err)
	n, err := parent.CleanupTag("round-1")
	require.NoError(t, err)
	assert.Equal(t, 1, n)

	assert.Equal(t, []string{"spawn", "scoreboard"}, j.Order(), "closing the child disconnects everything in it, newest first")
	assert.True(t, loopReturned.Load(), "including its goroutines, waited for")
	assert.Equal(t, 0, match.Stats().Active)
	_, err = match.TrackPlayer("p1", "late", nop{})
	assert.ErrorIs(t, err, connmgr.ErrClosed, "the child is closed")
	assert.Equal(t, 0, parent.Len(connmgr.Player("host")), "and has left the parent's other pools")
}
