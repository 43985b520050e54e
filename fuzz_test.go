package connmgr_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

// FuzzManager decodes the fuzz input into a sequence of operations and runs
// each one against a Manager and against a reference model made of plain
// slices and maps (model_test.go). After every operation it compares which
// handles are tracked and what Lookup says of them, the Len of every pool,
// how often each handle was disconnected (never twice), the order of every
// cleanup (newest first), the errors returned, every Stats counter, and
// calls Validate.
//
// The run happens in a synctest bubble, so TTLs are measured on a fake
// clock that only the Advance operation moves.
//
// Run it for a minute with
//
//	go test -run '^$' -fuzz FuzzManager -fuzztime 60s
func FuzzManager(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, ops := decodeOps(data)
		synctest.Test(t, func(t *testing.T) {
			newModelRun(t, cfg).run(ops)
		})
	})
}

// maxOps bounds one fuzz input, so that each run stays fast.
const maxOps = 200

// opcode names an operation of the fuzz language.
type opcode uint8

const (
	opTrack        opcode = iota // Track, TrackPlayer, TrackService or TrackTag
	opTrackNil                   // Track of a nil handle
	opDisconnect                 // Disconnect(id)
	opUntrack                    // Untrack(id)
	opLookup                     // Lookup(id)
	opCleanup                    // Cleanup(pool) or its CleanupPlayer/Service/Tag form
	opCleanupAll                 // CleanupAll
	opSweep                      // Sweep
	opSetOnline                  // flip whether the presence function reports a player online
	opAdvance                    // move the fake clock forward
	opSetConnected               // flip what a Liveness handle's Connected reports
	opStats                      // Stats
	opClose                      // Close
	numOpcodes
)

var opcodeNames = [numOpcodes]string{
	"Track", "TrackNil", "Disconnect", "Untrack", "Lookup", "Cleanup", "CleanupAll",
	"Sweep", "SetOnline", "Advance", "SetConnected", "Stats", "Close",
}

func (c opcode) String() string { return opcodeNames[c] }

// via says which Track method an opTrack calls.
type via uint8

const (
	viaTrack via = iota
	viaTrackPlayer
	viaTrackService
	viaTrackTag
)

// fuzzConfig is the manager's configuration, from the input's first byte.
type fuzzConfig struct {
	maxPerPlayer int  // WithMaxPerPlayer
	presence     bool // WithPresence, answered by the model's online set
}

// fuzzOp is one decoded operation.
type fuzzOp struct {
	code opcode

	// opTrack, opTrackNil
	meta    connmgr.Meta // Name is filled in when the op runs
	via     via
	fault   fault
	live    bool // the handle implements Liveness
	reenter bool // the handle's Disconnect calls back into the manager

	pick   byte          // opDisconnect, opUntrack, opLookup, opSetConnected: which handle's ID
	kind   int           // opCleanup: 0 player, 1 service, 2 tag
	name   string        // opCleanup: pool name; opSetOnline: player
	byName bool          // opCleanup: CleanupPlayer/Service/Tag rather than Cleanup(pool)
	dt     time.Duration // opAdvance
}

// String describes an operation for failure messages.
func (op fuzzOp) String() string {
	switch op.code {
	case opTrack:
		return fmt.Sprintf("Track via %d %+v fault=%d live=%v reenter=%v", op.via, op.meta, op.fault, op.live, op.reenter)
	case opTrackNil:
		return fmt.Sprintf("Track(%+v, nil)", op.meta)
	case opDisconnect, opUntrack, opLookup, opSetConnected:
		return fmt.Sprintf("%s pick %d", op.code, op.pick)
	case opCleanup:
		return fmt.Sprintf("Cleanup kind %d %q byName=%v", op.kind, op.name, op.byName)
	case opSetOnline:
		return fmt.Sprintf("SetOnline %q", op.name)
	case opAdvance:
		return fmt.Sprintf("Advance %v", op.dt)
	}
	return op.code.String()
}

