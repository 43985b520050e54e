package connmgr_test

import (
	"errors"
	"sync/atomic"

	"github.com/connmgr/connmgr"
)

// errDisconnect is what a failing test handle's Disconnect returns.
var errDisconnect = errors.New("test handle refused to disconnect")

// errPanic is what a test handle that panics with an error panics with.
var errPanic = errors.New("test handle panicked")

// fault is how a test handle's Disconnect misbehaves.
type fault uint8

const (
	noFault     fault = iota
	returnError       // returns errDisconnect
	panicString       // panic("boom")
	panicError        // panic(errPanic)
	panicNil          // panic(nil)
)

// fails reports whether a Disconnect with this fault counts in Stats.Failed,
// and panics whether it also counts in Stats.Panics.
func (f fault) fails() bool  { return f != noFault }
func (f fault) panics() bool { return f >= panicString }

// do runs the fault.
func (f fault) do() error {
	switch f {
	case returnError:
		return errDisconnect
	case panicString:
		panic("boom")
	case panicError:
		panic(errPanic)
	case panicNil:
		panic(nil)
	}
	return nil
}

// counted is a Handle that counts its Disconnect calls and then misbehaves
// as its fault says. Its counter is atomic so that any goroutine may read it.
type counted struct {
	fault fault
	calls atomic.Int32
}

var _ connmgr.Handle = (*counted)(nil)

func (c *counted) Disconnect() error {
	c.calls.Add(1)
	return c.fault.do()
}

// disconnectErrors returns every *DisconnectError in the tree of err, in
// order, looking through errors.Join.
func disconnectErrors(err error) []*connmgr.DisconnectError {
	var out []*connmgr.DisconnectError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *connmgr.DisconnectError:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		}
	}
	walk(err)
	return out
}
