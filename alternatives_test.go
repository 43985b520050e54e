package connmgr_test

import (
	"errors"
	"slices"
	"strconv"
	"sync"

	"github.com/connmgr/connmgr"
)

// This file holds what the benchmarks, the memory test and the latency test
// compare connmgr with, and the fixtures they share. Every alternative gets
// the same inputs (the same Meta values, the same shared name strings, the
// same Handle values) and the same resident population.

// naiveTracker is the obvious hand-written tracker: one sync.Mutex, a map
// from ID to entry, and a set of IDs per player (and, for handles that have
// them, per service and per tag). It calls Disconnect with the lock
// released, as a correct tracker must. It does less than connmgr: it keeps
// no creation time, gives no newest-first order, and does not recover
// panics, so the comparison flatters it.
type naiveTracker struct {
	mu       sync.Mutex
	next     uint64
	byID     map[uint64]*naiveEntry
	players  map[string]map[uint64]struct{}
	services map[string]map[uint64]struct{}
	tags     map[string]map[uint64]struct{}

	tracked, disconnected, stale uint64
}

// naiveEntry is what naiveTracker keeps per handle.
type naiveEntry struct {
	h       connmgr.Handle
	name    string
	player  string
	service string
	tags    []string
}

func newNaiveTracker() *naiveTracker {
	return &naiveTracker{
		byID:     make(map[uint64]*naiveEntry),
		players:  make(map[string]map[uint64]struct{}),
		services: make(map[string]map[uint64]struct{}),
		tags:     make(map[string]map[uint64]struct{}),
	}
}

// Track tracks h and returns its ID.
func (t *naiveTracker) Track(meta connmgr.Meta, h connmgr.Handle) uint64 {
	e := &naiveEntry{h: h, name: meta.Name, player: meta.Player, service: meta.Service, tags: meta.Tags}
	t.mu.Lock()
	t.next++
	id := t.next
	t.byID[id] = e
	addToSet(t.players, meta.Player, id)
	addToSet(t.services, meta.Service, id)
	for _, tag := range meta.Tags {
		addToSet(t.tags, tag, id)
	}
	t.tracked++
	t.mu.Unlock()
	return id
}

func addToSet(sets map[string]map[uint64]struct{}, key string, id uint64) {
	if key == "" {
		return
	}
	set := sets[key]
	if set == nil {
		set = make(map[uint64]struct{})
		sets[key] = set
	}
	set[id] = struct{}{}
}

func removeFromSet(sets map[string]map[uint64]struct{}, key string, id uint64) {
	if key == "" {
		return
	}
	set := sets[key]
	delete(set, id)
	if len(set) == 0 {
		delete(sets, key) // a departed player's set must not leak
	}
}

// removeLocked forgets the handle id.
func (t *naiveTracker) removeLocked(id uint64, e *naiveEntry) {
	delete(t.byID, id)
	removeFromSet(t.players, e.player, id)
	removeFromSet(t.services, e.service, id)
	for _, tag := range e.tags {
		removeFromSet(t.tags, tag, id)
	}
}

// Disconnect removes the handle id and disconnects it.
func (t *naiveTracker) Disconnect(id uint64) error {
	t.mu.Lock()
	e, ok := t.byID[id]
	if !ok {
		t.mu.Unlock()
		return connmgr.ErrNotFound
	}
	t.removeLocked(id, e)
	t.disconnected++
	t.mu.Unlock()
	return e.h.Disconnect()
}

// Lookup describes the handle id.
func (t *naiveTracker) Lookup(id uint64) (connmgr.Info, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byID[id]
	if !ok {
		return connmgr.Info{}, false
	}
	return e.info(id), true
}

func (e *naiveEntry) info(id uint64) connmgr.Info {
	info := connmgr.Info{ID: connmgr.ID(id), Meta: connmgr.Meta{Name: e.name, Player: e.player, Service: e.service}}
	if len(e.tags) > 0 {
		info.Tags = slices.Clone(e.tags)
	}
	return info
}

// CleanupPlayer disconnects every handle of player.
func (t *naiveTracker) CleanupPlayer(player string) (int, error) {
	t.mu.Lock()
	set := t.players[player]
	hs := make([]connmgr.Handle, 0, len(set))
	for id := range set {
		e := t.byID[id]
		hs = append(hs, e.h)
		t.removeLocked(id, e) // deleting from set while ranging over it is allowed
	}
	t.disconnected += uint64(len(hs))
	t.mu.Unlock()
	return len(hs), disconnectEach(hs)
}

// CleanupAll disconnects every handle. clear keeps the maps' buckets, as
// Go maps always do.
func (t *naiveTracker) CleanupAll() (int, error) {
	t.mu.Lock()
	hs := make([]connmgr.Handle, 0, len(t.byID))
	for _, e := range t.byID {
		hs = append(hs, e.h)
	}
	clear(t.byID)
	clear(t.players)
	clear(t.services)
	clear(t.tags)
	t.disconnected += uint64(len(hs))
	t.mu.Unlock()
	return len(hs), disconnectEach(hs)
}

// Sweep drops the handles whose Connected reports false. Like most
// hand-written sweeps, it holds the lock for the whole walk.
func (t *naiveTracker) Sweep() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for id, e := range t.byID {
		if l, ok := e.h.(connmgr.Liveness); ok && !l.Connected() {
			t.removeLocked(id, e)
			n++
		}
	}
	t.stale += uint64(n)
	return n
}

// Stats reports what connmgr's Stats reports that the tracker knows.
func (t *naiveTracker) Stats() connmgr.Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return connmgr.Stats{
		Active:       len(t.byID),
		PlayerPools:  len(t.players),
		ServicePools: len(t.services),
		TagPools:     len(t.tags),
		Tracked:      t.tracked,
		Disconnected: t.disconnected,
		Stale:        t.stale,
	}
}

func disconnectEach(hs []connmgr.Handle) error {
	var errs []error
	for _, h := range hs {
		if err := h.Disconnect(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Shared inputs.

// benchHandle is the handle every benchmark and long test tracks: a Func,
// which does not allocate, so that what is measured is the tracking, not
// the handle.
var benchHandle = connmgr.Func(func() {})

// handleNames are the few names handles are tracked under; like a game
// server's string literals, they are shared by all handles.
var handleNames = []string{"Heartbeat", "remote:BuyPet", "event:ChatMessage", "tween:Fade"}

// numbered returns n strings prefix0, prefix1, ...
func numbered(prefix string, n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = prefix + strconv.Itoa(i)
	}
	return s
}

// playerMeta returns the Meta of the i-th handle spread over players.
func playerMeta(players []string, i int) connmgr.Meta {
	return connmgr.Meta{Name: handleNames[i%len(handleNames)], Player: players[i%len(players)]}
}

// probeHandle is a handle with a Connected method, for Sweep. Handles are
// kept in one slice so that making a million of them is one allocation.
type probeHandle struct{ stale bool }

func (*probeHandle) Disconnect() error { return nil }
func (h *probeHandle) Connected() bool { return !h.stale }

// probeHandles returns n handles of which every 100th reports stale.
func probeHandles(n int) []probeHandle {
	hs := make([]probeHandle, n)
	for i := range hs {
		hs[i].stale = i%100 == 0
	}
	return hs
}
