package a

import (
	"events"
	"pubsub"
)

func ifInit() {
	if c := sig.Connect(onHit); c.Connected() { // want `result of sig.Connect`
		println("connected")
	}
	if c := sig.Connect(onHit); c != nil {
		defer c.Disconnect()
	}
}

func varSpecs() {
	var leaked = sig.Connect(onHit) // want `result of sig.Connect`
	_ = leaked.ID
	var kept, err = nc.Subscribe("x", nil)
	if err == nil {
		defer kept.Unsubscribe()
	}
}

func redefinedTuple() error {
	sub, err := nc.Subscribe("a", nil) // want `result of nc.Subscribe`
	if err != nil {
		return err
	}
	sub, err = nc.Subscribe("b", nil)
	if err != nil {
		return err
	}
	return sub.Unsubscribe()
}

func storedByTupleAssignment(subs map[string]*pubsub.Subscription) (err error) {
	subs["a"], err = nc.Subscribe("a", nil)
	return err
}

func deferredInLoop(n int) {
	for i := 0; i < n; i++ {
		c := sig.Connect(onHit)
		defer c.Disconnect()
	}
}

func localStructField() {
	var st service
	st.conn = sig.Connect(onHit) // stored in a field: connvet does not follow local structs
	_ = st
}

func sliceOfLocals() []*events.Connection {
	a := sig.Connect(onHit)
	b := sig.Connect(onHit)
	return []*events.Connection{a, b}
}

func switchedOn() {
	switch c := sig.Connect(onHit); c { // want `result of sig.Connect`
	case nil:
		println("nil")
	}
}

func labelledLoop(players []string) {
outer:
	for range players {
		c := sig.Connect(onHit) // want `result of sig.Connect`
		for range players {
			if c.Connected() {
				continue outer
			}
		}
	}
}

func gotoRelease() {
	c := sig.Connect(onHit)
	if c.Connected() {
		goto release
	}
	return
release:
	c.Disconnect()
}

// accessor with a range over a stored collection: not a creation.
func (s *service) first() *events.Connection {
	for _, c := range s.conns {
		if c.Connected() {
			return c
		}
	}
	return nil
}

func (s *service) usesRangeAccessor() bool {
	return s.first() != nil
}

// a constructor in this package is still a creation, even though it
// returns through a local.
func (s *service) open() *events.Connection {
	c := sig.Connect(onHit)
	return c
}

func (s *service) usesConstructor() bool {
	return s.open() != nil // want `result of s.open`
}

func embeddedFieldPath() {
	s := events.Join("cat")
	defer s.Connection.Disconnect()
	t := events.Join("dan") // want `result of events.Join`
	println(t.Connection.Connected())
}
