package a

import (
	"context"
	"time"

	"events"
	"pubsub"

	"github.com/connmgr/connmgr"
)

var global *events.Connection

func returned() *events.Connection {
	return sig.Connect(onHit)
}

func returnedLater() (*events.Connection, error) {
	c := sig.Connect(onHit)
	if !c.Connected() {
		return nil, nil
	}
	return c, nil
}

func namedResult() (c *events.Connection) {
	c = sig.Connect(onHit)
	return
}

func namedResultViaLocal() (c *events.Connection, err error) {
	local := sig.Connect(onHit)
	c = local
	return
}

func (s *service) storedInField() {
	s.conn = sig.Connect(onHit)
	c := bus.Subscribe("x", nil)
	s.conn = c
}

func (s *service) appendedToSliceField() {
	s.conns = append(s.conns, sig.Connect(onHit))
	c := sig.Connect(onHit)
	s.conns = append(s.conns, c)
}

func storedInGlobal() {
	global = sig.Connect(onHit)
}

func storedInMapAndArray(m map[string]*events.Connection, arr *[2]*events.Connection) {
	m["a"] = sig.Connect(onHit)
	arr[0] = sig.Connect(onHit)
	local := map[string]*events.Connection{"b": sig.Connect(onHit)}
	m["b"] = local["b"]
	list := []*events.Connection{sig.Connect(onHit)}
	_ = list
}

func sentOnChannel(ch chan<- *events.Connection) {
	ch <- sig.Connect(onHit)
	c := sig.Connect(onHit)
	ch <- c
}

func trackedByManager(m *connmgr.Manager) error {
	c := sig.Connect(onHit)
	if _, err := m.Track(connmgr.Meta{Player: "p"}, connmgr.Func(c.Disconnect)); err != nil {
		return err
	}
	sub, err := nc.Subscribe("match", nil)
	if err != nil {
		return err
	}
	_, err = m.TrackPlayer("p", "match", connmgr.Func(func() { sub.Unsubscribe() }))
	m.Track(connmgr.Meta{}, connmgr.Func(func() {}))
	return err
}

func deferredDisconnect() {
	c := sig.Connect(onHit)
	defer c.Disconnect()
	sub, _ := nc.Subscribe("x", nil)
	defer sub.Unsubscribe()
	t := time.NewTicker(time.Second)
	defer t.Stop()
}

func disconnectInBranchOnly(cond bool) {
	c := sig.Connect(onHit)
	if cond {
		c.Disconnect()
	}
}

func methodValue() connmgr.Handle {
	c := sig.Connect(onHit)
	return connmgr.Func(c.Disconnect)
}

func capturedByClosure() func() {
	c := sig.Connect(onHit)
	return func() { c.Disconnect() }
}

func selfDisconnecting() {
	var c *events.Connection
	c = sig.Connect(func(int) { c.Disconnect() })
}

func passedToHelper() {
	keep(sig.Connect(onHit))
	c := sig.Connect(onHit)
	keep(c)
	println(sig.Connect(onHit))
}

func keep(c *events.Connection) {}

func passThroughHelper(m *events.Maid) {
	m.Add(sig.Connect(onHit)) // Add returns its argument: not a new handle
	c := m.Add(sig.Connect(onHit))
	_ = c
}

func aliasManaged() {
	c := sig.Connect(onHit)
	d := c
	defer d.Disconnect()
}

func reassignedAfterUse(s *service) {
	c := sig.Connect(onHit)
	s.conn = c
	c = sig.Connect(onHit)
	defer c.Disconnect()
}

func inLoopManaged(s *service, players []string) {
	for _, p := range players {
		s.conns = append(s.conns, bus.Subscribe(p, nil))
	}
	var last *events.Connection
	for range players {
		last = sig.Connect(onHit) // overwritten by the next iteration, but connvet is not path-sensitive
	}
	s.conn = last
}

func managerClosed(ctx context.Context) {
	m := connmgr.New()
	defer m.Shutdown(ctx)
	m2 := connmgr.New()
	defer m2.Close()
}

func untrackedAndDisconnected(id connmgr.ID) error {
	h, ok := mgr.Untrack(id)
	if !ok {
		return nil
	}
	return h.Disconnect()
}

func storedInCompositeLiteral() *service {
	return &service{conn: sig.Connect(onHit)}
}

func assignedToOuterVariable() *events.Connection {
	var c *events.Connection
	func() {
		c = sig.Connect(onHit)
	}()
	return c
}

func notHandles() {
	events.NewKicker() // Disconnect(player) needs an argument: not a release method
	pubsub.Open("f")   // Close() error only counts with -closers
}

func embeddedReleased(ctx context.Context) {
	s := events.Join("bob")
	defer s.Disconnect()
	ps := nc.PSubscribe(ctx, "y")
	defer ps.Unsubscribe(ctx)
}

// A getter in this package returns a stored handle: calling it creates nothing.
func (s *service) current() *events.Connection { return s.conn }

func (s *service) lookup(name string, byName map[string]*events.Connection) *events.Connection {
	c, ok := byName[name]
	if !ok {
		return nil
	}
	return c
}

func (s *service) usesGetters(byName map[string]*events.Connection) bool {
	c := s.current()
	s.lookup("x", byName)
	return c.Connected()
}

func typeSwitched(h connmgr.Handle) {
	x := connmgr.Func(func() {})
	switch v := x.(type) {
	case interface{ Disconnect() error }:
		v.Disconnect()
	}
}

func conditionalCreate(cond bool) *events.Connection {
	var c *events.Connection
	if cond {
		c = sig.Connect(onHit)
	} else {
		c = bus.Subscribe("z", nil)
	}
	return c
}

var tickerAtInit = time.NewTicker(time.Minute)

func addressTaken() {
	c := sig.Connect(onHit)
	p := &c
	_ = p
}

func panicsAfter() {
	c := sig.Connect(onHit) // want `result of sig.Connect`
	_ = c.ID
	panic("unreachable release")
	c.Disconnect()
}