// The alphabet of the fuzz language. A byte indexes a table modulo its
// length; the tables repeat values so that the invalid ones are rarer.
var (
	fuzzLimits   = []int{0, 1, 2, 4}
	fuzzPlayers  = []string{"", "p0", "p1", "p2"}
	fuzzServices = []string{"", "s0", "s1"}
	fuzzTags     = []string{"t0", "t1", "t2", "t0", "t1", "t2", "t0", ""}
	fuzzTTLs     = []time.Duration{0, 0, 0, 0, time.Second, 2 * time.Second, 5 * time.Second, -time.Second}
	fuzzPools    = [3][]string{fuzzPlayers, fuzzServices, {"", "t0", "t1", "t2"}}
)

// Special picks: every other pick byte chooses a handle the run has made.
const (
	pickZero    = 255 // ID 0
	pickUnknown = 254 // an ID no manager has issued
)

const advanceStep = 500 * time.Millisecond

// byteReader reads an input byte by byte; past the end it reads zeros.
type byteReader []byte

func (r *byteReader) next() byte {
	if len(*r) == 0 {
		return 0
	}
	b := (*r)[0]
	*r = (*r)[1:]
	return b
}

// decodeOps turns a fuzz input into a configuration and up to maxOps
// operations. Every input decodes to something.
func decodeOps(data []byte) (fuzzConfig, []fuzzOp) {
	r := byteReader(data)
	b := r.next()
	cfg := fuzzConfig{maxPerPlayer: fuzzLimits[b&3], presence: b&4 != 0}
	var ops []fuzzOp
	for len(r) > 0 && len(ops) < maxOps {
		op := fuzzOp{code: opcode(r.next() % byte(numOpcodes))}
		switch op.code {
		case opTrack:
			op.meta.Player = fuzzPlayers[r.next()%4]
			op.meta.Service = fuzzServices[r.next()%3]
			for n := r.next() % 4; n > 0; n-- {
				op.meta.Tags = append(op.meta.Tags, fuzzTags[r.next()%8])
			}
			op.meta.TTL = fuzzTTLs[r.next()%8]
			h := r.next()
			op.fault = fault((h & 7) % 5)
			op.live, op.reenter, op.via = h&8 != 0, h&16 != 0, via(h>>5&3)
		case opTrackNil:
			op.meta.Player = fuzzPlayers[r.next()%4]
		case opDisconnect, opUntrack, opLookup, opSetConnected:
			op.pick = r.next()
		case opCleanup:
			b := r.next()
			op.kind = int(b % 3)
			op.name = fuzzPools[op.kind][int(b/3)%len(fuzzPools[op.kind])]
			op.byName = r.next()&1 != 0
		case opSetOnline:
			op.name = fuzzPlayers[1+r.next()%3]
		case opAdvance:
			op.dt = time.Duration(r.next()%8+1) * advanceStep
		}
		ops = append(ops, op)
	}
	return cfg, ops
}

// encodeOps is the inverse of decodeOps, for writing readable seeds.
func encodeOps(cfg fuzzConfig, ops ...fuzzOp) []byte {
	b := byte(slices.Index(fuzzLimits, cfg.maxPerPlayer))
	if cfg.presence {
		b |= 4
	}
	out := []byte{b}
	for _, op := range ops {
		out = append(out, byte(op.code))
		switch op.code {
		case opTrack:
			out = append(out,
				byte(slices.Index(fuzzPlayers, op.meta.Player)),
				byte(slices.Index(fuzzServices, op.meta.Service)),
				byte(len(op.meta.Tags)))
			for _, tag := range op.meta.Tags {
				out = append(out, byte(slices.Index(fuzzTags, tag)))
			}
			h := byte(op.fault) | byte(op.via)<<5
			if op.live {
				h |= 8
			}
			if op.reenter {
				h |= 16
			}
			out = append(out, byte(slices.Index(fuzzTTLs, op.meta.TTL)), h)
		case opTrackNil:
			out = append(out, byte(slices.Index(fuzzPlayers, op.meta.Player)))
		case opDisconnect, opUntrack, opLookup, opSetConnected:
			out = append(out, op.pick)
		case opCleanup:
			by := byte(0)
			if op.byName {
				by = 1
			}
			out = append(out, byte(op.kind+3*slices.Index(fuzzPools[op.kind], op.name)), by)
		case opSetOnline:
			out = append(out, byte(slices.Index(fuzzPlayers, op.name)-1))
		case opAdvance:
			out = append(out, byte(op.dt/advanceStep-1))
		}
	}
	return out
}

