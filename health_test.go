package connmgr_test

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

func TestHealthListsAreExactForAQuiescentManager(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := connmgr.New()
		defer m.Close()
		type spec struct {
			player, service, name string
			n                     int
		}
		var ids []connmgr.ID
		track := func(s spec) {
			for range s.n {
				id, err := m.Track(connmgr.Meta{Name: s.name, Player: s.player, Service: s.service}, nop{})
				require.NoError(t, err)
				ids = append(ids, id)
			}
		}
		// Several handles share each Created time, so Oldest must break
		// ties by ID.
		track(spec{"alice", "Pets", "Heartbeat", 3})
		track(spec{"bob", "", "", 2})
		time.Sleep(time.Second)
		track(spec{"carol", "Shop", "chat", 3})
		track(spec{"", "Chat", "chat", 2})
		time.Sleep(time.Second)
		track(spec{"alice", "Pets", "", 2})
		track(spec{"dave", "Shop", "Heartbeat", 1})
		track(spec{"bob", "Chat", "zeta", 1})
		time.Sleep(time.Second)
		_, err := m.Go(connmgr.Meta{Name: "loop", Player: "erin", Key: "erin/loop"}, func(ctx context.Context) { <-ctx.Done() })
		require.NoError(t, err)

		h := m.Health(3)
		assert.Equal(t, m.Stats(), h.Stats)
		assert.Equal(t, []connmgr.PoolCount{
			{connmgr.Player("alice"), 5}, {connmgr.Player("bob"), 3}, {connmgr.Player("carol"), 3},
		}, h.TopPlayers, "most first, ties by name; dave and erin do not make the top 3")
		assert.Equal(t, []connmgr.PoolCount{
			{connmgr.Service("Pets"), 5}, {connmgr.Service("Shop"), 4}, {connmgr.Service("Chat"), 3},
		}, h.TopServices)
		assert.Equal(t, []connmgr.NameCount{{"chat", 5}, {"Heartbeat", 4}, {"loop", 1}}, h.TopNames,
			"the empty name is left out; ties by name")

		// The three oldest: the first five share one Created time.
		first := slices.Clone(ids[:5])
		slices.SortFunc(first, func(a, b connmgr.ID) int { return cmp.Compare(a, b) })
		require.Len(t, h.Oldest, 3)
		for i, info := range h.Oldest {
			assert.Equal(t, first[i], info.ID, "Oldest is ordered by Created, ties by ID")
			want, _ := m.Lookup(first[i])
			assert.Equal(t, want, info)
		}
		assert.Empty(t, h.Problems)

		all := m.Health(0)
		assert.Len(t, all.TopPlayers, 5, "n <= 0 means 10: every player pool fits")
		assert.Len(t, all.Oldest, 10)
		assert.Equal(t, "erin/loop", m.Health(100).Oldest[len(ids)].Key, "the newest handle is the last of Oldest")
	})
}

func TestHealthOfAnEmptyManager(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	h := m.Health(5)
	assert.Empty(t, h.TopPlayers)
	assert.Empty(t, h.TopServices)
	assert.Empty(t, h.TopNames)
	assert.Empty(t, h.Oldest)
	assert.Empty(t, h.Problems)
}

func TestHealthUnderConcurrentChangeReportsNoFalseProblems(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	// Enough handles that each walk spans many chunks, and so many changes.
	for i := range 4000 {
		_, err := m.Track(connmgr.Meta{Player: fmt.Sprint("base", i%29), Service: fmt.Sprint("s", i%3), Tags: []string{"t0"}}, nop{})
		require.NoError(t, err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				player := fmt.Sprint("p", (w*7+i)%23)
				meta := connmgr.Meta{Name: fmt.Sprint("n", i%5), Player: player, Service: fmt.Sprint("s", i%3), Tags: []string{fmt.Sprint("t", i%4)}}
				if i%6 == 0 {
					meta.Key = fmt.Sprint("k", i%11)
				}
				id, _ := m.Track(meta, nop{})
				switch i % 50 {
				case 7:
					m.Disconnect(id)
				case 13:
					m.CleanupPlayer(player)
				case 29:
					m.CleanupTag(meta.Tags[0])
				case 41:
					m.DisconnectKey(fmt.Sprint("k", i%11))
				}
			}
		}()
	}
	for range 30 {
		h := m.Health(5)
		require.Empty(t, h.Problems, "a healthy manager under load has no problems")
	}
	stop.Store(true)
	wg.Wait()
	assert.Empty(t, m.Health(5).Problems)
	require.NoError(t, m.Validate())
}

