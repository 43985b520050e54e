//go:build !amd64

package connmgr

import "runtime"

// recordCallers stores in pcs the return PCs of the callers of track. Off
// amd64 it uses the runtime's unwinder, which counts inlined frames as
// frames of their own: it skips runtime.Callers, recordCallers,
// newExtraMore and track.
//
//go:noinline
func recordCallers(pcs *[callerDepth]uintptr) {
	runtime.Callers(4, pcs[:])
}
