// Package a shows every form of unmanaged handle that connvet reports.
package a

import (
	"context"
	"time"

	"events"
	"pubsub"

	"github.com/connmgr/connmgr"
)

var (
	sig   events.Signal[int]
	bus   events.Bus
	nc    *pubsub.Conn
	mgr   = connmgr.New()
	onHit = func(int) {}
)

func discardedCall() {
	sig.Connect(onHit) // want `unmanaged handle: result of sig.Connect \(\*events.Connection\) is never disconnected, tracked, stored or returned`
}

func discardedSubscription() {
	bus.Subscribe("chat", func([]byte) {}) // want `result of bus.Subscribe \(\*events.Connection\)`
}

func blankAssignment() {
	_ = sig.Connect(onHit) // want `result of sig.Connect`
}

func blankTuple() {
	_, _ = nc.Subscribe("scores", nil) // want `result of nc.Subscribe \(\*pubsub.Subscription\)`
}

func unusedLocal() {
	conn := sig.Connect(onHit) // want `result of sig.Connect`
	_ = conn
}

func inspectedOnly() bool {
	conn := sig.Connect(onHit) // want `result of sig.Connect`
	if conn == nil {
		return false
	}
	println(conn.ID)
	return conn.Connected() // another method: does not release it
}

func errorCheckedOnly() error {
	sub, err := nc.Subscribe("match", nil) // want `result of nc.Subscribe`
	if err != nil {
		return err
	}
	_ = sub.Subject
	return nil
}

type service struct {
	conn  *events.Connection
	conns []*events.Connection
	bus   *events.Bus
}

// The first connection is lost when conn is overwritten before it is stored.
func (s *service) reassignedThenStored(other *events.Connection) {
	conn := sig.Connect(onHit) // want `result of sig.Connect`
	conn = other
	s.conn = conn
}

func reassignedThenDropped() {
	c := sig.Connect(onHit) // want `result of sig.Connect`
	c = sig.Once(onHit)     // want `result of sig.Once`
	_ = c
}

func inALoop(players []string) {
	for range players {
		sig.Connect(onHit) // want `result of sig.Connect`
	}
	for _, p := range players {
		c := bus.Subscribe(p, nil) // want `result of bus.Subscribe`
		println(c.Connected())
	}
}

func inAClosure() {
	go func() {
		bus.Subscribe("lobby", nil) // want `result of bus.Subscribe`
	}()
	defer func() {
		c := sig.Connect(onHit) // want `result of sig.Connect`
		_ = c.ID
	}()
}

func (s *service) methodOnService() {
	s.bus.Subscribe("match.end", nil) // want `result of s.bus.Subscribe`
}

// listen is a generic wrapper that returns the handle it creates.
func listen[T any](s *events.Signal[T], f func(T)) *events.Connection {
	return s.Connect(f)
}

func genericWrapper(s *events.Signal[string]) {
	listen(s, func(string) {})         // want `result of listen \(\*events.Connection\)`
	listen[string](s, func(string) {}) // want `result of listen\[string\] \(\*events.Connection\)`
	c := listen(&sig, onHit)           // want `result of listen`
	_ = c.Connected()
}

func goAndDefer() {
	go sig.Connect(onHit)    // want `result of sig.Connect`
	defer sig.Connect(onHit) // want `result of sig.Connect`
}

func tickers() {
	time.NewTicker(time.Second)      // want `result of time.NewTicker \(\*time.Ticker\)`
	t := time.NewTicker(time.Second) // want `result of time.NewTicker`
	for range t.C {
		t.Reset(time.Minute)
	}
}

func managers() {
	m := connmgr.New() // want `result of connmgr.New \(\*connmgr.Manager\)`
	m.Track(connmgr.Meta{}, connmgr.Func(func() {}))
}

func untracked(id connmgr.ID) {
	mgr.Untrack(id)          // want `result of mgr.Untrack \(connmgr.Handle\)`
	h, ok := mgr.Untrack(id) // want `result of mgr.Untrack`
	if ok && h != nil {
		println("untracked")
	}
	connmgr.Func(func() {}) // want `result of connmgr.Func \(connmgr.Handle\)`
}

func embedded(ctx context.Context) {
	events.Join("ann")      // want `result of events.Join \(\*events.Session\)`
	nc.PSubscribe(ctx, "x") // want `result of nc.PSubscribe \(\*pubsub.PubSub\)`
}

func comparedOnly() bool {
	return sig.Connect(onHit) != nil // want `result of sig.Connect`
}

func otherMethodOnResult() bool {
	return sig.Connect(onHit).Connected() // want `result of sig.Connect`
}

func copiedThenDropped() {
	c := sig.Connect(onHit) // want `result of sig.Connect`
	d := c
	var e = d
	_ = e
}

func conversionDropped() {
	var h connmgr.Handle
	_ = h
	_ = connmgr.Handle(listenHandle()) // want `result of listenHandle`
}

func listenHandle() connmgr.Handle { return connmgr.Func(func() {}) }
