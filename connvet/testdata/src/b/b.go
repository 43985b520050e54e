// Package b is checked with -methods=Release,Cancel: the library's own
// release methods replace the default Disconnect and Unsubscribe.
package b

import (
	"customlib"
	"events"
	"time"

	"github.com/connmgr/connmgr"
)

var sig events.Signal[int]

func leases() {
	customlib.Acquire("room") // want `result of customlib.Acquire \(\*customlib.Lease\)`
	t := customlib.After(10)  // want `result of customlib.After \(\*customlib.Timer\)`
	_ = t
	l := customlib.Acquire("lobby")
	defer l.Release()
	tm := customlib.After(5)
	tm.Cancel()
}

func builtinHandlesStay(m *connmgr.Manager, id connmgr.ID) {
	sig.Connect(nil)            // Disconnect is no longer a release method
	time.NewTicker(time.Second) // want `result of time.NewTicker`
	connmgr.New()               // want `result of connmgr.New`
	m.Untrack(id)               // want `result of m.Untrack \(connmgr.Handle\)`
	connmgr.Func(func() {})     // want `result of connmgr.Func \(connmgr.Handle\)`
}
