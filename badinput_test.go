package connmgr_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

// TestBadInput feeds each kind of bad input to a fresh manager and checks
// its exact error or result.
func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, m *connmgr.Manager)
	}{
		{"Track of a nil handle returns ErrNilHandle and ID 0 and counts nothing", func(t *testing.T, m *connmgr.Manager) {
			id, err := m.Track(connmgr.Meta{Player: "p"}, nil)
			assert.Same(t, connmgr.ErrNilHandle, err, "Track(nil) should return ErrNilHandle itself")
			assert.Zero(t, id, "Track(nil) should return ID 0")
			st := m.Stats()
			assert.Zero(t, st.Tracked+st.Rejected, "a nil handle is neither tracked nor rejected (there is nothing to disconnect)")
		}},
		{"Func(nil), Closer(nil), Timer(nil) and Ticker(nil) return nil, which Track refuses with ErrNilHandle", func(t *testing.T, m *connmgr.Manager) {
			for name, h := range map[string]connmgr.Handle{
				"Func(nil)":   connmgr.Func(nil),
				"Closer(nil)": connmgr.Closer(nil),
				"Timer(nil)":  connmgr.Timer(nil),
				"Ticker(nil)": connmgr.Ticker(nil),
			} {
				assert.Nil(t, h, "%s should return a nil Handle", name)
				_, err := m.TrackPlayer("p", name, h)
				assert.Same(t, connmgr.ErrNilHandle, err, "Track of %s should return ErrNilHandle", name)
			}
		}},
		{"Track with an empty tag is refused with ErrInvalid and the handle is disconnected", func(t *testing.T, m *connmgr.Manager) {
			checkRefused(t, m, `connmgr: invalid argument: empty tag for "h"`, connmgr.ErrInvalid, func(h connmgr.Handle) (connmgr.ID, error) {
				return m.Track(connmgr.Meta{Name: "h", Player: "p", Tags: []string{"a", ""}}, h)
			})
		}},
		{"TrackTag with an empty tag is refused with ErrInvalid and the handle is disconnected", func(t *testing.T, m *connmgr.Manager) {
			checkRefused(t, m, `connmgr: invalid argument: empty tag for "h"`, connmgr.ErrInvalid, func(h connmgr.Handle) (connmgr.ID, error) {
				return m.TrackTag("", "h", h)
			})
		}},
		{"Track with a negative TTL is refused with ErrInvalid and the handle is disconnected", func(t *testing.T, m *connmgr.Manager) {
			checkRefused(t, m, `connmgr: invalid argument: negative TTL -1s for "h"`, connmgr.ErrInvalid, func(h connmgr.Handle) (connmgr.ID, error) {
				return m.Track(connmgr.Meta{Name: "h", Player: "p", TTL: -time.Second}, h)
			})
		}},
		{"ID 0 is found by neither Disconnect, Untrack nor Lookup", func(t *testing.T, m *connmgr.Manager) {
			_, err := m.TrackPlayer("p", "h", &counted{})
			require.NoError(t, err)
			checkNotFound(t, m, 0)
		}},
		{"an ID the manager never issued is found by neither Disconnect, Untrack nor Lookup", func(t *testing.T, m *connmgr.Manager) {
			_, err := m.TrackPlayer("p", "h", &counted{})
			require.NoError(t, err)
			checkNotFound(t, m, ^connmgr.ID(0))
			checkNotFound(t, m, 1<<40|12345)
		}},
		{"a removed ID is not found, and never names a later handle in its slot", func(t *testing.T, m *connmgr.Manager) {
			old, err := m.TrackPlayer("p", "old", &counted{})
			require.NoError(t, err)
			require.NoError(t, m.Disconnect(old))
			later := make([]*counted, 1000)
			for i := range later {
				later[i] = &counted{}
				_, err := m.TrackPlayer("p", "later", later[i]) // same player, same shard: reuses the slot
				require.NoError(t, err)
			}
			checkNotFound(t, m, old)
			for i, h := range later {
				assert.Zero(t, h.calls.Load(), "handle %d, tracked after the removal, should be untouched", i)
			}
			assert.Equal(t, 1000, m.Len(connmgr.Player("p")), "the later handles should all stay tracked")
		}},
		{"Untrack hands the handle back, after which Disconnect returns ErrNotFound and does not disconnect it", func(t *testing.T, m *connmgr.Manager) {
			h := &counted{}
			id, err := m.TrackPlayer("p", "h", h)
			require.NoError(t, err)
			got, ok := m.Untrack(id)
			require.True(t, ok, "Untrack of a tracked handle should report true")
			assert.Same(t, h, got, "Untrack should hand back the very handle")
			checkNotFound(t, m, id)
			assert.Zero(t, h.calls.Load(), "an untracked handle should not be disconnected")
			assert.EqualValues(t, 1, m.Stats().Untracked, "Stats.Untracked")
		}},
		{"Cleanup of the zero Pool or of an empty name returns 0 and ErrInvalid", func(t *testing.T, m *connmgr.Manager) {
			_, err := m.TrackPlayer("p", "h", &counted{})
			require.NoError(t, err)
			for name, cleanup := range map[string]func() (int, error){
				"Cleanup(Pool{})":    func() (int, error) { return m.Cleanup(connmgr.Pool{}) },
				`CleanupPlayer("")`:  func() (int, error) { return m.CleanupPlayer("") },
				`CleanupService("")`: func() (int, error) { return m.CleanupService("") },
				`CleanupTag("")`:     func() (int, error) { return m.CleanupTag("") },
			} {
				n, err := cleanup()
				assert.Zero(t, n, "%s should disconnect nothing", name)
				assert.ErrorIs(t, err, connmgr.ErrInvalid, "%s should return ErrInvalid", name)
			}
			assert.Zero(t, m.Len(connmgr.Pool{}), "Len of the zero Pool should be 0")
			assert.Equal(t, 1, m.Stats().Active, "nothing should have been disconnected")
		}},
		{"after Close, Track returns ErrClosed and disconnects the handle", func(t *testing.T, m *connmgr.Manager) {
			require.NoError(t, m.Close())
			checkRefused(t, m, "connmgr: manager closed", connmgr.ErrClosed, func(h connmgr.Handle) (connmgr.ID, error) {
				return m.TrackPlayer("p", "h", h)
			})
		}},
		{"after Close, every Cleanup, CleanupAll and Sweep return 0 and nil", func(t *testing.T, m *connmgr.Manager) {
			for _, p := range []string{"p", "q"} {
				_, err := m.Track(connmgr.Meta{Player: p, Service: "s", Tags: []string{"t"}, TTL: time.Nanosecond}, &counted{})
				require.NoError(t, err)
			}
			require.NoError(t, m.Close())
			for name, cleanup := range map[string]func() (int, error){
				"Cleanup":        func() (int, error) { return m.Cleanup(connmgr.Player("p")) },
				"CleanupPlayer":  func() (int, error) { return m.CleanupPlayer("p") },
				"CleanupService": func() (int, error) { return m.CleanupService("s") },
				"CleanupTag":     func() (int, error) { return m.CleanupTag("t") },
				"CleanupAll":     m.CleanupAll,
				"Sweep":          m.Sweep,
			} {
				n, err := cleanup()
				assert.Zero(t, n, "%s after Close should find nothing", name)
				assert.NoError(t, err, "%s after Close should return nil", name)
			}
		}},
		{"after Close, CleanupOnDone returns a stop func that reports false, and the context's end does nothing", func(t *testing.T, m *connmgr.Manager) {
			require.NoError(t, m.Close())
			ctx, cancel := context.WithCancel(context.Background())
			stop := m.CleanupOnDone(ctx, connmgr.Player("p"))
			cancel()
			assert.False(t, stop(), "stop of a registration on a closed manager should report false")
			assert.Zero(t, m.Stats().Active)
		}},
		{"Shutdown with a nil context panics with a connmgr: message", func(t *testing.T, m *connmgr.Manager) {
			var ctx context.Context
			assert.PanicsWithValue(t, "connmgr: Shutdown with nil Context", func() { _ = m.Shutdown(ctx) })
		}},
		{"CleanupOnDone with a nil context panics with a connmgr: message", func(t *testing.T, m *connmgr.Manager) {
			var ctx context.Context
			assert.PanicsWithValue(t, "connmgr: CleanupOnDone with nil Context", func() { m.CleanupOnDone(ctx, connmgr.Player("p")) })
		}},
		{"a 1 MiB player ID and 10,000 tags are accepted and cleaned fully", testHugeInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := connmgr.New()
			defer m.Close()
			tc.test(t, m)
			assert.NoError(t, m.Validate())
		})
	}
}

