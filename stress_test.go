package connmgr_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

// The stress test's world: few enough pools that the goroutines keep
// running into each other.
var (
	stressPlayers  = []string{"p0", "p1", "p2", "p3", "p4", "p5"}
	stressServices = []string{"s0", "s1", "s2"}
	stressTags     = []string{"t0", "t1", "t2", "t3"}
)

const stressMaxPerPlayer = 16

// TestStress runs 8 goroutines doing a fixed number of random operations
// of every kind on overlapping players, services and tags, with handles
// that fail, panic, go stale, and call back into the manager from
// Disconnect (Track into the pool being cleaned, Disconnect of their own ID,
// Cleanup of another pool, Stats). Between rounds the fake clock moves, so
// TTLs pass and the background sweeper runs. Afterwards it closes the
// manager and checks that every handle was disconnected exactly once, or
// handed back by Untrack, or dropped as stale, and that Stats and Validate
// agree.
func TestStress(t *testing.T) {
	const (
		workers = 8
		rounds  = 6
		ops     = 700 // per worker per round
	)
	synctest.Test(t, func(t *testing.T) {
		s := newStress(t)
		for round := range rounds {
			var wg sync.WaitGroup
			for w := range workers {
				rng := rand.New(rand.NewPCG(uint64(round), uint64(w)))
				wg.Go(func() { s.work(rng, ops) })
			}
			wg.Wait()
			// Between rounds time moves on: the background sweeper (every
			// 300ms) expires handles with a 500ms TTL, and those with a 1s TTL
			// are left for the next round's Sweeps, which run concurrently.
			time.Sleep(time.Second)
		}

		require.NoError(t, ignoreDisconnectErrors(s.m.Close()), "Close should return only disconnect errors")
		for _, r := range s.regs {
			assert.False(t, r.stop(), "after Close every CleanupOnDone registration should be gone")
			r.cancel()
		}
		synctest.Wait() // cleanups that CleanupOnDone started before Close finish
		s.checkAccounts()
	})
}

// stress is the shared state of TestStress.
type stress struct {
	t       *testing.T
	m       *connmgr.Manager
	offline [6]atomic.Bool // by player index: what the presence function reports

	mu   sync.Mutex // guards the fields below
	hs   []*stressHandle
	regs []registration
}

// registration is a CleanupOnDone call and the context it watches.
type registration struct {
	cancel context.CancelFunc
	stop   func() bool
}

func newStress(t *testing.T) *stress {
	s := &stress{t: t}
	s.m = connmgr.New(
		connmgr.WithMaxPerPlayer(stressMaxPerPlayer),
		connmgr.WithSweepInterval(300*time.Millisecond),
		connmgr.WithPresence(func(player string) bool {
			var i int
			_, err := fmt.Sscanf(player, "p%d", &i)
			assert.NoError(t, err, "the presence function should be asked about a player")
			return !s.offline[i].Load()
		}),
		connmgr.WithErrorHandler(func(err error) {
			assert.NoError(t, ignoreDisconnectErrors(err), "background cleanups should report only disconnect errors")
		}),
	)
	return s
}

// stressHandle is what the stress test knows of one of its handles. It is
// not itself a Handle: h is what gets tracked.
type stressHandle struct {
	s       *stress
	name    string
	meta    connmgr.Meta
	fault   fault
	live    bool        // h implements Liveness
	dead    atomic.Bool // Connected reports !dead; once dead, it stays dead
	reenter bool        // Disconnect calls back into the manager
	other   connmgr.Pool
	h       connmgr.Handle // a stressConn, or a stressLive when live

	calls      atomic.Int32 // Disconnect calls
	id         atomic.Uint64
	refused    atomic.Bool    // Track refused it
	handedBack connmgr.Handle // what Untrack handed back; written once, read after the workers stop
}

// stressConn is the Handle of a stressHandle.
type stressConn struct{ *stressHandle }

func (c stressConn) Disconnect() error {
	if c.reenter {
		c.callBack()
	}
	c.calls.Add(1)
	return c.fault.do()
}

