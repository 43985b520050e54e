package connmgr_test

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/connmgr/connmgr"
)

// modelRun runs operations against a Manager and against a reference model
// side by side. The model is deliberately naive: a slice of every handle
// with a live flag and a track order, and counters; pools, Len, Stats and
// cleanup batches are derived from it by scanning.
type modelRun struct {
	t     *testing.T
	m     *connmgr.Manager
	cfg   fuzzConfig
	hs    []*modelHandle // every handle made: by Track ops and by Disconnects that track
	log   []*modelHandle // the Disconnect calls the manager made during the current op
	trace []string       // the ops run so far, for failure messages

	// The model.
	seq     uint64          // the last track order handed out
	closed  bool            // Close has run
	offline map[string]bool // players the presence function reports offline
	asked   map[string]int  // presence calls during the current op, by player
	want    connmgr.Stats   // expected lifetime counters; the rest is derived from hs
	wantLog []*modelHandle  // the Disconnect calls the model expects during the current op

	// realClock: the run is outside a synctest bubble, on the real clock
	// (see TestModelOnTheRealClock); its operations have no TTLs to expire
	// and Advance does nothing.
	realClock bool
}

// sameCreated reports whether got is the Created time the manager should
// report for x: the model's, on the fake clock; on the real clock, a time
// between the start and the end of x's Track.
func (r *modelRun) sameCreated(x *modelHandle, got time.Time) bool {
	if !r.realClock {
		return got.Equal(x.created)
	}
	const slack = time.Millisecond // the manager's wall clock is its start's plus a monotonic offset
	return !got.Before(x.trackedFrom.Add(-slack)) && !got.After(x.created.Add(slack))
}

func newModelRun(t *testing.T, cfg fuzzConfig) *modelRun {
	r := &modelRun{t: t, cfg: cfg, offline: make(map[string]bool), asked: make(map[string]int)}
	opts := []connmgr.Option{connmgr.WithMaxPerPlayer(cfg.maxPerPlayer)}
	if cfg.presence {
		opts = append(opts, connmgr.WithPresence(func(player string) bool {
			r.asked[player]++
			return !r.offline[player]
		}))
	}
	r.m = connmgr.New(opts...)
	return r
}

// modelHandle is a test handle together with what the model knows of it.
type modelHandle struct {
	run     *modelRun
	name    string
	fault   fault
	reenter bool           // Disconnect calls back into the manager (see callBack)
	h       connmgr.Handle // what Track got: the handle itself, or wrapped as a Liveness
	dead    bool           // its Connected reports !dead (Liveness handles only)

	// What happened to it.
	id       connmgr.ID
	trackErr error
	calls    int          // Disconnect calls the manager made
	child    *modelHandle // the handle its Disconnect tracked, when reenter
	problems []string     // what went wrong when its Disconnect called back in

	// What the model expects.
	req     connmgr.Meta // what Track got
	seq     uint64       // track order; 0 when never tracked
	created time.Time
	// when the Track that returned at created began: on the real clock,
	// the handle's Created lies between the two (see sameCreated)
	trackedFrom time.Time
	live        bool
	wantCalls   int
}

func (x *modelHandle) Disconnect() error {
	x.calls++
	x.run.log = append(x.run.log, x)
	if x.reenter {
		x.callBack()
	}
	return x.fault.do()
}

// liveHandle is a modelHandle that implements Liveness.
type liveHandle struct{ *modelHandle }

func (l liveHandle) Connected() bool { return !l.dead }

var (
	_ connmgr.Handle   = (*modelHandle)(nil)
	_ connmgr.Liveness = liveHandle{}
)

// callBack is what a reentrant handle does from its Disconnect: the manager
// must have forgotten it already, and it tracks a child into its own pools,
// which may be the very pools being cleaned up.
func (x *modelHandle) callBack() {
	m := x.run.m
	if err := m.Disconnect(x.id); !errors.Is(err, connmgr.ErrNotFound) {
		x.problems = append(x.problems, fmt.Sprintf("Disconnect of its own ID from its Disconnect returned %v, want ErrNotFound", err))
	}
	if _, ok := m.Lookup(x.id); ok {
		x.problems = append(x.problems, "Lookup of its own ID from its Disconnect found it")
	}
	c := x.run.newHandle(x.name+".child", noFault, false, false)
	c.req = connmgr.Meta{Name: c.name, Player: x.req.Player, Service: x.req.Service, Tags: x.req.Tags}
	x.child = c
	c.trackedFrom = time.Now()
	c.id, c.trackErr = m.Track(c.req, c.h)
}