// checkRefused checks that track refuses a handle with exactly the message
// want, wrapping is, returns ID 0 and disconnects the handle before
// returning, counting it in Rejected and not in Tracked.
func checkRefused(t *testing.T, m *connmgr.Manager, want string, is error, track func(connmgr.Handle) (connmgr.ID, error)) {
	t.Helper()
	h := &counted{}
	id, err := track(h)
	assert.EqualError(t, err, want, "Track should say why it refused")
	assert.ErrorIs(t, err, is, "Track's refusal should wrap %v", is)
	assert.Zero(t, id, "a refused Track should return ID 0")
	assert.EqualValues(t, 1, h.calls.Load(), "a refused handle should be disconnected before Track returns")
	st := m.Stats()
	assert.EqualValues(t, 1, st.Rejected, "Stats.Rejected should count the refusal")
	assert.Zero(t, st.Tracked, "a refused handle should not count as tracked")
}

// checkNotFound checks that id names no tracked handle for Disconnect,
// Untrack and Lookup.
func checkNotFound(t *testing.T, m *connmgr.Manager, id connmgr.ID) {
	t.Helper()
	assert.Same(t, connmgr.ErrNotFound, m.Disconnect(id), "Disconnect(%d) should return ErrNotFound", id)
	h, ok := m.Untrack(id)
	assert.False(t, ok, "Untrack(%d) should report false", id)
	assert.Nil(t, h, "Untrack(%d) should hand back nothing", id)
	info, ok := m.Lookup(id)
	assert.False(t, ok, "Lookup(%d) should report false", id)
	assert.Zero(t, info, "Lookup(%d) should return a zero Info", id)
}