// stressLive is the Handle of a stressHandle that implements Liveness.
type stressLive struct{ stressConn }

func (l stressLive) Connected() bool { return !l.dead.Load() }

// callBack calls back into the manager as a handle's Disconnect may.
func (h *stressHandle) callBack() {
	s, m := h.s, h.s.m
	if err := m.Disconnect(connmgr.ID(h.id.Load())); !errors.Is(err, connmgr.ErrNotFound) {
		s.t.Errorf("%s: Disconnect of its own ID from its Disconnect returned %v, want ErrNotFound", h.name, err)
	}
	s.track(s.newHandle(connmgr.Meta{Player: h.meta.Player, Service: h.meta.Service, Tags: h.meta.Tags}, noFault, false, false, h.other))
	_, err := m.Cleanup(h.other)
	assert.NoError(s.t, ignoreDisconnectErrors(err), "a Cleanup from inside Disconnect should work")
	checkInvariant(s.t, m.Stats())
}

// newHandle makes a handle to track with meta, named for its place in hs.
func (s *stress) newHandle(meta connmgr.Meta, f fault, live, reenter bool, other connmgr.Pool) *stressHandle {
	h := &stressHandle{s: s, meta: meta, fault: f, live: live, reenter: reenter, other: other}
	h.h = stressConn{h}
	if live {
		h.h = stressLive{stressConn{h}}
	}
	s.mu.Lock()
	h.name = fmt.Sprintf("h%d", len(s.hs))
	h.meta.Name = h.name
	s.hs = append(s.hs, h)
	s.mu.Unlock()
	return h
}

// track tracks h, through whichever Track method fits its meta.
func (s *stress) track(h *stressHandle) {
	meta := h.meta
	var (
		id  connmgr.ID
		err error
	)
	switch {
	case meta.Service == "" && len(meta.Tags) == 0 && meta.TTL == 0 && meta.Player != "":
		id, err = s.m.TrackPlayer(meta.Player, meta.Name, h.h)
	case meta.Player == "" && len(meta.Tags) == 0 && meta.TTL == 0 && meta.Service != "":
		id, err = s.m.TrackService(meta.Service, meta.Name, h.h)
	case meta.Player == "" && meta.Service == "" && len(meta.Tags) == 1 && meta.TTL == 0:
		id, err = s.m.TrackTag(meta.Tags[0], meta.Name, h.h)
	default:
		id, err = s.m.Track(meta, h.h)
	}
	if err != nil {
		h.refused.Store(true)
		if !errors.Is(err, connmgr.ErrInvalid) && !errors.Is(err, connmgr.ErrLimit) && !errors.Is(err, connmgr.ErrClosed) {
			s.t.Errorf("%s: Track refused it with %v, want ErrInvalid, ErrLimit or ErrClosed", h.name, err)
		}
		assert.Zero(s.t, id, "a refused Track should return ID 0")
		assert.EqualValues(s.t, 1, h.calls.Load(), "%s: a refused handle should be disconnected once before Track returns", h.name)
		return
	}
	h.id.Store(uint64(id))
}

