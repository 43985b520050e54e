package connmgr_test

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

func TestTrackThenLookupDescribesTheHandle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := connmgr.New()
		defer m.Close()
		tags := []string{"round-3", "vip", "round-3"}
		meta := connmgr.Meta{Name: "remote:BuyPet", Player: "p42", Service: "Pets", Tags: tags, TTL: time.Minute}
		id, err := m.Track(meta, nop{})
		require.NoError(t, err)
		require.NotZero(t, id, "a tracked handle never has ID 0")

		info, ok := m.Lookup(id)
		require.True(t, ok, "Lookup should find a tracked handle")
		assert.Equal(t, id, info.ID)
		assert.Equal(t, connmgr.Meta{Name: "remote:BuyPet", Player: "p42", Service: "Pets", Tags: []string{"round-3", "vip"}, TTL: time.Minute}, info.Meta,
			"Info should carry the Meta, duplicate tags dropped")
		assert.True(t, info.Created.Equal(time.Now()), "Created should be the time of Track")

		tags[1] = "changed"
		info.Tags[0] = "mutated"
		again, _ := m.Lookup(id)
		assert.Equal(t, []string{"round-3", "vip"}, again.Tags, "neither the caller's slice nor a returned Info may alias the manager's state")
		assert.Equal(t, 1, m.Len(connmgr.Tag("vip")), "changing the caller's tags after Track must not move the handle")
	})
}

func TestTrackFormsPutTheHandleInTheirPool(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	_, err := m.TrackPlayer("p1", "Heartbeat", nop{})
	require.NoError(t, err)
	_, err = m.TrackService("Pets", "PetEvents", nop{})
	require.NoError(t, err)
	_, err = m.TrackTag("round-1", "Countdown", nop{})
	require.NoError(t, err)
	assert.Equal(t, 1, m.Len(connmgr.Player("p1")))
	assert.Equal(t, 1, m.Len(connmgr.Service("Pets")))
	assert.Equal(t, 1, m.Len(connmgr.Tag("round-1")))
	assert.Equal(t, 0, m.Len(connmgr.Player("Pets")), "pools of different kinds with one name are distinct")
	assert.Equal(t, 0, m.Len(connmgr.Pool{}), "the zero Pool holds nothing")
}

func TestDisconnectDisconnectsAndForgets(t *testing.T) {
	j := newJournal()
	m := connmgr.New()
	defer m.Close()
	id, err := m.TrackPlayer("p", "a", j.spy("a"))
	require.NoError(t, err)

	require.NoError(t, m.Disconnect(id))
	assert.Equal(t, 1, j.Count("a"), "Disconnect should disconnect the handle")
	_, ok := m.Lookup(id)
	assert.False(t, ok, "a disconnected handle is forgotten")
	assert.Equal(t, 0, m.Len(connmgr.Player("p")))
	assert.ErrorIs(t, m.Disconnect(id), connmgr.ErrNotFound, "a second Disconnect finds nothing")
	assert.Equal(t, 1, j.Count("a"), "and does not disconnect again")
}

func TestDisconnectWrapsTheHandlesError(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	boom := errors.New("boom")
	id, _ := m.Track(connmgr.Meta{Name: "Heartbeat", Player: "p42", Tags: []string{"a"}}, connmgr.HandleFunc(func() error { return boom }))
	err := m.Disconnect(id)
	require.ErrorIs(t, err, boom)
	var de *connmgr.DisconnectError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, id, de.Info.ID)
	assert.Equal(t, fmt.Sprintf(`connmgr: disconnect "Heartbeat" (id %d, player:p42, tag:a): boom`, id), err.Error(),
		"the message should name the handle, its ID and its pools")
}

func TestUntrackHandsTheHandleBack(t *testing.T) {
	j := newJournal()
	m := connmgr.New()
	id, _ := m.TrackPlayer("p", "a", j.spy("a"))

	h, ok := m.Untrack(id)
	require.True(t, ok)
	assert.Equal(t, "a", h.(*spy).name, "Untrack returns the tracked handle")
	assert.Equal(t, 0, j.Count("a"), "Untrack does not disconnect")
	assert.ErrorIs(t, m.Disconnect(id), connmgr.ErrNotFound, "an untracked ID is unknown")
	again, ok := m.Untrack(id)
	assert.False(t, ok, "a second Untrack finds nothing")
	assert.Nil(t, again)

	require.NoError(t, m.Close())
	assert.Equal(t, 0, j.Count("a"), "Close does not disconnect what was handed back")
	assert.Equal(t, uint64(1), m.Stats().Untracked)
	require.NoError(t, h.Disconnect(), "the caller owns the handle now")
	assert.Equal(t, 1, j.Count("a"))
}

