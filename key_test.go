package connmgr_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

func TestKeyedTrackDetachesThenTracksThenDisconnects(t *testing.T) {
	var reported []error
	m := connmgr.New(connmgr.WithErrorHandler(func(err error) { reported = append(reported, err) }))
	defer m.Close()
	boom := errors.New("timer already fired")
	var (
		oldID, newID connmgr.ID
		returned     bool
		seen         struct {
			lookupOld, keyHolder, disconnected bool
			holder                             connmgr.ID
			playerLen                          int
		}
	)
	oldID, err := m.Track(connmgr.Meta{Name: "round-timer", Player: "p", Key: "p/round-timer"}, connmgr.HandleFunc(func() error {
		// Runs inside the replacing Track: the new holder is in place and
		// the old one is gone from every method.
		_, seen.lookupOld = m.Lookup(oldID)
		info, ok := m.LookupKey("p/round-timer")
		seen.keyHolder, seen.holder = ok, info.ID
		seen.playerLen = m.Len(connmgr.Player("p"))
		seen.disconnected = !returned
		return boom
	}))
	require.NoError(t, err)

	newID, err = m.Track(connmgr.Meta{Name: "round-timer", Player: "p", Key: "p/round-timer"}, nop{})
	returned = true
	require.NoError(t, err, "the replacing Track succeeds even when the old holder's Disconnect fails")
	assert.True(t, seen.disconnected, "the old holder is disconnected before Track returns")
	assert.False(t, seen.lookupOld, "once detached, the old holder is found by no method")
	assert.True(t, seen.keyHolder)
	assert.Equal(t, newID, seen.holder, "the new handle holds the key by the time the old one is disconnected")
	assert.Equal(t, 1, seen.playerLen, "the pool holds only the new handle")

	require.Len(t, reported, 1, "the old holder's Disconnect error goes to the error handler")
	assert.ErrorIs(t, reported[0], boom)
	var de *connmgr.DisconnectError
	require.ErrorAs(t, reported[0], &de)
	assert.Equal(t, oldID, de.Info.ID)
	assert.Equal(t, "p/round-timer", de.Info.Key)

	info, ok := m.LookupKey("p/round-timer")
	require.True(t, ok)
	assert.Equal(t, newID, info.ID)
	assert.Equal(t, "p/round-timer", info.Key, "Info carries the Key")
	st := m.Stats()
	assert.Equal(t, uint64(1), st.Disconnected, "a replaced holder counts in Disconnected")
	assert.True(t, invariantHolds(st), "invariant: %+v", st)
	require.NoError(t, m.Validate())
}

func TestRefusedKeyedTrackLeavesTheHolderAlone(t *testing.T) {
	for _, tc := range []struct {
		name string
		meta connmgr.Meta
		want error
	}{
		{"over the player limit", connmgr.Meta{Player: "full", Key: "k"}, connmgr.ErrLimit},
		{"with invalid meta", connmgr.Meta{Player: "p", Key: "k", TTL: -1}, connmgr.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newJournal()
			m := connmgr.New(connmgr.WithMaxPerPlayer(1))
			defer m.Close()
			holder, err := m.Track(connmgr.Meta{Player: "p", Key: "k"}, j.spy("holder"))
			require.NoError(t, err)
			_, err = m.TrackPlayer("full", "x", nop{})
			require.NoError(t, err)

			_, err = m.Track(tc.meta, j.spy("refused"))
			require.ErrorIs(t, err, tc.want)
			assert.Equal(t, 1, j.Count("refused"), "the refused handle is disconnected, as every refusal is")
			assert.Zero(t, j.Count("holder"), "a refused Track leaves the holder alone")
			info, ok := m.LookupKey("k")
			require.True(t, ok)
			assert.Equal(t, holder, info.ID)
			require.NoError(t, m.Validate())
		})
	}
	t.Run("on a closed manager", func(t *testing.T) {
		m := connmgr.New()
		require.NoError(t, m.Close())
		_, err := m.Track(connmgr.Meta{Key: "k"}, nop{})
		require.ErrorIs(t, err, connmgr.ErrClosed)
		_, ok := m.LookupKey("k")
		assert.False(t, ok)
	})
}

func TestAReplacedHolderDoesNotCountTowardTheLimit(t *testing.T) {
	j := newJournal()
	m := connmgr.New(connmgr.WithMaxPerPlayer(1))
	defer m.Close()
	_, err := m.Track(connmgr.Meta{Player: "p", Key: "p/timer"}, j.spy("first"))
	require.NoError(t, err)
	second, err := m.Track(connmgr.Meta{Player: "p", Key: "p/timer"}, j.spy("second"))
	require.NoError(t, err, "replacing the player's only handle keeps the player at one")
	assert.Equal(t, 1, j.Count("first"))
	assert.Equal(t, 1, m.Len(connmgr.Player("p")))
	info, _ := m.LookupKey("p/timer")
	assert.Equal(t, second, info.ID)

	_, err = m.TrackPlayer("p", "other", j.spy("other"))
	assert.ErrorIs(t, err, connmgr.ErrLimit, "the limit still holds for handles that replace nothing")
}