// work runs n random operations.
func (s *stress) work(rng *rand.Rand, n int) {
	t, m := s.t, s.m
	var regs []registration
	for range n {
		// Out of 400: 160 Track, 40 Disconnect, 20 Untrack, 24 Lookup,
		// 16 Cleanup, 1 CleanupAll, 12 Sweep, 1 player going offline, 2
		// coming back, 24 Liveness flips, 20 Stats, 4 Validate, 24
		// CleanupOnDone, 24 ends of one, 28 Len.
		switch k := rng.IntN(400); {
		case k < 160:
			s.track(s.newHandle(randomMeta(rng), randomFault(rng), rng.IntN(4) == 0, rng.IntN(8) == 0, randomPool(rng)))
		case k < 200:
			h := s.pick(rng)
			err := m.Disconnect(connmgr.ID(h.id.Load()))
			if err != nil && !errors.Is(err, connmgr.ErrNotFound) {
				var de *connmgr.DisconnectError
				if assert.ErrorAs(t, err, &de, "Disconnect should fail only with ErrNotFound or a DisconnectError") {
					assert.Equal(t, h.name, de.Info.Name, "the DisconnectError should name the handle")
					assert.True(t, h.fault.fails(), "only a failing handle should fail")
				}
			}
		case k < 220:
			h := s.pick(rng)
			if got, ok := m.Untrack(connmgr.ID(h.id.Load())); ok {
				assert.True(t, got == h.h, "Untrack should hand back the handle its ID names")
				h.handedBack = got // the test owns it now, and keeps it undisconnected to check the counts
			}
		case k < 244:
			h := s.pick(rng)
			if info, ok := m.Lookup(connmgr.ID(h.id.Load())); ok {
				assert.Equal(t, h.name, info.Name, "an ID should never name a different handle")
				assert.Equal(t, h.meta.Player, info.Player, "Lookup should report the handle's player")
			}
		case k < 260:
			s.cleanup(rng)
		case k < 261:
			_, err := m.CleanupAll()
			assert.NoError(t, ignoreDisconnectErrors(err), "CleanupAll should return only disconnect errors")
		case k < 273:
			_, err := m.Sweep()
			assert.NoError(t, ignoreDisconnectErrors(err), "Sweep should return only disconnect errors")
		case k < 274:
			s.offline[rng.IntN(len(s.offline))].Store(true)
		case k < 276:
			s.offline[rng.IntN(len(s.offline))].Store(false)
		case k < 300:
			s.pick(rng).dead.Store(true)
		case k < 320:
			checkInvariant(t, m.Stats())
		case k < 324:
			assert.NoError(t, m.Validate(), "Validate should find no inconsistency, even while others work")
		case k < 348:
			ctx, cancel := context.WithCancel(context.Background())
			regs = append(regs, registration{cancel, m.CleanupOnDone(ctx, randomPool(rng))})
		case k < 372:
			if len(regs) > 0 {
				r := regs[rng.IntN(len(regs))]
				if rng.IntN(2) == 0 {
					r.cancel()
				} else {
					r.stop()
				}
			}
		default:
			p := stressPlayers[rng.IntN(len(stressPlayers))]
			assert.LessOrEqual(t, m.Len(connmgr.Player(p)), stressMaxPerPlayer, "no player pool should exceed WithMaxPerPlayer")
		}
	}
	s.mu.Lock()
	s.regs = append(s.regs, regs...)
	s.mu.Unlock()
}

// cleanup cleans a random pool through a random Cleanup method.
func (s *stress) cleanup(rng *rand.Rand) {
	var err error
	switch rng.IntN(4) {
	case 0:
		_, err = s.m.CleanupPlayer(stressPlayers[rng.IntN(len(stressPlayers))])
	case 1:
		_, err = s.m.CleanupService(stressServices[rng.IntN(len(stressServices))])
	case 2:
		_, err = s.m.CleanupTag(stressTags[rng.IntN(len(stressTags))])
	default:
		_, err = s.m.Cleanup(randomPool(rng))
	}
	assert.NoError(s.t, ignoreDisconnectErrors(err), "Cleanup should return only disconnect errors")
}

// pick returns a random handle made so far, tracked or not, most often one
// of the recent ones, which are more likely to be still tracked.
func (s *stress) pick(rng *rand.Rand) *stressHandle {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.hs)
	switch {
	case n == 0:
		return &stressHandle{s: s}
	case n > 64 && rng.IntN(4) != 0:
		return s.hs[n-1-rng.IntN(64)]
	}
	return s.hs[rng.IntN(n)]
}

