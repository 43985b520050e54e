package connmgr_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

// TestMaxPerPlayer checks WithMaxPerPlayer, the guard against a client that
// opens subscriptions in a loop: a player pool never holds more than n live
// handles, a refused handle is disconnected at once and counted in Rejected,
// and nobody else is affected.
func TestMaxPerPlayer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int
		test  func(t *testing.T, m *connmgr.Manager)
	}{
		{"with n = 0, the default, a player can hold any number of handles", 0, func(t *testing.T, m *connmgr.Manager) {
			trackN(t, m, "p", 1000)
		}},
		{"with a negative n a player can hold any number of handles", -1, func(t *testing.T, m *connmgr.Manager) {
			trackN(t, m, "p", 1000)
		}},
		{"with n = 3 the fourth live handle of a player is refused with ErrLimit and disconnected", 3, func(t *testing.T, m *connmgr.Manager) {
			trackN(t, m, "p", 3)
			h := &counted{}
			id, err := m.TrackPlayer("p", "one too many", h)
			assert.ErrorIs(t, err, connmgr.ErrLimit, "the fourth Track should wrap ErrLimit")
			assert.EqualError(t, err, `connmgr: limit reached: player "p" already has 3 handles`, "the error should name the player and the limit")
			assert.Zero(t, id, "a refused Track should return ID 0")
			assert.EqualValues(t, 1, h.calls.Load(), "the refused handle should be disconnected before Track returns")
			assert.Equal(t, 3, m.Len(connmgr.Player("p")), "the pool should stay at the limit")
			st := m.Stats()
			assert.EqualValues(t, 1, st.Rejected, "Stats.Rejected should count the refusal")
			assert.EqualValues(t, 3, st.Tracked, "Stats.Tracked should not count the refusal")
		}},
		{"a full player does not affect other players or handles in no player pool", 3, func(t *testing.T, m *connmgr.Manager) {
			trackN(t, m, "p", 3)
			_, err := m.TrackPlayer("p", "one too many", &counted{})
			require.ErrorIs(t, err, connmgr.ErrLimit)
			trackN(t, m, "q", 3)
			for range 10 {
				_, err := m.Track(connmgr.Meta{Service: "s", Tags: []string{"t"}}, &counted{})
				assert.NoError(t, err, "handles in no player pool should not be limited")
			}
		}},
		{"the limit counts live handles, so a handle fits again once one leaves by any path", 2, func(t *testing.T, m *connmgr.Manager) {
			ids := trackN(t, m, "p", 2)
			for _, leave := range []struct {
				how string
				do  func(id connmgr.ID)
			}{
				{"Disconnect", func(id connmgr.ID) { require.NoError(t, m.Disconnect(id)) }},
				{"Untrack", func(id connmgr.ID) {
					h, ok := m.Untrack(id)
					require.True(t, ok)
					require.NoError(t, h.Disconnect(), "the caller owns an untracked handle")
				}},
			} {
				_, err := m.TrackPlayer("p", "over", &counted{})
				require.ErrorIs(t, err, connmgr.ErrLimit, "the pool should be full before %s", leave.how)
				leave.do(ids[0])
				ids[0], err = m.TrackPlayer("p", "refill", &counted{})
				assert.NoError(t, err, "a handle should fit after another left by %s", leave.how)
			}
			_, err := m.CleanupPlayer("p")
			require.NoError(t, err)
			trackN(t, m, "p", 2)
		}},
		{"a refused handle whose Disconnect fails joins its failure to ErrLimit", 1, func(t *testing.T, m *connmgr.Manager) {
			trackN(t, m, "p", 1)
			h := &counted{fault: returnError}
			_, err := m.TrackPlayer("p", "failing", h)
			assert.ErrorIs(t, err, connmgr.ErrLimit, "the refusal should wrap ErrLimit")
			assert.ErrorIs(t, err, errDisconnect, "the refusal should carry the Disconnect failure")
			des := disconnectErrors(err)
			if assert.Len(t, des, 1, "the refusal should hold one DisconnectError") {
				assert.Equal(t, "failing", des[0].Info.Name, "the DisconnectError should name the handle")
			}
			assert.EqualValues(t, 1, m.Stats().Failed, "Stats.Failed should count the failed Disconnect")
		}},
		{"goroutines racing into one player are held to exactly n", 50, func(t *testing.T, m *connmgr.Manager) {
			var (
				wg                sync.WaitGroup
				accepted, refused atomic.Int32
			)
			for range 8 {
				wg.Go(func() {
					for range 100 {
						h := &counted{}
						if _, err := m.TrackPlayer("p", "racer", h); err != nil {
							assert.ErrorIs(t, err, connmgr.ErrLimit)
							assert.EqualValues(t, 1, h.calls.Load(), "each refused handle should be disconnected")
							refused.Add(1)
						} else {
							accepted.Add(1)
						}
						assert.LessOrEqual(t, m.Len(connmgr.Player("p")), 50, "the pool should never exceed the limit")
					}
				})
			}
			wg.Wait()
			assert.EqualValues(t, 50, accepted.Load(), "exactly n Tracks should be accepted")
			assert.EqualValues(t, 750, refused.Load(), "every other Track should be refused")
			assert.EqualValues(t, 750, m.Stats().Rejected, "Stats.Rejected should count every refusal")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := connmgr.New(connmgr.WithMaxPerPlayer(tc.limit))
			defer m.Close()
			tc.test(t, m)
			assert.NoError(t, m.Validate())
		})
	}
}

// trackN tracks n handles into player's pool, requiring each to be accepted.
func trackN(t *testing.T, m *connmgr.Manager, player string, n int) []connmgr.ID {
	t.Helper()
	ids := make([]connmgr.ID, n)
	for i := range ids {
		var err error
		ids[i], err = m.TrackPlayer(player, "h", &counted{})
		require.NoError(t, err, "handle %d of %d should fit in player %s's pool", i+1, n, player)
	}
	return ids
}
