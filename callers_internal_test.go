package connmgr

import (
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
	x := s.slots.Get(slot, gen).x
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

func TestFramePointerWalkMatchesTheRuntimesUnwinder(t *testing.T) {
	var fast, slow [callerDepth]uintptr
	recordBoth(&fast, &slow)
	// This test is in package connmgr, so the first frame outside it is
	// the test's caller, testing.tRunner, on both paths.
	assert.Equal(t, resolveCaller(slow[:]), resolveCaller(fast[:]))
	assert.Contains(t, resolveCaller(fast[:]), " testing.tRunner")
}

// recordBoth records its callers both ways from the same frame.
//
//go:noinline
func recordBoth(fast, slow *[callerDepth]uintptr) {
	recordCallers(fast)
	recordCallersSlow(slow)
}
