package connmgr_test

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/connmgr/connmgr"
)

// The checks FuzzManager makes after each operation, comparing the manager
// with the model in model_test.go.

// checkSweepOrder checks the order Sweep disconnected in: each offline
// player's pool in one go, newest first; and, since a player's handles
// share a shard, each player's expired handles newest first.
func checkSweepOrder(t *testing.T, orphans, expired []*modelHandle) {
	done := make(map[string]bool)
	for i, x := range orphans {
		p := x.req.Player
		if i > 0 && orphans[i-1].req.Player == p {
			assert.Greater(t, orphans[i-1].seq, x.seq, "Sweep should disconnect player %s's pool newest first", p)
			continue
		}
		assert.False(t, done[p], "Sweep should clean player %s's pool in one go", p)
		done[p] = true
	}
	last := make(map[string]uint64)
	for _, x := range expired {
		if p := x.req.Player; p != "" {
			if prev, ok := last[p]; ok {
				assert.Greater(t, prev, x.seq, "Sweep should disconnect player %s's expired handles newest first", p)
			}
			last[p] = x.seq
		}
	}
}

// checkFailures checks err against the failing handles among the expected
// Disconnect calls of this op: one *DisconnectError each, in order when
// ordered is set.
func (r *modelRun) checkFailures(err error, ordered bool) {
	var want []*modelHandle
	for _, x := range r.wantLog {
		if x.fault.fails() {
			want = append(want, x)
		}
	}
	got := disconnectErrors(err)
	if !ordered {
		slices.SortFunc(want, func(a, b *modelHandle) int { return strings.Compare(a.name, b.name) })
		slices.SortFunc(got, func(a, b *connmgr.DisconnectError) int { return strings.Compare(a.Info.Name, b.Info.Name) })
	}
	gotNames := make([]string, len(got))
	for i, de := range got {
		gotNames[i] = de.Info.Name
	}
	if wantNames := names(want); !slices.Equal(wantNames, gotNames) {
		assert.Equal(r.t, wantNames, gotNames, "the error should hold one DisconnectError per failed Disconnect: %v", err)
		return
	}
	for i, x := range want {
		checkFailure(r.t, got[i], x)
	}
}

// checkFailure checks what a DisconnectError says about x.
func checkFailure(t *testing.T, de *connmgr.DisconnectError, x *modelHandle) {
	wantID, wantMeta := x.id, x.meta()
	if x.seq == 0 { // refused: described as Track got it
		wantID, wantMeta = 0, x.req
	} else {
		assert.True(t, x.run.sameCreated(x, de.Info.Created), "DisconnectError of %s should carry its Created time", x.name)
	}
	assert.Equal(t, wantID, de.Info.ID, "DisconnectError of %s should carry its ID", x.name)
	assert.Equal(t, wantMeta, de.Info.Meta, "DisconnectError of %s should carry its Meta", x.name)
	assert.Contains(t, de.Error(), fmt.Sprintf("%q", x.name), "DisconnectError should name the handle")
	var pe *connmgr.PanicError
	switch x.fault {
	case returnError:
		assert.ErrorIs(t, de, errDisconnect, "DisconnectError of %s should wrap what Disconnect returned", x.name)
		assert.False(t, errors.As(de, &pe), "DisconnectError of %s should not claim a panic", x.name)
	case panicString:
		if assert.ErrorAs(t, de, &pe, "a panic should become a *PanicError") {
			assert.Equal(t, "boom", pe.Value, "PanicError should hold the panic value")
			assert.NotEmpty(t, pe.Stack, "PanicError should hold the stack")
		}
	case panicError:
		assert.ErrorIs(t, de, errPanic, "errors.Is should see the error a Disconnect panicked with")
		assert.ErrorAs(t, de, &pe, "a panic with an error should become a *PanicError")
	case panicNil:
		var pn *runtime.PanicNilError
		assert.ErrorAs(t, de, &pe, "panic(nil) should become a *PanicError")
		assert.ErrorAs(t, de, &pn, "panic(nil) should be reported as a *runtime.PanicNilError")
	}
}

// fuzzPoolUniverse is every pool the fuzz language can name, and some it
// cannot track into.
var fuzzPoolUniverse = []connmgr.Pool{
	connmgr.Player("p0"), connmgr.Player("p1"), connmgr.Player("p2"), connmgr.Player(""),
	connmgr.Service("s0"), connmgr.Service("s1"), connmgr.Service(""),
	connmgr.Tag("t0"), connmgr.Tag("t1"), connmgr.Tag("t2"), connmgr.Tag(""),
	{},
}

// compare checks the manager against the model after an op. It runs
// after every op of every fuzz input, so the checks per handle compare
// first and call testify only on a mismatch: an assert that passes still
// costs a stack walk (t.Helper), which would halve the fuzzing rate.
func (r *modelRun) compare() {
	t := r.t
	if want, got := names(r.wantLog), names(r.log); !slices.Equal(want, got) {
		assert.Equal(t, want, got, "the manager should call these Disconnects, in this order")
	}
	for _, x := range r.hs {
		if x.calls != x.wantCalls {
			assert.Equal(t, x.wantCalls, x.calls, "%s should be disconnected %d times", x.name, x.wantCalls)
		}
		if x.calls > 1 {
			t.Errorf("%s was disconnected %d times; it must never be disconnected twice", x.name, x.calls)
		}
		if len(x.problems) > 0 {
			assert.Empty(t, x.problems, "%s calling back into the manager from Disconnect", x.name)
		}
		if x.id == 0 {
			continue
		}
		info, ok := r.m.Lookup(x.id)
		if ok != x.live {
			assert.Equal(t, x.live, ok, "Lookup of %s should report whether it is tracked", x.name)
			continue
		}
		if !ok {
			continue
		}
		if !r.sameCreated(x, info.Created) {
			assert.Equal(t, x.created, info.Created, "Lookup of %s should report when it was tracked", x.name)
		}
		info.Created = x.created
		if want := (connmgr.Info{ID: x.id, Meta: x.meta(), Created: x.created}); !assert.ObjectsAreEqual(want, info) {
			assert.Equal(t, want, info, "Lookup of %s", x.name)
		}
	}
	for _, p := range fuzzPoolUniverse {
		if want, got := r.count(p), r.m.Len(p); want != got {
			assert.Equal(t, want, got, "Len(%s)", p)
		}
	}
	r.compareStats()
	assert.NoError(t, r.m.Validate(), "Validate should find the manager consistent")
}

// compareStats checks every Stats field against the model.
func (r *modelRun) compareStats() {
	want := r.want
	players := make(map[string]int)
	services := make(map[string]bool)
	tags := make(map[string]bool)
	inPlayers := 0
	for _, x := range r.hs {
		if !x.live {
			continue
		}
		want.Active++
		m := x.meta()
		if m.Player != "" {
			players[m.Player]++
			inPlayers++
		}
		if m.Service != "" {
			services[m.Service] = true
		}
		for _, tag := range m.Tags {
			tags[tag] = true
		}
	}
	want.PlayerPools, want.ServicePools, want.TagPools = len(players), len(services), len(tags)
	if len(players) > 0 {
		want.AvgPerPlayer = float64(inPlayers) / float64(len(players))
	}
	got := r.m.Stats()
	if got.MemoryBytes == 0 {
		r.t.Error("Stats should estimate the manager's memory")
	}
	want.MemoryBytes = got.MemoryBytes // an estimate the model does not make
	if want != got {
		assert.Equal(r.t, want, got, "Stats")
	}
}

func names(xs []*modelHandle) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.name
	}
	return out
}