func (r *modelRun) newHandle(name string, f fault, live, reenter bool) *modelHandle {
	x := &modelHandle{run: r, name: name, fault: f, reenter: reenter}
	x.h = x
	if live {
		x.h = liveHandle{x}
	}
	r.hs = append(r.hs, x)
	return x
}

// meta is what Lookup should report of x: Track's Meta with duplicate tags
// dropped.
func (x *modelHandle) meta() connmgr.Meta {
	m := x.req
	m.Tags = nil
	for _, tag := range x.req.Tags {
		if !slices.Contains(m.Tags, tag) {
			m.Tags = append(m.Tags, tag)
		}
	}
	return m
}

// in reports whether x is in pool p.
func (x *modelHandle) in(p connmgr.Pool) bool {
	m := x.meta()
	if m.Player != "" && p == connmgr.Player(m.Player) || m.Service != "" && p == connmgr.Service(m.Service) {
		return true
	}
	for _, tag := range m.Tags {
		if p == connmgr.Tag(tag) {
			return true
		}
	}
	return false
}

// run runs ops, comparing after each, then closes the manager and checks
// that every handle is accounted for.
func (r *modelRun) run(ops []fuzzOp) {
	for _, op := range append(ops, fuzzOp{code: opClose}) {
		r.trace = append(r.trace, op.String())
		r.log, r.wantLog = nil, nil
		r.step(op)
		r.compare()
		if r.t.Failed() {
			r.t.Fatalf("after operation %d of:\n%s", len(r.trace)-1, strings.Join(r.trace, "\n"))
		}
	}
	st := r.m.Stats()
	assert.Zero(r.t, st.Active, "after Close nothing should be tracked")
	assert.Equal(r.t, st.Tracked, st.Disconnected+st.Untracked+st.Stale, "after Close every tracked handle should be disconnected, untracked or stale")
}

// pick returns the ID an op names, and its handle if it names one.
func (r *modelRun) pick(b byte) (connmgr.ID, *modelHandle) {
	switch {
	case b == pickZero || len(r.hs) == 0:
		return 0, nil
	case b == pickUnknown:
		return ^connmgr.ID(0), nil
	}
	x := r.hs[int(b)%len(r.hs)]
	return x.id, x
}

// step runs one op against the manager, then applies it to the model and
// checks what the call returned.
func (r *modelRun) step(op fuzzOp) {
	t, m := r.t, r.m
	switch op.code {
	case opTrack:
		r.track(op)
	case opTrackNil:
		id, err := m.Track(connmgr.Meta{Name: "nil", Player: op.meta.Player}, nil)
		assert.ErrorIs(t, err, connmgr.ErrNilHandle, "Track of a nil handle should fail with ErrNilHandle")
		assert.Zero(t, id, "Track of a nil handle should return ID 0")
	case opDisconnect:
		id, x := r.pick(op.pick)
		err := m.Disconnect(id)
		if x == nil || !x.live {
			assert.ErrorIs(t, err, connmgr.ErrNotFound, "Disconnect of an ID that names no tracked handle")
			return
		}
		x.live = false
		r.want.Disconnected++
		r.expectDisconnect(x)
		r.checkFailures(err, true)
	case opUntrack:
		id, x := r.pick(op.pick)
		h, ok := m.Untrack(id)
		if x == nil || !x.live {
			assert.False(t, ok, "Untrack of an ID that names no tracked handle should report false")
			assert.Nil(t, h, "Untrack of an ID that names no tracked handle should return no handle")
			return
		}
		x.live = false
		r.want.Untracked++
		assert.True(t, ok, "Untrack of %s should report true", x.name)
		assert.True(t, h == x.h, "Untrack of %s should hand back the very handle tracked", x.name)
	case opLookup:
		id, x := r.pick(op.pick)
		info, ok := m.Lookup(id)
		if x == nil || !x.live {
			assert.False(t, ok, "Lookup of an ID that names no tracked handle should report false")
			assert.Zero(t, info, "Lookup of an ID that names no tracked handle should return a zero Info")
		}
	case opCleanup:
		r.cleanup(op)
	case opCleanupAll:
		n, err := m.CleanupAll()
		assert.Equal(t, r.expectBatch(func(*modelHandle) bool { return true }), n, "CleanupAll should count every handle it disconnected")
		r.checkFailures(err, true)
	case opSweep:
		r.sweep()
	case opSetOnline:
		r.offline[op.name] = !r.offline[op.name]
	case opAdvance:
		if !r.realClock {
			time.Sleep(op.dt)
		}
	case opSetConnected:
		if _, x := r.pick(op.pick); x != nil {
			x.dead = !x.dead
		}
	case opStats:
		st := m.Stats()
		assert.Equal(t, st.Tracked, uint64(st.Active)+st.Disconnected+st.Untracked+st.Stale+st.Exited,
			"Stats should keep Tracked == Active + Disconnected + Untracked + Stale + Exited: %+v", st)
	case opClose:
		err := m.Close()
		if !r.closed {
			r.closed = true
			r.expectBatch(func(*modelHandle) bool { return true })
		}
		r.checkFailures(err, true)
	}
}