// Shorthands for writing seeds.
func track(meta connmgr.Meta) fuzzOp { return fuzzOp{code: opTrack, meta: meta} }
func trackWith(meta connmgr.Meta, v via, f fault, live, reenter bool) fuzzOp {
	return fuzzOp{code: opTrack, meta: meta, via: v, fault: f, live: live, reenter: reenter}
}
func onID(code opcode, pick byte) fuzzOp { return fuzzOp{code: code, pick: pick} }
func cleanup(kind int, name string, byName bool) fuzzOp {
	return fuzzOp{code: opCleanup, kind: kind, name: name, byName: byName}
}
func advance(d time.Duration) fuzzOp { return fuzzOp{code: opAdvance, dt: d} }
func op(code opcode) fuzzOp          { return fuzzOp{code: code} }

// seedCorpus is the committed seed corpus in readable form; the files under
// testdata/fuzz/FuzzManager are these, encoded. Between them they reach
// every operation.
var seedCorpus = map[string][]byte{
	"pools-and-order": encodeOps(fuzzConfig{},
		track(connmgr.Meta{Player: "p0", Service: "s0", Tags: []string{"t0", "t1", "t0"}}),
		track(connmgr.Meta{Player: "p0", Tags: []string{"t1"}}),
		track(connmgr.Meta{Player: "p1", Service: "s0"}),
		track(connmgr.Meta{Service: "s1", Tags: []string{"t2"}}),
		track(connmgr.Meta{}),
		track(connmgr.Meta{Player: "p0", Service: "s1"}),
		onID(opLookup, 0), onID(opLookup, 3),
		op(opStats),
		cleanup(2, "t1", true), cleanup(1, "s0", false), cleanup(0, "p0", true),
		cleanup(0, "", false), cleanup(2, "t2", false),
		track(connmgr.Meta{Player: "p2", Tags: []string{"t0"}}),
		op(opCleanupAll), op(opStats),
		track(connmgr.Meta{Player: "p2"}), track(connmgr.Meta{Player: "p2"}),
		op(opClose), op(opClose),
		track(connmgr.Meta{Player: "p2"}), cleanup(0, "p2", true), op(opSweep), op(opStats)),
	"faults": encodeOps(fuzzConfig{},
		trackWith(connmgr.Meta{Player: "p0"}, viaTrackPlayer, returnError, false, false),
		trackWith(connmgr.Meta{Player: "p0"}, viaTrackPlayer, panicString, false, false),
		trackWith(connmgr.Meta{Player: "p0"}, viaTrackPlayer, panicError, false, false),
		trackWith(connmgr.Meta{Player: "p0"}, viaTrackPlayer, panicNil, false, false),
		trackWith(connmgr.Meta{Service: "s0"}, viaTrackService, returnError, false, false),
		trackWith(connmgr.Meta{Tags: []string{"t0"}}, viaTrackTag, panicString, false, false),
		trackWith(connmgr.Meta{Tags: []string{""}}, viaTrackTag, returnError, false, false),
		trackWith(connmgr.Meta{Player: "p1", TTL: -time.Second}, viaTrack, panicError, false, false),
		onID(opDisconnect, 4),
		cleanup(0, "p0", false), onID(opDisconnect, 0),
		trackWith(connmgr.Meta{Player: "p1", Service: "s0"}, viaTrack, panicNil, false, false),
		op(opClose)),
	"reentry": encodeOps(fuzzConfig{maxPerPlayer: 2},
		trackWith(connmgr.Meta{Player: "p0", Service: "s0"}, viaTrack, noFault, false, true),
		trackWith(connmgr.Meta{Player: "p0", Tags: []string{"t0"}}, viaTrack, returnError, false, true),
		trackWith(connmgr.Meta{Player: "p0"}, viaTrack, noFault, false, true),
		cleanup(0, "p0", true), op(opStats),
		trackWith(connmgr.Meta{Player: "p1", Tags: []string{"t1"}}, viaTrack, panicString, false, true),
		onID(opDisconnect, 5), onID(opLookup, 6),
		trackWith(connmgr.Meta{Service: "s1"}, viaTrack, noFault, false, true),
		op(opCleanupAll),
		trackWith(connmgr.Meta{Tags: []string{"t2", ""}}, viaTrack, noFault, false, true),
		trackWith(connmgr.Meta{Player: "p2"}, viaTrack, noFault, false, true),
		op(opClose), op(opStats)),
	"sweep": encodeOps(fuzzConfig{presence: true},
		track(connmgr.Meta{Player: "p0", TTL: time.Second}),
		track(connmgr.Meta{Player: "p1", TTL: 2 * time.Second}),
		trackWith(connmgr.Meta{Player: "p1"}, viaTrack, noFault, true, false),
		trackWith(connmgr.Meta{Service: "s0"}, viaTrack, returnError, true, true),
		trackWith(connmgr.Meta{Player: "p2", TTL: 5 * time.Second}, viaTrack, noFault, false, true),
		trackWith(connmgr.Meta{Player: "p2", Tags: []string{"t0"}}, viaTrack, panicString, false, false),
		op(opSweep), advance(time.Second), op(opSweep),
		onID(opSetConnected, 2), onID(opSetConnected, 3), onID(opSetConnected, 0),
		advance(500*time.Millisecond), op(opSweep),
		fuzzOp{code: opSetOnline, name: "p2"}, op(opSweep),
		fuzzOp{code: opSetOnline, name: "p2"},
		trackWith(connmgr.Meta{Player: "p2", TTL: time.Second}, viaTrack, noFault, true, true),
		trackWith(connmgr.Meta{Tags: []string{"t1"}, TTL: time.Second}, viaTrack, noFault, false, true),
		advance(4*time.Second), onID(opSetConnected, 8), op(opSweep), op(opStats), op(opClose), op(opSweep)),
	"ids": encodeOps(fuzzConfig{maxPerPlayer: 1},
		fuzzOp{code: opTrackNil, meta: connmgr.Meta{Player: "p0"}},
		track(connmgr.Meta{Player: "p0"}), track(connmgr.Meta{Player: "p0"}),
		onID(opUntrack, 1), onID(opUntrack, 1), onID(opDisconnect, 1), onID(opLookup, 1),
		track(connmgr.Meta{Player: "p0"}), onID(opLookup, 3), onID(opLookup, 1),
		onID(opDisconnect, pickZero), onID(opUntrack, pickZero), onID(opLookup, pickZero),
		onID(opDisconnect, pickUnknown), onID(opUntrack, pickUnknown), onID(opLookup, pickUnknown),
		onID(opDisconnect, 3), onID(opDisconnect, 3),
		track(connmgr.Meta{Player: "p1", Tags: []string{"t0", "t1", "t2"}}),
		onID(opUntrack, 4), cleanup(2, "t0", false), op(opStats)),
}

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the FuzzManager seed corpus from seedCorpus")

