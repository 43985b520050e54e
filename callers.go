package connmgr

import (
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// WithCallers makes the manager record where each handle was tracked, so
// that [Info].Caller names the file, line and function of the code that
// called Track, TrackPlayer, TrackService, TrackTag or Go: the first frame
// outside package connmgr. It is how [Manager.Health] points at the code
// that leaks.
//
// Recording stores a few program counters per handle (an allocation of
// about 100 bytes, and a walk of the frame pointers on amd64; see
// BENCHMARKS.md for the cost per Track); the counters are turned into text
// only when an Info is built, and the text is cached per call site. Off,
// the default, Track records nothing and Caller is "".
func WithCallers(on bool) Option {
	return optionFunc(func(c *config) { c.callers = on })
}

// callerDepth is how many return PCs are recorded. recordCallers skips the
// frames of newExtraMore and track, which every recorded stack starts
// with; then come at most trackMore, Track and a TrackPlayer-style wrapper
// (Go calls track directly) before the user's frame, with room to spare
// when the compiler inlines nothing. The frames of package connmgr among
// them are skipped when the text is made, so whether the compiler inlined
// them does not matter when recording.
const callerDepth = 6

// callerOf returns the Caller text of a recorded stack: the first frame
// outside package connmgr, or "" when none was recorded. Results are
// cached by stack, since a server tracks from a few hundred call sites
// and Health or All may describe a million handles.
func callerOf(pcs *[callerDepth]uintptr) string {
	if pcs[0] == 0 {
		return ""
	}
	if s, ok := callerCache.Load(*pcs); ok {
		return s.(string)
	}
	s := resolveCaller(pcs[:])
	if callerCacheLen.Load() < callerCacheMax {
		if _, loaded := callerCache.LoadOrStore(*pcs, s); !loaded {
			callerCacheLen.Add(1)
		}
	}
	return s
}

var (
	// callerCache maps a recorded stack ([callerDepth]uintptr) to its
	// Caller text. Program counters mean the same in the whole process, so
	// the cache is shared by all managers.
	callerCache    sync.Map
	callerCacheLen atomic.Int64
)

// callerCacheMax bounds the cache, in case a program tracks from more
// distinct stacks than anyone could read; past it, text is made afresh.
const callerCacheMax = 1 << 14

// resolveCaller turns program counters into the Caller text of the first
// frame outside package connmgr.
func resolveCaller(pcs []uintptr) string {
	n := 0
	for n < len(pcs) && pcs[n] != 0 {
		n++
	}
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if f.Function != "" && !strings.HasPrefix(f.Function, pkgPrefix) {
			return filepath.Base(f.File) + ":" + strconv.Itoa(f.Line) + " " + f.Function
		}
		if !more {
			return ""
		}
	}
}

// pkgPrefix is what the names of this package's functions start with:
// "github.com/connmgr/connmgr.", worked out at run time so that a vendored
// or renamed copy still recognises itself. The test package
// "github.com/connmgr/connmgr_test" does not match it.
var pkgPrefix = func() string {
	pc, _, _, _ := runtime.Caller(0)
	name := runtime.FuncForPC(pc).Name() // ".../connmgr.init.func1" or similar
	slash := strings.LastIndexByte(name, '/')
	dot := strings.IndexByte(name[slash+1:], '.')
	return name[:slash+1+dot+1]
}()