// track runs an opTrack.
func (r *modelRun) track(op fuzzOp) {
	x := r.newHandle(fmt.Sprintf("h%d", len(r.hs)), op.fault, op.live, op.reenter)
	m := r.m
	x.trackedFrom = time.Now()
	switch op.via {
	case viaTrack:
		x.req = op.meta
		x.req.Name = x.name
		x.id, x.trackErr = m.Track(x.req, x.h)
	case viaTrackPlayer:
		x.req = connmgr.Meta{Name: x.name, Player: op.meta.Player}
		x.id, x.trackErr = m.TrackPlayer(op.meta.Player, x.name, x.h)
	case viaTrackService:
		x.req = connmgr.Meta{Name: x.name, Service: op.meta.Service}
		x.id, x.trackErr = m.TrackService(op.meta.Service, x.name, x.h)
	case viaTrackTag:
		tag := ""
		if len(op.meta.Tags) > 0 {
			tag = op.meta.Tags[0]
		}
		x.req = connmgr.Meta{Name: x.name, Tags: []string{tag}}
		x.id, x.trackErr = m.TrackTag(tag, x.name, x.h)
	}
	r.expectTrack(x)
	r.checkFailures(x.trackErr, true)
}

// expectTrack applies the Track of x to the model and checks what Track
// returned. A refused handle is disconnected at once, so its Disconnect runs
// (and, if it calls back, tracks its child) inside Track.
func (r *modelRun) expectTrack(x *modelHandle) {
	var why error
	switch {
	case x.req.TTL < 0 || slices.Contains(x.req.Tags, ""):
		why = connmgr.ErrInvalid
	case r.closed:
		why = connmgr.ErrClosed
	case r.cfg.maxPerPlayer > 0 && x.req.Player != "" && r.count(connmgr.Player(x.req.Player)) >= r.cfg.maxPerPlayer:
		why = connmgr.ErrLimit
	}
	if why == nil {
		r.seq++
		x.seq, x.created, x.live = r.seq, time.Now(), true
		r.want.Tracked++
		if x.trackErr != nil || x.id == 0 {
			r.t.Errorf("Track of %s should be accepted with a non-zero ID, got ID %d and %v", x.name, x.id, x.trackErr)
		}
		return
	}
	r.want.Rejected++
	if !errors.Is(x.trackErr, why) || x.id != 0 {
		r.t.Errorf("Track of %s should be refused with %v and ID 0, got ID %d and %v", x.name, why, x.id, x.trackErr)
	}
	r.expectDisconnect(x)
}

// expectDisconnect records that the manager should call x's Disconnect now.
func (r *modelRun) expectDisconnect(x *modelHandle) {
	x.wantCalls++
	r.wantLog = append(r.wantLog, x)
	if x.fault.fails() {
		r.want.Failed++
	}
	if x.fault.panics() {
		r.want.Panics++
	}
	if !x.reenter {
		return
	}
	if x.child == nil {
		r.t.Errorf("%s should have tracked a child from its Disconnect", x.name)
		return
	}
	r.expectTrack(x.child)
}

