package connmgr

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCallersAreRecordedAsPCsAndResolvedOnRead(t *testing.T) {
	callerCache.Clear() // the cache is process-wide: start from nothing
	callerCacheLen.Store(0)
	m := New(WithCallers(true))
	defer m.Close()
	id, err := m.TrackPlayer("p", "x", Func(func() {}))
	require.NoError(t, err)

	s, slot, gen := m.locate(id)
	s.mu.Lock()
	x := s.slots.Get(slot, gen).x.Load()
	s.mu.Unlock()
	require.NotNil(t, x, "with callers on, even a plain player handle gets a record")
	require.NotNil(t, x.more)
	assert.NotZero(t, x.more.pcs[0], "Track stores program counters")
	_, cached := callerCache.Load(x.more.pcs)
	assert.False(t, cached, "Track does not turn them into text")

	m.Lookup(id)
	_, cached = callerCache.Load(x.more.pcs)
	assert.True(t, cached, "reading the Info does, once per stack")
}

func TestRecordCallersMatchesTheRuntimesUnwinder(t *testing.T) {
	var got, want [callerDepth]uintptr
	outer(&got, &want)
	require.NotZero(t, got[0])
	// Up to the test's caller: beyond it, the frame pointers also show the
	// wrapper of t.Run's go statement, which runtime.Callers leaves out.
	assert.Equal(t, functions(want[:])[:4], functions(got[:])[:4], "the same frames, both ways")
	assert.Equal(t, "github.com/connmgr/connmgr.user", functions(got[:])[0],
		"the two frames above recordCallers' caller are skipped")
}

// functions names the frames of pcs.
func functions(pcs []uintptr) []string {
	n := 0
	for n < len(pcs) && pcs[n] != 0 {
		n++
	}
	var names []string
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		names = append(names, f.Function)
		if !more {
			return names
		}
	}
}

// middle and inner stand in for track and newExtraMore, the frames
// recordCallers skips; user is where a Track call would be.
//
//go:noinline
func outer(got, want *[callerDepth]uintptr) { user(got, want) }

//go:noinline
func user(got, want *[callerDepth]uintptr) { middle(got, want) }

//go:noinline
func middle(got, want *[callerDepth]uintptr) { inner(got, want) }

//go:noinline
func inner(got, want *[callerDepth]uintptr) {
	recordCallers(got)
	runtime.Callers(3, want[:]) // skip runtime.Callers, inner and middle
}
