//go:build !amd64

package connmgr

// recordCallers stores in pcs the return PCs of its callers. Off amd64 it
// uses the runtime's unwinder.
//
//go:noinline
func recordCallers(pcs *[callerDepth]uintptr) {
	recordCallersSlow(pcs)
}