// count is the model's Len.
func (r *modelRun) count(p connmgr.Pool) int {
	n := 0
	for _, x := range r.hs {
		if x.live && x.in(p) {
			n++
		}
	}
	return n
}

// expectBatch takes the live handles that match out of the model and
// expects them disconnected newest first, as one cleanup does. It returns
// how many there were.
func (r *modelRun) expectBatch(match func(*modelHandle) bool) int {
	var batch []*modelHandle
	for _, x := range r.hs {
		if x.live && match(x) {
			batch = append(batch, x)
		}
	}
	slices.SortFunc(batch, func(a, b *modelHandle) int { return cmp.Compare(b.seq, a.seq) })
	for _, x := range batch {
		x.live = false
		r.want.Disconnected++
	}
	for _, x := range batch {
		r.expectDisconnect(x)
	}
	return len(batch)
}

// cleanup runs an opCleanup.
func (r *modelRun) cleanup(op fuzzOp) {
	pool := [...]func(string) connmgr.Pool{connmgr.Player, connmgr.Service, connmgr.Tag}[op.kind](op.name)
	var (
		n   int
		err error
	)
	switch {
	case !op.byName:
		n, err = r.m.Cleanup(pool)
	case op.kind == 0:
		n, err = r.m.CleanupPlayer(op.name)
	case op.kind == 1:
		n, err = r.m.CleanupService(op.name)
	default:
		n, err = r.m.CleanupTag(op.name)
	}
	if op.name == "" {
		assert.ErrorIs(r.t, err, connmgr.ErrInvalid, "Cleanup of %s, which has an empty name", pool)
		assert.Zero(r.t, n, "Cleanup of %s, which has an empty name, should disconnect nothing", pool)
		return
	}
	assert.Equal(r.t, r.expectBatch(func(x *modelHandle) bool { return x.in(pool) }), n, "Cleanup(%s) should count what it disconnected", pool)
	r.checkFailures(err, true)
}

// sweep runs an opSweep. Sweep cleans offline players' pools one player at
// a time, then each shard's expired handles newest first; the model does not
// know the shards, so it checks what it can of the order and then follows
// the order the manager chose.
func (r *modelRun) sweep() {
	clear(r.asked)
	n, err := r.m.Sweep()
	got := slices.Clone(r.log)

	var orphans, expired, stale []*modelHandle
	wantAsked := make(map[string]int)
	for _, x := range r.hs {
		if !x.live {
			continue
		}
		_, isLive := x.h.(connmgr.Liveness)
		player := x.req.Player
		switch {
		case r.cfg.presence && player != "" && r.offline[player]:
			orphans = append(orphans, x)
		case x.req.TTL > 0 && time.Since(x.created) >= x.req.TTL:
			expired = append(expired, x)
		case isLive && x.dead:
			stale = append(stale, x)
		}
		if r.cfg.presence && player != "" {
			wantAsked[player] = 1
		}
	}
	assert.Equal(r.t, wantAsked, r.asked, "Sweep should ask the presence function once about each player that has a pool")
	assert.Equal(r.t, len(orphans)+len(expired)+len(stale), n, "Sweep should count the orphaned, expired and stale handles")
	if !assert.Len(r.t, got, len(orphans)+len(expired), "Sweep should disconnect the orphaned and expired handles") ||
		!assert.ElementsMatch(r.t, names(orphans), names(got[:len(orphans)]), "Sweep should disconnect the orphaned handles first") ||
		!assert.ElementsMatch(r.t, names(expired), names(got[len(orphans):]), "Sweep should disconnect the expired handles after the orphans") {
		return
	}
	checkSweepOrder(r.t, got[:len(orphans)], got[len(orphans):])

	for _, batch := range [][]*modelHandle{orphans, expired, stale} {
		for _, x := range batch {
			x.live = false
		}
	}
	r.want.Disconnected += uint64(len(orphans) + len(expired))
	r.want.Orphaned += uint64(len(orphans))
	r.want.Expired += uint64(len(expired))
	r.want.Stale += uint64(len(stale))
	for _, x := range got {
		r.expectDisconnect(x)
	}
	r.checkFailures(err, false)
}