func TestUnknownIDsAreReportedNotPanicked(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	removed, _ := m.TrackPlayer("p", "a", nop{})
	require.NoError(t, m.Disconnect(removed))
	for name, id := range map[string]connmgr.ID{
		"zero":             0,
		"never issued":     connmgr.ID(0xdeadbeefcafe),
		"all bits set":     ^connmgr.ID(0),
		"already removed":  removed,
		"removed, gen + 1": removed + 1<<32,
	} {
		t.Run(name+" is not found", func(t *testing.T) {
			assert.ErrorIs(t, m.Disconnect(id), connmgr.ErrNotFound)
			h, ok := m.Untrack(id)
			assert.False(t, ok)
			assert.Nil(t, h)
			_, ok = m.Lookup(id)
			assert.False(t, ok)
		})
	}
}

func TestIDsNeverNameADifferentHandleLater(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	old, _ := m.TrackPlayer("p", "first", nop{})
	require.NoError(t, m.Disconnect(old))

	// Churn through many handles: slots are reused, IDs must not be.
	seen := map[connmgr.ID]bool{old: true}
	for i := range 100_000 {
		id, err := m.TrackPlayer("p", "later", nop{})
		require.NoError(t, err)
		require.False(t, seen[id], "ID %d was issued twice (iteration %d)", id, i)
		seen[id] = true
		if i%3 != 0 {
			require.NoError(t, m.Disconnect(id))
		}
	}
	_, ok := m.Lookup(old)
	assert.False(t, ok, "an old ID must not find a handle tracked into its slot later")
	assert.ErrorIs(t, m.Disconnect(old), connmgr.ErrNotFound)
	require.NoError(t, m.Validate())
}

func TestRefusedHandlesAreDisconnectedAtOnce(t *testing.T) {
	closed := connmgr.New()
	require.NoError(t, closed.Close())
	limited := connmgr.New(connmgr.WithMaxPerPlayer(1))
	defer limited.Close()
	_, err := limited.TrackPlayer("p", "first", nop{})
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		m    *connmgr.Manager
		meta connmgr.Meta
		want error
		msg  string
	}{
		{"an empty tag is invalid", limited, connmgr.Meta{Name: "x", Tags: []string{"a", ""}}, connmgr.ErrInvalid, "empty tag"},
		{"a negative TTL is invalid", limited, connmgr.Meta{Name: "x", TTL: -time.Second}, connmgr.ErrInvalid, "negative TTL"},
		{"a closed manager refuses", closed, connmgr.Meta{Name: "x", Player: "p"}, connmgr.ErrClosed, "closed"},
		{"a full player pool refuses", limited, connmgr.Meta{Name: "x", Player: "p"}, connmgr.ErrLimit, "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newJournal()
			before := tc.m.Stats()
			id, err := tc.m.Track(tc.meta, j.spy("h"))
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.msg, "the error should say what is wrong")
			assert.Zero(t, id, "a refused Track returns ID 0")
			assert.Equal(t, 1, j.Count("h"), "a refused handle is disconnected before Track returns")
			after := tc.m.Stats()
			assert.Equal(t, before.Rejected+1, after.Rejected, "Rejected counts the refusal")
			assert.Equal(t, before.Tracked, after.Tracked, "a refused handle is not Tracked")
			assert.True(t, invariantHolds(after))
		})
	}

	t.Run("the refused handle's own error is joined to the refusal", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := closed.Track(connmgr.Meta{Name: "x"}, connmgr.HandleFunc(func() error { return boom }))
		assert.ErrorIs(t, err, connmgr.ErrClosed)
		assert.ErrorIs(t, err, boom)
	})
	t.Run("a nil handle is refused with ErrNilHandle", func(t *testing.T) {
		id, err := limited.Track(connmgr.Meta{}, nil)
		assert.ErrorIs(t, err, connmgr.ErrNilHandle)
		assert.Zero(t, id)
	})
}