func TestADetachedHolderNoLongerCountsTowardTheLimit(t *testing.T) {
	// While the old holder's Disconnect runs, the player's count already
	// excludes it: a Track from inside that Disconnect fits under the limit.
	m := connmgr.New(connmgr.WithMaxPerPlayer(1))
	defer m.Close()
	var inside error
	_, err := m.Track(connmgr.Meta{Player: "p", Key: "k"}, connmgr.Func(func() {
		_, inside = m.TrackPlayer("p", "during", nop{})
	}))
	require.NoError(t, err)
	_, err = m.Track(connmgr.Meta{Key: "k"}, nop{}) // the new holder is in no player pool
	require.NoError(t, err)
	assert.NoError(t, inside)
	assert.Equal(t, 1, m.Len(connmgr.Player("p")))
}

func TestConcurrentKeyedTracksLeaveExactlyOneHolder(t *testing.T) {
	for _, freeing := range []bool{false, true} {
		name := "Tracks alone"
		if freeing {
			name = "Tracks racing DisconnectKey, so the key is often free"
		}
		t.Run(name, func(t *testing.T) {
			m := connmgr.New()
			defer m.Close()
			const workers, each = 8, 300
			var (
				disconnects sync.Map // handle name -> *atomic.Int32
				wg          sync.WaitGroup
			)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						name := fmt.Sprint(w, "/", i)
						n := new(atomic.Int32)
						disconnects.Store(name, n)
						// Spread the holders over players, and so over shards.
						meta := connmgr.Meta{Name: name, Player: fmt.Sprint("p", (w*each+i)%17), Key: "the-key"}
						if i%3 == 0 {
							meta.Player, meta.Service = "", fmt.Sprint("s", i%5)
						}
						_, err := m.Track(meta, connmgr.Func(func() { n.Add(1) }))
						assert.NoError(t, err)
						if freeing && w%2 == 0 {
							m.DisconnectKey("the-key")
						}
					}
				}()
			}
			wg.Wait()

			live := 0
			for info := range m.All() {
				assert.Equal(t, "the-key", info.Key)
				live++
			}
			require.LessOrEqual(t, live, 1, "at most one live handle holds the key")
			never, once := 0, 0
			disconnects.Range(func(_, v any) bool {
				switch v.(*atomic.Int32).Load() {
				case 0:
					never++
				case 1:
					once++
				default:
					t.Errorf("a handle was disconnected %d times", v.(*atomic.Int32).Load())
				}
				return true
			})
			assert.Equal(t, live, never, "only the live holder was never disconnected")
			assert.Equal(t, workers*each-live, once, "every other handle was disconnected exactly once")
			if !freeing {
				require.Equal(t, 1, live, "with nothing freeing the key, exactly one holder is left")
				info, ok := m.LookupKey("the-key")
				require.True(t, ok)
				n, _ := disconnects.Load(info.Name)
				assert.Zero(t, n.(*atomic.Int32).Load(), "the key names the one live holder")
			}
			require.NoError(t, m.Validate())
		})
	}
}