// A chat service that leaks: onJoin subscribes each player to the chat
// channel in the service's pool, not the player's, so CleanupPlayer never
// removes it. Health finds it.
type leakyChat struct{ m *connmgr.Manager }

func (c *leakyChat) onJoin(player string) {
	c.m.TrackService("Chat", "chat", nop{}) // BUG: should be in the player's pool
}

// bugLine returns the line of health_test.go that says BUG.
func bugLine(t *testing.T) int {
	src, err := os.ReadFile("health_test.go")
	require.NoError(t, err)
	for i, line := range strings.Split(string(src), "\n") {
		if strings.Contains(line, "// BUG: ") {
			return i + 1
		}
	}
	t.Fatal("no BUG line in health_test.go")
	return 0
}

func TestHealthFindsADeliberateLeak(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := connmgr.New(connmgr.WithCallers(true))
		defer m.Close()
		chat := &leakyChat{m}
		for i := range 300 {
			player := fmt.Sprint("p", i)
			m.TrackPlayer(player, "Heartbeat", nop{})
			m.Track(connmgr.Meta{Name: "round-timer", Player: player, Key: player + "/round"}, nop{})
			chat.onJoin(player)
			time.Sleep(time.Second)
			if i%10 != 9 { // most players have left again
				m.CleanupPlayer(player)
			}
		}
		h := m.Health(3)
		t.Logf("Health(3) after 300 joins and 270 leaves:\n%s", formatHealth(h))

		require.NotEmpty(t, h.TopServices)
		assert.Equal(t, connmgr.PoolCount{Pool: connmgr.Service("Chat"), Count: 300}, h.TopServices[0], "the leak stands out")
		require.Len(t, h.Oldest, 3)
		assert.Equal(t, connmgr.NameCount{Name: "chat", Count: 300}, h.TopNames[0])
		assert.Equal(t, "chat", h.Oldest[0].Name, "the oldest handle is the first leaked one")
		assert.Equal(t, fmt.Sprintf("health_test.go:%d github.com/connmgr/connmgr_test.(*leakyChat).onJoin", bugLine(t)), h.Oldest[0].Caller,
			"and its Caller points at the leaking line")
		assert.Empty(t, h.Problems)
	})
}

// formatHealth renders a Health report as a debug page might.
func formatHealth(h connmgr.Health) string {
	var b strings.Builder
	fmt.Fprintf(&b, "active %d, tracked %d, disconnected %d, exited %d\n", h.Stats.Active, h.Stats.Tracked, h.Stats.Disconnected, h.Stats.Exited)
	fmt.Fprintf(&b, "top players: ")
	for _, pc := range h.TopPlayers {
		fmt.Fprintf(&b, "%s=%d ", pc.Pool, pc.Count)
	}
	fmt.Fprintf(&b, "\ntop services: ")
	for _, pc := range h.TopServices {
		fmt.Fprintf(&b, "%s=%d ", pc.Pool, pc.Count)
	}
	fmt.Fprintf(&b, "\ntop names: ")
	for _, nc := range h.TopNames {
		fmt.Fprintf(&b, "%s=%d ", nc.Name, nc.Count)
	}
	fmt.Fprintf(&b, "\noldest:\n")
	for _, info := range h.Oldest {
		var pools []string
		for _, p := range []connmgr.Pool{connmgr.Player(info.Player), connmgr.Service(info.Service)} {
			if !strings.HasSuffix(p.String(), ":") {
				pools = append(pools, p.String())
			}
		}
		fmt.Fprintf(&b, "  %q in %s, %v old, tracked at %s\n", info.Name, strings.Join(pools, ", "), time.Since(info.Created), info.Caller)
	}
	fmt.Fprintf(&b, "problems: %d", len(h.Problems))
	return b.String()
}
