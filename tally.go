package connmgr

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	_ "unsafe" // for go:linkname
)

// tally counts the handles that Track's and Disconnect's fast path (see
// fastpath.go) tracks and disconnects. Those calls take no shard's lock, so
// they cannot count in the shard's counters; and one manager-wide counter
// would be one cache line written by every processor on every call, which
// is what the fast path exists to avoid. So the counts are spread over
// stripes, a cache line each, one per processor (P, in the scheduler's
// terms): each processor writes only its own line.
//
// Stats adds the stripes up; the totals are exact whenever no call is in
// flight.
type tally struct {
	stripes []stripe // a power of two of them, at least one per processor
}

// stripe is one cache line of a tally.
type stripe struct {
	tracked, disconnected atomic.Uint64
	_                     [48]byte
}

// newTally returns a tally with a stripe per processor, rounded up to a
// power of two.
func newTally() tally {
	n := 1 << bits.Len(uint(runtime.GOMAXPROCS(0)-1))
	return tally{stripes: make([]stripe, n)}
}

// mine returns the stripe of the processor the caller runs on. The
// goroutine may move to another processor right after; it then counts in
// another's stripe, which costs a cache miss, never a count, as the
// stripes are atomic. (Processors added later by runtime.GOMAXPROCS share
// stripes the same way.)
func (t *tally) mine() *stripe {
	p := procPin()
	procUnpin()
	return &t.stripes[p&(len(t.stripes)-1)]
}

// The runtime's number for the current processor, as sync.Pool reads it
// to keep a cache per processor. The runtime keeps these two functions for
// packages outside the standard library (see go.dev/issue/67401); the
// standard library offers no other way to tell processors apart.
//
//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// countTracked counts a handle the fast path tracked.
func (t *tally) countTracked() { t.mine().tracked.Add(1) }

// countDisconnected counts a handle the fast path disconnected.
func (t *tally) countDisconnected() { t.mine().disconnected.Add(1) }

// sum returns the handles tracked and disconnected by the fast path.
func (t *tally) sum() (tracked, disconnected uint64) {
	for i := range t.stripes {
		tracked += t.stripes[i].tracked.Load()
		disconnected += t.stripes[i].disconnected.Load()
	}
	return tracked, disconnected
}
