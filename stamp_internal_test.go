package connmgr

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trackInOrder tracks n handles of the service "s", each of another player
// so that they spread over the shards, one after another, and returns the
// order in which cleaning up the service disconnects them.
func trackInOrder(t *testing.T, m *Manager, n int) (want, got []int) {
	t.Helper()
	for i := range n {
		_, err := m.Track(Meta{Name: fmt.Sprint(i), Player: fmt.Sprint("p", i), Service: "s"},
			Func(func() { got = append(got, i) }))
		require.NoError(t, err)
		want = append(want, i)
	}
	slices.Reverse(want)
	_, err := m.CleanupService("s")
	require.NoError(t, err)
	return want, got
}

func TestStampsComeFromTheClockWhereItIsFine(t *testing.T) {
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd":
	default:
		t.Skip("the monotonic clock may be coarse here")
	}
	m := New()
	defer m.Close()
	assert.Nil(t, m.counter, "on %s the clock is fine-grained, so no shared counter is needed", runtime.GOOS)

	want, got := trackInOrder(t, m, 500)
	assert.Equal(t, want, got, "handles tracked one after another, over every shard, are cleaned up newest first")

	for i := range m.shards {
		s := m.shards[i]
		assert.LessOrEqual(t, s.last, uint64(m.now()), "a fine stamp is the time its Track read")
	}

	h := Func(func() {})
	_, err := m.TrackPlayer("p", "resident", h)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		id, _ := m.TrackPlayer("p", "h", h)
		_ = m.Disconnect(id)
	})
	assert.Zero(t, allocs, "a plain player handle's Track allocates nothing")
}

func TestStampsComeFromACounterWhereTimeStandsStill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		assert.False(t, fineClock(clockProbes), "inside a bubble time stands still")
		m := New()
		defer m.Close()
		require.NotNil(t, m.counter, "so the manager counts instead")

		want, got := trackInOrder(t, m, 500)
		assert.Equal(t, want, got, "handles tracked at the very same time, over every shard, are still cleaned up newest first")

		id, err := m.TrackPlayer("p", "h", Func(func() {}))
		require.NoError(t, err)
		info, ok := m.Lookup(id)
		require.True(t, ok)
		assert.True(t, info.Created.Equal(time.Now()), "Created stays the time of Track")

		h := Func(func() {})
		allocs := testing.AllocsPerRun(100, func() {
			id, _ := m.TrackPlayer("p", "h", h)
			_ = m.Disconnect(id)
		})
		assert.Equal(t, 1.0, allocs, "the creation time costs one small allocation per Track")
	})
}