// TestFuzzCorpusReachesEveryOperation checks that the committed seed corpus
// is seedCorpus encoded (rewrite it with -update-corpus) and that the
// corpus, which CI runs as part of go test, reaches every operation.
func TestFuzzCorpusReachesEveryOperation(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzManager")
	if *updateCorpus {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for name, data := range seedCorpus {
			file := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(file), 0o644))
		}
	}
	for name, want := range seedCorpus {
		got := readCorpusFile(t, filepath.Join(dir, name))
		assert.Equal(t, want, got, "seed %s should be seedCorpus[%q] encoded; run with -update-corpus", name, name)
	}

	reached := make(map[opcode]bool)
	files, err := os.ReadDir(dir)
	require.NoError(t, err, "the seed corpus directory should exist")
	for _, f := range files {
		_, ops := decodeOps(readCorpusFile(t, filepath.Join(dir, f.Name())))
		for _, op := range ops {
			reached[op.code] = true
		}
	}
	for c := range numOpcodes {
		assert.True(t, reached[c], "the seed corpus should reach operation %s", c)
	}
}

// readCorpusFile reads a one-value "go test fuzz v1" file of []byte.
func readCorpusFile(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err, "seed file %s should be readable", path)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	require.Len(t, lines, 2, "seed file %s should hold a header and one value", path)
	require.Equal(t, "go test fuzz v1", lines[0], "seed file %s should start with the fuzz header", path)
	lit, ok := strings.CutPrefix(lines[1], "[]byte(")
	require.True(t, ok, "seed file %s should hold a []byte", path)
	s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
	require.NoError(t, err, "seed file %s should hold a quoted string", path)
	return []byte(s)
}