// checkAccounts checks, once everything has stopped, that every handle was
// disconnected exactly once, handed back by Untrack, or dropped as stale,
// and that Stats counts exactly that.
func (s *stress) checkAccounts() {
	t := s.t
	var want connmgr.Stats
	for _, h := range s.hs {
		calls := h.calls.Load()
		switch {
		case h.refused.Load():
			want.Rejected++
			assert.EqualValues(t, 1, calls, "refused %s should be disconnected once", h.name)
		case h.handedBack != nil:
			want.Tracked++
			want.Untracked++
			assert.Zero(t, calls, "untracked %s should not be disconnected", h.name)
		case calls == 0:
			want.Tracked++
			want.Stale++
			assert.True(t, h.live && h.dead.Load(), "%s was neither disconnected nor untracked, so it should have been dropped as stale", h.name)
		default:
			want.Tracked++
			want.Disconnected++
			assert.EqualValues(t, 1, calls, "%s should be disconnected exactly once", h.name)
		}
		if calls > 0 && h.fault.fails() {
			want.Failed++
		}
		if calls > 0 && h.fault.panics() {
			want.Panics++
		}
	}
	st := s.m.Stats()
	assert.Positive(t, want.Untracked, "the stress should untrack some handles")
	assert.Positive(t, want.Stale, "the stress should drop some stale handles")
	assert.Positive(t, want.Rejected, "the stress should see some refusals")
	assert.Positive(t, st.Expired, "the stress should see some handles expire")
	assert.Positive(t, st.Orphaned, "the stress should see some players go offline")
	want.Expired, want.Orphaned, want.MemoryBytes = st.Expired, st.Orphaned, st.MemoryBytes
	assert.Equal(t, want, st, "after Close, Stats should count every handle by what happened to it")
	checkInvariant(t, st)
	assert.NoError(t, s.m.Validate(), "Validate after the stress")
	t.Logf("%d handles: %+v", len(s.hs), st)
}

// checkInvariant checks Tracked == Active + Disconnected + Untracked + Stale + Exited.
// The manager keeps it per shard under the shard's lock, so it holds in
// every snapshot, not only when no call is in flight.
func checkInvariant(t *testing.T, st connmgr.Stats) {
	assert.Equal(t, st.Tracked, uint64(st.Active)+st.Disconnected+st.Untracked+st.Stale+st.Exited,
		"Stats should keep Tracked == Active + Disconnected + Untracked + Stale + Exited: %+v", st)
}

// ignoreDisconnectErrors returns err without its *DisconnectErrors (of
// handles built to fail): nil when that is all there is.
func ignoreDisconnectErrors(err error) error {
	switch e := err.(type) {
	case nil, *connmgr.DisconnectError:
		return nil
	case interface{ Unwrap() []error }:
		var rest []error
		for _, inner := range e.Unwrap() {
			rest = append(rest, ignoreDisconnectErrors(inner))
		}
		return errors.Join(rest...)
	}
	return err
}

func randomFault(rng *rand.Rand) fault {
	if rng.IntN(5) == 0 {
		return fault(1 + rng.IntN(4))
	}
	return noFault
}

func randomPool(rng *rand.Rand) connmgr.Pool {
	switch rng.IntN(3) {
	case 0:
		return connmgr.Player(stressPlayers[rng.IntN(len(stressPlayers))])
	case 1:
		return connmgr.Service(stressServices[rng.IntN(len(stressServices))])
	}
	return connmgr.Tag(stressTags[rng.IntN(len(stressTags))])
}

func randomMeta(rng *rand.Rand) connmgr.Meta {
	var meta connmgr.Meta
	if rng.IntN(4) != 0 {
		meta.Player = stressPlayers[rng.IntN(len(stressPlayers))]
	}
	if rng.IntN(2) == 0 {
		meta.Service = stressServices[rng.IntN(len(stressServices))]
	}
	for range rng.IntN(3) {
		meta.Tags = append(meta.Tags, stressTags[rng.IntN(len(stressTags))])
	}
	switch rng.IntN(10) {
	case 0:
		meta.TTL = 500 * time.Millisecond
	case 1:
		meta.TTL = time.Second
	}
	if rng.IntN(50) == 0 { // invalid: refused
		meta.Tags = append(meta.Tags, "")
	}
	return meta
}
