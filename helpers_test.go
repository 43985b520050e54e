package connmgr_test

import (
	"sync"
	"sync/atomic"

	"github.com/connmgr/connmgr"
)

// Compile-time checks that the adapters and test handles are Handles.
var (
	_ connmgr.Handle   = connmgr.HandleFunc(nil)
	_ connmgr.Handle   = (*spy)(nil)
	_ connmgr.Liveness = (*spy)(nil)
)

// journal records the disconnects of a test's spies, in order.
type journal struct {
	mu    sync.Mutex
	order []string
	count map[string]int
}

func newJournal() *journal { return &journal{count: make(map[string]int)} }

// spy returns a Handle named name that records its disconnects in j.
func (j *journal) spy(name string) *spy {
	s := &spy{j: j, name: name}
	s.alive.Store(true)
	return s
}

// Order returns the names disconnected so far, in order.
func (j *journal) Order() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.order...)
}

// Count reports how often name was disconnected.
func (j *journal) Count(name string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.count[name]
}

// spy is a Handle (and Liveness) for tests: it records each Disconnect,
// then runs before, then panics or returns err as configured.
type spy struct {
	j      *journal
	name   string
	err    error
	panics any
	before func()
	alive  atomic.Bool
}

func (s *spy) Disconnect() error {
	s.j.mu.Lock()
	s.j.order = append(s.j.order, s.name)
	s.j.count[s.name]++
	s.j.mu.Unlock()
	s.alive.Store(false)
	if s.before != nil {
		s.before()
	}
	if s.panics != nil {
		panic(s.panics)
	}
	return s.err
}

func (s *spy) Connected() bool { return s.alive.Load() }

// nop is a Handle that does nothing; it does not implement Liveness.
type nop struct{}

func (nop) Disconnect() error { return nil }

// invariantHolds reports whether st satisfies the documented invariant.
func invariantHolds(st connmgr.Stats) bool {
	return st.Tracked == uint64(st.Active)+st.Disconnected+st.Untracked+st.Stale+st.Exited
}