// TestModelOnTheRealClock runs the seed corpus, and a few hundred runs of
// operations drawn from a fixed seed, against the model outside a synctest
// bubble. Inside one, time stands still, so the manager stamps its handles
// from a counter and gives each an extra part for its creation time; then
// no Track or Disconnect takes the fast path of a resident player (see
// fastpath.go). On the real clock they do, and the model checks them as it
// checks everything else. The drawn runs are mostly Tracks of plain player
// handles and Disconnects, among the other operations, so that the fast
// path is taken often. Time is not the model's to move here: TTLs are
// dropped from the seeds and Advance does nothing.
func TestModelOnTheRealClock(t *testing.T) {
	type input struct {
		cfg fuzzConfig
		ops []fuzzOp
	}
	inputs := make(map[string]input)
	for name, data := range seedCorpus {
		cfg, ops := decodeOps(data)
		for i := range ops {
			ops[i].meta.TTL = min(ops[i].meta.TTL, 0) // a negative TTL is still refused
		}
		inputs[name] = input{cfg, ops}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 300 {
		cfg := fuzzConfig{maxPerPlayer: fuzzLimits[rng.IntN(4)], presence: rng.IntN(4) == 0}
		inputs[fmt.Sprint("drawn-", i)] = input{cfg, residentOps(rng)}
	}
	for name, in := range inputs {
		r := newModelRun(t, in.cfg)
		r.realClock = true
		r.run(in.ops)
		if t.Failed() {
			t.Fatalf("run %s failed", name)
		}
	}
}

// residentOps draws a run of operations for TestModelOnTheRealClock: two in
// five Track a plain handle of one of three players, three in ten
// Disconnect a handle, and the rest is any other operation.
func residentOps(rng *rand.Rand) []fuzzOp {
	ops := make([]fuzzOp, 50+rng.IntN(150))
	for i := range ops {
		op := &ops[i]
		switch k := rng.IntN(20); {
		case k < 8:
			op.code = opTrack
			op.meta.Player = fuzzPlayers[1+rng.IntN(3)]
			op.live, op.reenter = rng.IntN(4) == 0, rng.IntN(8) == 0
			if rng.IntN(4) == 0 {
				op.fault = fault(rng.IntN(5))
			}
		case k < 14:
			op.code, op.pick = opDisconnect, byte(rng.IntN(256))
		default:
			code := opcode(rng.IntN(int(numOpcodes)))
			b := []byte{0, byte(code)}
			for range 8 {
				b = append(b, byte(rng.Uint32()))
			}
			_, decoded := decodeOps(b)
			*op = decoded[0]
			op.meta.TTL = min(op.meta.TTL, 0)
		}
	}
	return ops
}