func TestEveryWayOutFreesTheKey(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []connmgr.Option
		meta  connmgr.Meta
		alive *atomic.Bool
		leave func(t *testing.T, m *connmgr.Manager, id connmgr.ID)
	}{
		{name: "Disconnect(id)", leave: func(t *testing.T, m *connmgr.Manager, id connmgr.ID) { require.NoError(t, m.Disconnect(id)) }},
		{name: "DisconnectKey", leave: func(t *testing.T, m *connmgr.Manager, _ connmgr.ID) { require.NoError(t, m.DisconnectKey("k")) }},
		{name: "Untrack", leave: func(t *testing.T, m *connmgr.Manager, id connmgr.ID) {
			h, ok := m.Untrack(id)
			require.True(t, ok)
			require.NoError(t, h.Disconnect(), "the handle is ours again")
		}},
		{name: "CleanupPlayer", leave: func(t *testing.T, m *connmgr.Manager, _ connmgr.ID) { cleaned(t, 1)(m.CleanupPlayer("p")) }},
		{name: "CleanupService", leave: func(t *testing.T, m *connmgr.Manager, _ connmgr.ID) { cleaned(t, 1)(m.CleanupService("s")) }},
		{name: "CleanupTag", leave: func(t *testing.T, m *connmgr.Manager, _ connmgr.ID) { cleaned(t, 1)(m.CleanupTag("t")) }},
		{name: "CleanupAll", leave: func(t *testing.T, m *connmgr.Manager, _ connmgr.ID) { cleaned(t, 1)(m.CleanupAll()) }},
		{name: "Sweep of a stale handle", alive: new(atomic.Bool), leave: func(t *testing.T, m *connmgr.Manager, _ connmgr.ID) {
			cleaned(t, 1)(m.Sweep())
		}},
		{name: "Sweep of an expired handle", meta: connmgr.Meta{Player: "p", Key: "k", TTL: time.Minute},
			leave: func(t *testing.T, m *connmgr.Manager, _ connmgr.ID) {
				time.Sleep(time.Minute)
				cleaned(t, 1)(m.Sweep())
			}},
		{name: "Sweep of an offline player", opts: []connmgr.Option{connmgr.WithPresence(func(string) bool { return false })},
			leave: func(t *testing.T, m *connmgr.Manager, _ connmgr.ID) { cleaned(t, 1)(m.Sweep()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				j := newJournal()
				m := connmgr.New(tc.opts...)
				defer m.Close()
				if tc.meta.Key == "" {
					tc.meta = connmgr.Meta{Player: "p", Service: "s", Tags: []string{"t"}, Key: "k"}
				}
				h := j.spy("holder")
				if tc.alive != nil {
					h.alive.Store(false)
				}
				id, err := m.Track(tc.meta, h)
				require.NoError(t, err)
				tc.leave(t, m, id)
				assertKeyFree(t, m, j)
			})
		})
	}
	t.Run("a Go handle whose fn returns", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			j := newJournal()
			m := connmgr.New()
			defer m.Close()
			_, err := m.Go(connmgr.Meta{Key: "k"}, func(context.Context) {})
			require.NoError(t, err)
			synctest.Wait()
			assertKeyFree(t, m, j)
		})
	})
}

// assertKeyFree checks that key "k" has no holder, and that tracking a new
// handle with it replaces nothing.
func assertKeyFree(t *testing.T, m *connmgr.Manager, j *journal) {
	t.Helper()
	_, ok := m.LookupKey("k")
	assert.False(t, ok, "the key is free")
	assert.ErrorIs(t, m.DisconnectKey("k"), connmgr.ErrNotFound)
	before := len(j.Order())
	_, err := m.Track(connmgr.Meta{Key: "k"}, j.spy("next"))
	require.NoError(t, err)
	assert.Len(t, j.Order(), before, "a new holder replaces nothing")
	require.NoError(t, m.Validate())
}

func TestDisconnectKeyAndLookupKeyEdges(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	assert.ErrorIs(t, m.DisconnectKey("missing"), connmgr.ErrNotFound)
	assert.ErrorIs(t, m.DisconnectKey(""), connmgr.ErrNotFound, "the empty key names no handle")
	_, ok := m.LookupKey("")
	assert.False(t, ok)
	_, err := m.Track(connmgr.Meta{Name: "unkeyed"}, nop{})
	require.NoError(t, err)
	_, ok = m.LookupKey("")
	assert.False(t, ok, "handles without a Key are not under the empty key")

	boom := errors.New("boom")
	_, err = m.Track(connmgr.Meta{Key: "k"}, connmgr.HandleFunc(func() error { return boom }))
	require.NoError(t, err)
	err = m.DisconnectKey("k")
	var de *connmgr.DisconnectError
	require.ErrorAs(t, err, &de, "DisconnectKey reports a failing Disconnect as Disconnect does")
	assert.ErrorIs(t, err, boom)
}

func TestDisconnectKeyAndLookupKeyDoNotGrowWithTheManager(t *testing.T) {
	perOp := func(handles int) time.Duration {
		m := connmgr.New()
		defer m.Close()
		for i := range handles {
			m.Track(connmgr.Meta{Player: fmt.Sprint("p", i%1000), Key: fmt.Sprint("k", i)}, nop{})
		}
		const ops = 1000
		start := time.Now()
		for i := range ops {
			key := fmt.Sprint("k", i*7%handles)
			if _, ok := m.LookupKey(key); !ok {
				t.Fatalf("LookupKey(%q) found nothing", key)
			}
			if err := m.DisconnectKey(key); err != nil {
				t.Fatal(err)
			}
			m.Track(connmgr.Meta{Player: "p", Key: key}, nop{})
		}
		return time.Since(start) / ops
	}
	small, large := perOp(1_000), perOp(50_000)
	// A walk of the handles would make the large manager ~50 times slower.
	assert.Less(t, large, 10*small+5*time.Microsecond, "per operation: %v with 2k handles, %v with 200k", small, large)
}
