package connmgr

import "unsafe"

// framePointer returns the frame pointer (BP) of its caller.
func framePointer() unsafe.Pointer

// recordCallers stores in pcs the return PCs of the callers of track,
// outermost last, by following the frame pointers that the Go compiler
// keeps on amd64: each frame record holds the caller's frame pointer, with
// the return address one word above it. This is how the runtime's
// execution tracer unwinds, and it costs a few nanoseconds where
// runtime.Callers costs hundreds. It walks physical frames, not inlined
// ones, and skips the first two: those of newExtraMore and track, or, if
// newExtraMore was inlined into track, those of track and its caller (Go or
// trackMore), which are connmgr's too. The user's frame is never skipped.
//
// It reads only the frame records of Go frames: callerDepth frames up from
// track reach no further than the user's callers, and the walk stops at a
// zero frame pointer (the bottom of a goroutine) or at one that does not
// lead up the stack. The stack cannot move meanwhile, since the loop makes
// no call.
//
//go:noinline
func recordCallers(pcs *[callerDepth]uintptr) {
	const skip = 2
	fp := framePointer()
	for i := -skip; i < len(pcs); i++ {
		if fp == nil {
			return
		}
		if i >= 0 {
			pcs[i] = *(*uintptr)(unsafe.Add(fp, unsafe.Sizeof(uintptr(0))))
		}
		next := *(*unsafe.Pointer)(fp)
		if uintptr(next) <= uintptr(fp) {
			return
		}
		fp = next
	}
}
