package connmgr

import "unsafe"

// framePointer returns the frame pointer (BP) of its caller.
func framePointer() unsafe.Pointer

// recordCallers stores in pcs the return PCs of its callers, outermost
// last, by following the frame pointers that the Go compiler keeps on
// amd64: each frame record holds the caller's frame pointer, with the
// return address one word above it. This is how the runtime's execution
// tracer unwinds, and it costs a few nanoseconds where runtime.Callers
// costs hundreds.
//
// It reads only the frame records of Go frames: callerDepth frames up from
// Track reach no further than the user's caller, and the walk stops at a
// zero frame pointer (the bottom of a goroutine) or at one that does not
// lead up the stack. The stack cannot move meanwhile, since the loop makes
// no call.
//
//go:noinline
func recordCallers(pcs *[callerDepth]uintptr) {
	fp := framePointer()
	for i := range pcs {
		if fp == nil {
			return
		}
		pcs[i] = *(*uintptr)(unsafe.Add(fp, unsafe.Sizeof(uintptr(0))))
		next := *(*unsafe.Pointer)(fp)
		if uintptr(next) <= uintptr(fp) {
			return
		}
		fp = next
	}
}