func testHugeInput(t *testing.T, m *connmgr.Manager) {
	player := strings.Repeat("p", 1<<20)
	tags := make([]string, 10_000)
	for i := range tags {
		tags[i] = fmt.Sprint("tag", i)
	}
	empty := m.Stats().MemoryBytes
	h, small := &counted{}, &counted{}
	id, err := m.Track(connmgr.Meta{Name: "huge", Player: player, Service: "s", Tags: tags}, h)
	require.NoError(t, err, "a 1 MiB player ID and 10,000 tags should be accepted")
	_, err = m.TrackPlayer(player, "small", small)
	require.NoError(t, err)

	info, ok := m.Lookup(id)
	require.True(t, ok)
	assert.Equal(t, player, info.Player, "Lookup should report the whole player ID")
	assert.Equal(t, tags, info.Tags, "Lookup should report every tag")
	assert.Equal(t, 2, m.Len(connmgr.Player(player)), "the player pool should hold both handles")
	for _, tag := range tags {
		require.Equal(t, 1, m.Len(connmgr.Tag(tag)), "tag pool %s should hold the handle", tag)
	}
	st := m.Stats()
	assert.Equal(t, 1, st.PlayerPools, "Stats.PlayerPools")
	assert.Equal(t, 10_000, st.TagPools, "Stats.TagPools")
	assert.NoError(t, m.Validate())

	n, err := m.CleanupTag("tag5000")
	assert.Equal(t, 1, n, "cleaning one of its tags should disconnect the handle")
	assert.NoError(t, err)
	assert.EqualValues(t, 1, h.calls.Load(), "the handle should be disconnected once")
	for _, tag := range tags {
		require.Zero(t, m.Len(connmgr.Tag(tag)), "tag pool %s should be empty", tag)
	}
	assert.Zero(t, m.Len(connmgr.Service("s")), "the service pool should be empty")
	assert.Equal(t, 1, m.Len(connmgr.Player(player)), "the player pool should hold only the other handle")

	n, err = m.CleanupPlayer(player)
	assert.Equal(t, 1, n, "CleanupPlayer should take the other handle")
	assert.NoError(t, err)
	st = m.Stats()
	assert.Zero(t, st.Active+st.PlayerPools+st.ServicePools+st.TagPools, "nothing should be left: %+v", st)
	assert.Equal(t, empty, st.MemoryBytes, "the memory estimate should return to that of an empty manager")
}
