package connmgr

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
)

var (
	// ErrNilHandle is returned by Track when the handle is nil.
	ErrNilHandle = errors.New("connmgr: nil handle")

	// ErrNotFound is returned for an ID that is 0, was never issued, or
	// whose handle has already left the manager.
	ErrNotFound = errors.New("connmgr: handle not found")

	// ErrClosed is returned by Track once Shutdown or Close has begun.
	ErrClosed = errors.New("connmgr: manager closed")

	// ErrInvalid is wrapped by the errors for invalid input: an empty tag, a
	// negative TTL, a name over 4 GiB, an empty pool name. The wrapping
	// error says what is wrong.
	ErrInvalid = errors.New("connmgr: invalid argument")
)

// DisconnectError reports a Disconnect that returned an error or panicked.
// Calls that disconnect several handles return [errors.Join] of one
// *DisconnectError per failure; use [errors.As] to get at them.
type DisconnectError struct {
	Info Info  // the handle as it was tracked
	Err  error // what Disconnect returned, or a *PanicError
}

// Error names the handle, its ID and its pools, then the cause.
func (e *DisconnectError) Error() string {
	var b strings.Builder
	b.WriteString("connmgr: disconnect ")
	if e.Info.Name != "" {
		b.WriteString(strconv.Quote(e.Info.Name))
	} else {
		b.WriteString("handle")
	}
	b.WriteString(" (id ")
	b.WriteString(strconv.FormatUint(uint64(e.Info.ID), 10))
	for _, p := range e.Info.pools() {
		b.WriteString(", ")
		b.WriteString(p.String())
	}
	b.WriteString("): ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("<nil>")
	}
	return b.String()
}

// Unwrap returns Err.
func (e *DisconnectError) Unwrap() error { return e.Err }

// PanicError is the Err of a [DisconnectError] whose Disconnect panicked.
type PanicError struct {
	Value any    // what was passed to panic (a *runtime.PanicNilError for panic(nil))
	Stack []byte // the panicking goroutine's stack, from runtime/debug.Stack
}

// Error reports the panic value; the stack is in the Stack field.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns Value when it is an error, so that errors.Is and errors.As
// see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// callDisconnect runs h.Disconnect, turning a panic into a *PanicError.
func callDisconnect(h Handle) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return h.Disconnect()
}

// ErrLimit is wrapped by the error Track returns when accepting the handle
// would exceed a limit: [WithMaxPerPlayer], or the manager's capacity.
var ErrLimit = errors.New("connmgr: limit reached")
