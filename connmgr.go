package connmgr

import (
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Manager tracks disconnectable handles in player, service and tag pools
// and disconnects them, exactly once each, when their pool is cleaned up,
// when they go stale, or when the manager shuts down. All methods are safe
// for concurrent use, and none holds a lock while it runs a handle's
// Disconnect, so Disconnect may call back into the Manager.
//
// The owner of a Manager calls [Manager.Close] or [Manager.Shutdown] when
// the server stops. A Manager must not be copied.
type Manager struct {
	closed atomic.Bool // set when Shutdown begins; Track refuses from then on

	// Lifetime counters of things that happen outside any shard's lock.
	rejected, failed, panics atomic.Uint64

	shards []*shard // each allocated on its own, which aligns it to a cache line (see shard)
	mask   uint64   // len(shards)-1
	bits   uint     // log2(len(shards))
	seed   maphash.Seed
	start  time.Time // Created times are start plus a monotonic offset

	startSec, startNsec int64         // start's wall clock reading, for created
	counter             *stampCounter // where the clock is not fine-grained, the stamps (see stamp.go)
	cfg                 config

	tally tally         // handles tracked and disconnected by the fast path (see fastpath.go)
	reg   registry      // service and tag pools across shards
	regs  registrations // CleanupOnDone registrations
	keys  keyIndex      // keyed handles

	stopSweep chan struct{}  // closed by Shutdown to stop the sweeper
	sweeper   sync.WaitGroup // the background sweeper, if any
	down      shutdown
}

// New returns a Manager configured by opts. With [WithSweepInterval] it
// starts a background goroutine, which [Manager.Close] stops.
func New(opts ...Option) *Manager {
	n := shardCount(runtime.GOMAXPROCS(0))
	start := time.Now()
	m := &Manager{
		shards:    make([]*shard, n),
		mask:      uint64(n - 1),
		bits:      uint(bits.TrailingZeros(uint(n))),
		seed:      maphash.MakeSeed(),
		start:     start,
		startSec:  start.Unix(),
		startNsec: int64(start.Nanosecond()),
		cfg:       newConfig(opts),
		tally:     newTally(),
		stopSweep: make(chan struct{}),
	}
	m.down.done = make(chan struct{})
	if !fineClock(clockProbes) {
		m.counter = new(stampCounter)
	}
	m.keys.init(n, m.seed)
	for i := range m.shards {
		s := new(shard)
		m.shards[i] = s
		s.index, s.bits, s.reg, s.keys, s.seed = uint64(i), m.bits, &m.reg, &m.keys, m.seed
		// The low 32 bits of an ID hold the slot and the shard number.
		s.slots.Init(uint32(1) << (32 - m.bits))
	}
	if d := m.cfg.sweepInterval; d > 0 {
		m.sweeper.Add(1)
		go m.runSweeper(d)
	}
	return m
}

// shardCount picks a power of two with room for every processor to work on
// a different player without meeting another: 4 per processor, 32 to 256.
// Even with few processors, 32 keeps two of them from meeting on a shard
// more than rarely (each Track and Disconnect holds its shard for tens of
// nanoseconds), while Stats, which takes every shard's lock once, stays well
// under a microsecond.
func shardCount(procs int) int {
	n := 32
	for n < 4*procs && n < 256 {
		n *= 2
	}
	return n
}

// Track starts tracking h with meta and returns its ID. The manager
// disconnects h when any of its pools is cleaned up, when Sweep finds it
// expired or orphaned, or at Shutdown, unless it is untracked first.
//
// Track refuses a nil h with [ErrNilHandle]. It refuses invalid meta with an
// error wrapping [ErrInvalid], a handle over a limit with [ErrLimit], and any
// handle once Shutdown or Close has begun with [ErrClosed]; in each of those
// refusals it disconnects h before returning, so a refused handle never
// leaks, and joins any error of that Disconnect to the refusal. A refused
// Track returns ID 0.
//
// With a non-empty Meta.Key, Track replaces the handle holding that key, if
// any: it detaches the old holder (from then on no method finds it), tracks
// h under the key, then disconnects the old holder before returning and
// hands any error of that Disconnect to the error handler. A refused Track
// leaves the old holder alone.
func (m *Manager) Track(meta Meta, h Handle) (ID, error) {
	if h == nil {
		return 0, ErrNilHandle
	}
	if err := meta.check(); err != nil {
		return 0, m.refuse(&meta, h, err)
	}
	if meta.Key != "" || m.cfg.callers || m.counter != nil {
		return m.trackMore(&meta, h)
	}
	// The common case, written out rather than shared with track: a call
	// and its result checks would cost every Track.
	x := newExtra(&meta)
	s, hash := m.home(&meta)
	if x == nil && meta.Player != "" {
		if id, ok := m.trackFast(s, hash, &meta, h); ok {
			return id, nil
		}
	}
	created := m.now()
	if x != nil {
		x.created = created
	}

	s.lock()
	if m.closed.Load() {
		s.mu.Unlock()
		return 0, m.refuse(&meta, h, ErrClosed)
	}
	var p *pool
	if meta.Player != "" {
		p = s.playerLocked(hash, meta.Player, false).lock()
		if limit := m.cfg.maxPerPlayer; limit > 0 && p != nil && int(p.n) >= limit {
			p.unlock()
			s.mu.Unlock()
			return 0, m.refuse(&meta, h, errLimit(meta.Player, limit))
		}
	}
	slot, gen, e, ok := s.allocLocked(p)
	if !ok {
		p.unlock()
		s.mu.Unlock()
		return 0, m.refuse(&meta, h, errFull)
	}
	// The stamp is taken under the locks, so that each list is in stamp
	// order.
	e.set(h, meta.Name, x, m.stampLocked(s, p, created))
	s.insertLocked(slot, e, p, meta.Player, hash)
	id := s.id(slot, gen)
	p.unlock()
	s.mu.Unlock()
	return id, nil
}

// trackMore is Track for a handle with a Key or with its callers to
// record: it disconnects a refused h, and the holder h replaces.
func (m *Manager) trackMore(meta *Meta, h Handle) (ID, error) {
	id, old, err := m.track(meta, h)
	if err != nil {
		return 0, m.refuse(meta, h, err)
	}
	if old != nil {
		m.replaced(old)
	}
	return id, nil
}

// track is what Track does, except that it says why it refuses h without
// disconnecting it, so that Go can refuse its own way. For a keyed handle
// it returns the detached previous holder of the key, if any, for the
// caller to disconnect once h is in place (for Go, once fn is running).
func (m *Manager) track(meta *Meta, h Handle) (ID, *detached, error) {
	if err := meta.check(); err != nil {
		return 0, nil, err
	}
	var x *extra
	if meta.Key != "" || m.cfg.callers {
		x = newExtraMore(meta, m.cfg.callers)
	} else {
		x = newExtra(meta)
	}
	if x == nil && m.counter != nil {
		x = new(extra) // to hold the creation time, which the stamp is not
	}
	created := m.now()
	if x != nil {
		x.created = created
	}
	if meta.Key != "" {
		return m.trackKeyed(meta, h, x, created)
	}
	s, hash := m.home(meta)

	s.lock()
	slot, gen, e, p, err := m.admitLocked(s, meta.Player, nil)
	if err != nil {
		s.mu.Unlock()
		return 0, nil, err
	}
	e.set(h, meta.Name, x, m.stampLocked(s, p, created))
	s.insertLocked(slot, e, p, meta.Player, hash)
	id := s.id(slot, gen)
	p.unlock()
	s.mu.Unlock()
	return id, nil, nil
}

// admitLocked checks that s may take one more handle of player and takes a
// slot for it, as Track does inline, and returns the player's pool if it
// exists yet, locked (the caller unlocks it once the handle is in). leaving
// is the player pool of a handle that leaves in the same lock hold (a
// replaced key holder), which the limit does not count.
func (m *Manager) admitLocked(s *shard, player string, leaving *pool) (slot, gen uint32, e *entry, p *pool, err error) {
	if m.closed.Load() {
		return 0, 0, nil, nil, ErrClosed
	}
	if player != "" {
		p = s.partLocked(Player(player), false).lock()
	}
	if limit := m.cfg.maxPerPlayer; limit > 0 && p != nil {
		n := int(p.n)
		if p == leaving {
			n--
		}
		if n >= limit {
			p.unlock()
			return 0, 0, nil, nil, errLimit(player, limit)
		}
	}
	slot, gen, e, ok := s.allocLocked(p)
	if !ok {
		p.unlock()
		return 0, 0, nil, nil, errFull
	}
	return slot, gen, e, p, nil
}

// errLimit is the refusal of a handle over the WithMaxPerPlayer limit.
func errLimit(player string, limit int) error {
	return fmt.Errorf("%w: player %q already has %d handles", ErrLimit, player, limit)
}

// errFull is the refusal of a handle when every ID a shard can name is in
// use.
var errFull = fmt.Errorf("%w: the manager holds as many handles as its IDs can name", ErrLimit)

// TrackPlayer tracks h in the pool of player, named name.
func (m *Manager) TrackPlayer(player, name string, h Handle) (ID, error) {
	return m.Track(Meta{Name: name, Player: player}, h)
}

// TrackService tracks h in the pool of service, named name.
func (m *Manager) TrackService(service, name string, h Handle) (ID, error) {
	return m.Track(Meta{Name: name, Service: service}, h)
}

// TrackTag tracks h in the pool of tag, named name. An empty tag is refused
// with [ErrInvalid].
func (m *Manager) TrackTag(tag, name string, h Handle) (ID, error) {
	return m.Track(Meta{Name: name, Tags: []string{tag}}, h)
}

// Lookup returns what is known of the handle id names, in O(1). It takes no
// lock, so it never waits for Track, Disconnect or a walk over the shard.
// It reports false for 0, an unknown ID, and a handle that has left the
// manager.
func (m *Manager) Lookup(id ID) (info Info, ok bool) {
	s, slot, gen := m.locate(id)
	e := s.slots.Peek(slot, gen)
	if e == nil {
		return
	}
	// Read what the Info needs, then check that the slot still holds the
	// same handle. If its generation moved on meanwhile, the handle has
	// left (and what was read may belong to its successor), so Lookup
	// reports it gone, as it is by the time Lookup returns. The pool and
	// extra part never change once the handle is tracked, so they are read
	// after the check.
	nameAt, nameLen := e.nameAt.Load(), e.nameLen.Load()
	player, x, seq := e.player.Load(), e.x.Load(), e.seq.Load()
	if e.gen.Load() != gen {
		return
	}
	// Fill the named result in place and end with a bare return: building
	// the Info (144 bytes) in a variable and returning it, even naming the
	// result in the return statement, copies it once more, which cost
	// Lookup about a third of its time.
	info.ID, info.Name = id, unsafe.String(nameAt, int(nameLen))
	if player != nil {
		info.Player = player.key.name
	}
	if x != nil {
		x.fill(&info.Meta)
		if x.more != nil {
			info.Caller = callerOf(&x.more.pcs)
		}
	}
	info.Created = m.created(createdOf(x, seq))
	ok = true
	return
}

// Disconnect removes the handle id names from the manager and disconnects
// it. It returns [ErrNotFound] when id names no tracked handle (for example
// when called from the handle's own Disconnect), and a *[DisconnectError]
// when Disconnect fails or panics.
func (m *Manager) Disconnect(id ID) error {
	s, slot, gen := m.locate(id)
	if d, ok := m.disconnectFast(s, slot, gen); ok {
		return m.disconnect(&d)
	}
	s.lock()
	e, p := s.getLocked(slot, gen)
	if e == nil {
		s.mu.Unlock()
		return ErrNotFound
	}
	d := s.removeLocked(slot, gen, e, byDisconnect)
	p.unlock()
	s.mu.Unlock()
	return m.disconnect(&d)
}

// Untrack removes the handle id names from the manager without
// disconnecting it and hands it back: disconnecting it is then the caller's
// job. It reports false when id names no tracked handle.
func (m *Manager) Untrack(id ID) (Handle, bool) {
	s, slot, gen := m.locate(id)
	s.lock()
	e, p := s.getLocked(slot, gen)
	if e == nil {
		s.mu.Unlock()
		return nil, false
	}
	d := s.removeLocked(slot, gen, e, byUntrack)
	p.unlock()
	s.mu.Unlock()
	return d.h, true
}

// Len reports the number of handles in p, in O(1). It is 0 for a pool that
// holds none and for the zero Pool.
func (m *Manager) Len(p Pool) int {
	if !p.valid() {
		return 0
	}
	if p.kind != playerKind {
		return m.reg.len(p)
	}
	return m.playerHome(p.name).partLen(p)
}

// home picks the shard a handle with meta lives in: its player's, else its
// service's, else its first tag's. Handles in no pool are spread at random.
// It also returns the hash it chose by, which for a player is the key of
// the player's pool in the shard's index.
func (m *Manager) home(meta *Meta) (*shard, uint64) {
	var h uint64
	switch {
	case meta.Player != "":
		h = maphash.String(m.seed, meta.Player)
	case meta.Service != "":
		h = maphash.String(m.seed, meta.Service)
	case len(meta.Tags) > 0:
		h = maphash.String(m.seed, meta.Tags[0])
	default:
		h = rand.Uint64()
	}
	return m.shards[h&m.mask], h
}

// playerHome returns the shard of every handle of player.
func (m *Manager) playerHome(player string) *shard {
	return m.shards[maphash.String(m.seed, player)&m.mask]
}

// locate splits an ID into its shard, slot and generation.
func (m *Manager) locate(id ID) (s *shard, slot, gen uint32) {
	return m.shards[uint64(id)&m.mask], uint32(id) >> m.bits, uint32(id >> 32)
}

// now returns the current time as an offset from start, read from the
// monotonic clock so that wall-clock jumps do not age handles.
func (m *Manager) now() int64 { return int64(time.Since(m.start)) }

// created turns an offset from start back into a time: start's wall
// clock reading plus the offset, without a monotonic reading. (time.Unix
// builds it in half the time of start.Add, which Lookup notices.)
func (m *Manager) created(offset int64) time.Time {
	return time.Unix(m.startSec, m.startNsec+offset)
}

// refuse disconnects a handle Track would not accept and returns why,
// joined with any error of that Disconnect.
func (m *Manager) refuse(meta *Meta, h Handle, why error) error {
	m.rejected.Add(1)
	if err := m.call(h); err != nil {
		info := Info{Meta: *meta, Created: time.Now()}
		info.Tags = append([]string(nil), meta.Tags...)
		return errors.Join(why, &DisconnectError{Info: info, Err: err})
	}
	return why
}

// disconnect disconnects a detached handle, counting a failure.
func (m *Manager) disconnect(d *detached) error {
	if err := m.call(d.h); err != nil {
		return &DisconnectError{Info: m.detachedInfo(d), Err: err}
	}
	return nil
}

// call runs h.Disconnect with no lock held, counting failures and panics.
func (m *Manager) call(h Handle) error {
	err := callDisconnect(h)
	if err != nil {
		m.failed.Add(1)
		if _, panicked := err.(*PanicError); panicked {
			m.panics.Add(1)
		}
	}
	return err
}

// detachedInfo describes a detached handle.
func (m *Manager) detachedInfo(d *detached) Info {
	return m.info(&view{id: d.id, seq: d.seq, created: d.created, name: d.name, player: d.player, x: d.x})
}

// view is what an Info is made of, copied from an entry under its shard's
// lock so that the Info can be built, and its Caller resolved, with no
// lock held: everything it points to is immutable.
type view struct {
	id      ID
	seq     uint64
	created int64
	name    string
	player  string
	x       *extra
}

// viewLocked copies what an Info needs from the live entry e named id.
func (s *shard) viewLocked(id ID, e *entry) view {
	v := view{id: id, seq: e.seq.Load(), created: e.created(), name: e.name(), x: e.x.Load()}
	if p := e.player.Load(); p != nil {
		v.player = p.key.name
	}
	return v
}

// info builds the Info of a view. Call it with no lock held: it may resolve
// the caller's frames.
func (m *Manager) info(v *view) Info {
	info := Info{ID: v.id, Meta: Meta{Name: v.name, Player: v.player}, Created: m.created(v.created)}
	if x := v.x; x != nil {
		x.fill(&info.Meta)
		if x.more != nil {
			info.Caller = callerOf(&x.more.pcs)
		}
	}
	return info
}

// report hands err to the error handler, if err is not nil. A panic in the
// handler is recovered and logged, so that a faulty handler cannot stop a
// sweep or a cleanup.
func (m *Manager) report(err error) {
	if err == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			slog.Error("connmgr: error handler panicked", "panic", v, "err", err)
		}
	}()
	m.cfg.errorHandler(err)
}
