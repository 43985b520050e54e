package connmgr

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEntryIsOneCacheLine(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are for 64-bit platforms")
	}
	assert.Equal(t, uintptr(64), unsafe.Sizeof(entry{}),
		"a plain handle's entry is one 64-byte cache line: its creation time is its stamp, or is kept in its extra part")
}

func TestLockCountsWaitersForWalksToLetIn(t *testing.T) {
	var s shard
	s.lock()
	assert.Zero(t, s.waiting.Load(), "taking a free lock counts no waiter")
	got := make(chan struct{})
	go func() {
		s.lock()
		close(got)
		s.mu.Unlock()
	}()
	require.Eventually(t, func() bool { return s.waiting.Load() == 1 }, 5*time.Second, time.Millisecond,
		"a goroutine waiting for the lock counts itself, so that a walk yields to it")
	s.mu.Unlock()
	<-got
	assert.Zero(t, s.waiting.Load(), "and stops counting once it has the lock")
}

func TestShardLayout(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are for 64-bit platforms")
	}
	var s shard
	assert.Equal(t, uintptr(64), unsafe.Offsetof(s.slots), "what a Track or Disconnect writes fills the first cache line")
	assert.Equal(t, uintptr(384), unsafe.Sizeof(s), "a shard fills a size class of its own")
	m := New()
	defer m.Close()
	for i, s := range m.shards {
		assert.Zero(t, uintptr(unsafe.Pointer(s))%64, "shard %d starts on a cache line", i)
	}

	var p pool
	assert.Equal(t, uintptr(128), unsafe.Sizeof(p), "a pool fills a 128-byte size class of its own")
	assert.LessOrEqual(t, unsafe.Offsetof(p.newest)+unsafe.Sizeof(p.newest), uintptr(64),
		"what a player's Track and Disconnect use lies in its first cache line")
	for i := range 8 {
		_, err := m.Track(Meta{Name: "n", Player: fmt.Sprint("p", i)}, nopHandle{})
		require.NoError(t, err)
		_, e := entryOf(m, mustID(t, m, fmt.Sprint("p", i)))
		assert.Zero(t, uintptr(unsafe.Pointer(e.player.Load()))%128, "pool %d starts on a 128-byte boundary", i)
		assert.Zero(t, uintptr(unsafe.Pointer(e))%64, "entry %d fills a cache line of its own", i)
	}
}

// mustID returns the ID of the newest handle of player.
func mustID(t *testing.T, m *Manager, player string) ID {
	t.Helper()
	for info := range m.Handles(Player(player)) {
		return info.ID
	}
	t.Fatalf("player %s has no handle", player)
	return 0
}

func TestALongWalkLetsWaitersTakeTheLockFirst(t *testing.T) {
	var s shard
	s.lock()
	release := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.lock()
		<-release
		s.mu.Unlock()
	}()
	require.Eventually(t, func() bool { return s.waiting.Load() == 1 }, 5*time.Second, time.Millisecond)
	// A walk's chunk ends: it unlocks and lets waiters in before its next.
	s.mu.Unlock()
	letWaitersIn(&s)
	assert.False(t, s.mu.TryLock(), "the goroutine that was waiting has the lock before the walk takes it again")
	close(release)
	<-done
}

func TestLookupTakesNoLock(t *testing.T) {
	m := New()
	defer m.Close()
	id, err := m.TrackPlayer("p", "n", Func(func() {}))
	require.NoError(t, err)
	s, _, _ := m.locate(id)
	s.mu.Lock() // as a long walk, or a Track of another player, would
	defer s.mu.Unlock()
	done := make(chan Info, 1)
	go func() {
		info, _ := m.Lookup(id)
		done <- info
	}()
	select {
	case info := <-done:
		assert.Equal(t, "n", info.Name, "Lookup answers while the shard is locked")
	case <-time.After(5 * time.Second):
		t.Fatal("Lookup waited for the shard's lock")
	}
	assert.Zero(t, s.waiting.Load(), "and does not count itself as a waiter")
}

func TestANameOver4GiBIsRefused(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("a string cannot be that long on 32-bit platforms")
	}
	// Meta.check hands the name's length to checkNameLen; a real string
	// of 4 GiB would cost the test seconds and the race detector far more.
	limit := uint64(math.MaxUint32) // a variable, so that this compiles where int is 32 bits
	err := checkNameLen(int(limit + 1))
	require.ErrorIs(t, err, ErrInvalid, "an entry keeps a name's length in 32 bits")
	assert.Less(t, len(err.Error()), 200, "the error does not quote the name")
	assert.NoError(t, checkNameLen(int(limit)), "4 GiB less a byte fits")
}

func TestAFreedSlotKeepsNothingReachable(t *testing.T) {
	m := New()
	defer m.Close()
	meta := Meta{Name: "n", Player: "p", Service: "s"}
	assertCleared := func(e *entry, how string) {
		t.Helper()
		assert.Nil(t, e.h, "%s: the handle", how)
		assert.Nil(t, e.nameAt.Load(), "%s: the name", how)
		assert.Nil(t, e.player.Load(), "%s: the player pool", how)
		assert.Nil(t, e.x.Load(), "%s: the extra part", how)
	}

	id, err := m.Track(meta, Func(func() {}))
	require.NoError(t, err)
	_, e := entryOf(m, id) // the pointer keeps the page alive once freed
	require.NotNil(t, e)
	require.NoError(t, m.Disconnect(id))
	assertCleared(e, "after Disconnect of a player's last handle")

	keep, err := m.Track(meta, Func(func() {}))
	require.NoError(t, err)
	id, err = m.Track(meta, Func(func() {}))
	require.NoError(t, err)
	_, e = entryOf(m, id)
	require.NoError(t, m.Disconnect(id)) // parked: the player has another handle
	assert.Nil(t, e.h, "a parked slot drops its handle")
	assert.Nil(t, e.x.Load(), "and its extra part")
	assert.Equal(t, "n", e.name(), "but keeps its name for the player's next Track")
	assert.NotNil(t, e.player.Load(), "and its pool")
	_, ek := entryOf(m, keep)
	_, err = m.CleanupPlayer("p")
	require.NoError(t, err)
	assertCleared(ek, "after a cleanup")
	assertCleared(e, "a parked slot, once its pool goes")
}

// TestTheSlotTablesOneSlotCallsAreInlined asks the compiler whether it
// inlines the slot table's calls that Lookup and the fast path make: a
// call costs a Lookup about a tenth of its time. The table is generic, and
// the compiler counts a generic body as dearer to inline, so these calls
// are written to stay within its budget; this test catches one that grows
// past it.
func TestTheSlotTablesOneSlotCallsAreInlined(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(goTool, "build", "-o", os.DevNull, "-gcflags=-m", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, method := range []string{"Peek", "Park", "Unpark", "Publish", "At"} {
		inlined := regexp.MustCompile(`inlining call to slots\.\(\*Table\[[^]]*\]\)\.` + method + `\b`)
		assert.True(t, inlined.Match(out), "the compiler does not inline slots.Table.%s", method)
	}
}
