// Package b is checked with -methods=Release,Cancel,Disconnect.
package b

import (
	"customlib"
	"events"
	"pubsub"
	"time"
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

func stillKnown() {
	sig.Connect(nil)            // want `result of sig.Connect`
	time.NewTicker(time.Second) // want `result of time.NewTicker`
	var c *pubsub.Conn
	c.Subscribe("x", nil) // Unsubscribe is not in -methods here
}
