package corpus

// This file holds the libraries the generated game server uses: a stub of
// the connmgr core package (as its own module, replaced in go.mod) and
// small in-module stand-ins for a signal library, a message bus, a NATS
// client, a Redis client and a network layer. Only their shapes matter.

const connmgrGoMod = `module github.com/connmgr/connmgr

go 1.25
`

const connmgrSource = `// Package connmgr is a stub of the connection manager's API.
package connmgr

import (
	"context"
	"io"
)

type Handle interface{ Disconnect() error }

type funcHandle func()

func (f funcHandle) Disconnect() error { f(); return nil }

func Func(f func()) Handle { return funcHandle(f) }

func Closer(c io.Closer) Handle { return funcHandle(func() { c.Close() }) }

type ID uint64

type Meta struct{ Player, Name string }

type Option func(*Manager)

type Manager struct{ handles map[ID]Handle }

func New(opts ...Option) *Manager { return &Manager{handles: map[ID]Handle{}} }

func (m *Manager) Track(meta Meta, h Handle) (ID, error) { return 0, nil }

func (m *Manager) TrackPlayer(player, name string, h Handle) (ID, error) { return 0, nil }

func (m *Manager) Untrack(id ID) (Handle, bool) { h, ok := m.handles[id]; return h, ok }

func (m *Manager) Close() error { return nil }

func (m *Manager) Shutdown(ctx context.Context) error { return nil }
`

// libraries maps a package directory (under lib/) to its source.
var libraries = map[string]string{
	"events": `// Package events is a Roblox-style signal library.
package events

// Connection links a handler to a signal until Disconnect.
type Connection struct{ id int; live bool }

func (c *Connection) Disconnect()     { c.live = false }
func (c *Connection) Connected() bool { return c.live }
func (c *Connection) ID() int         { return c.id }

// Signal fires its handlers with a value.
type Signal[T any] struct{ handlers []func(T) }

func (s *Signal[T]) Connect(f func(T)) *Connection {
	s.handlers = append(s.handlers, f)
	return &Connection{id: len(s.handlers), live: true}
}

func (s *Signal[T]) Once(f func(T)) *Connection { return s.Connect(f) }

func (s *Signal[T]) Fire(v T) {
	for _, h := range s.handlers {
		h(v)
	}
}

// Watch is a generic helper that connects f and returns the connection.
func Watch[T any](s *Signal[T], f func(T)) *Connection { return s.Connect(f) }

// Maid disconnects everything given to it on Clean. Give returns its
// argument for chaining.
type Maid struct{ conns []*Connection }

func (m *Maid) Give(c *Connection) *Connection { m.conns = append(m.conns, c); return c }

func (m *Maid) Clean() {
	for _, c := range m.conns {
		c.Disconnect()
	}
}

// Registry keeps connections by name; Get returns one it already holds.
type Registry struct{ byName map[string]*Connection }

func (r *Registry) Get(name string) *Connection { return r.byName[name] }
`,
	"bus": `// Package bus is an in-process message bus.
package bus

type Handler func(topic string, payload []byte)

type Subscription struct{ Topic string }

func (s *Subscription) Unsubscribe() {}

type Bus struct{}

func (b *Bus) Subscribe(topic string, h Handler) *Subscription { return &Subscription{Topic: topic} }

func (b *Bus) Publish(topic string, payload []byte) {}
`,
	"natsx": `// Package natsx has the shape of the NATS client.
package natsx

type Msg struct {
	Subject string
	Data    []byte
}

type Subscription struct{ Subject string }

func (s *Subscription) Unsubscribe() error { return nil }
func (s *Subscription) IsValid() bool      { return true }

type Conn struct{}

func (c *Conn) Subscribe(subject string, cb func(*Msg)) (*Subscription, error) {
	return &Subscription{Subject: subject}, nil
}

func (c *Conn) Publish(subject string, data []byte) error { return nil }
`,
	"redisx": `// Package redisx has the shape of the go-redis client.
package redisx

import "context"

type baseConn struct{}

func (*baseConn) Unsubscribe(ctx context.Context, channels ...string) error { return nil }
func (*baseConn) Close() error                                              { return nil }

// PubSub gets its release methods from an embedded field.
type PubSub struct {
	*baseConn
	Pattern string
}

func (p *PubSub) Channel() <-chan string { return nil }

type Client struct{}

func (c *Client) PSubscribe(ctx context.Context, patterns ...string) *PubSub {
	return &PubSub{baseConn: &baseConn{}}
}
`,
	"netx": `// Package netx is the game's network layer.
package netx

// Session is a connected player. Disconnect() closes it.
type Session struct{ Player string }

func (s *Session) Disconnect()         {}
func (s *Session) Send(b []byte) error { return nil }

type Listener struct{}

func (l *Listener) Accept() (*Session, error) { return &Session{}, nil }

// Kicker removes players; Disconnect(player) needs an argument, so it is
// not a release method.
type Kicker struct{}

func (k *Kicker) Disconnect(player string) {}
`,
}

// serviceSource is the shared part of every service package: the service
// struct the generated functions are methods of, and its helpers.
const serviceSource = `package PKG

import (
	"context"
	"log"
	"sync"
	"time"

	"github.com/connmgr/connmgr"

	"example.com/gameserver/lib/bus"
	"example.com/gameserver/lib/events"
	"example.com/gameserver/lib/natsx"
	"example.com/gameserver/lib/netx"
	"example.com/gameserver/lib/redisx"
)

// Player is a player as this service sees it.
type Player struct {
	Name  string
	Score int
	Ready bool
}

// Service is the PKG service.
type Service struct {
	mu       sync.Mutex
	players  map[string]*Player
	joined   *events.Signal[string]
	scored   *events.Signal[int]
	bus      *bus.Bus
	nats     *natsx.Conn
	redis    *redisx.Client
	listener *netx.Listener
	kicker   *netx.Kicker
	mgr      *connmgr.Manager
	maid     *events.Maid
	registry *events.Registry
	conn     *events.Connection
	conns    []*events.Connection
	subs     map[string]*bus.Subscription
	natsSubs []*natsx.Subscription
	pubsub   *redisx.PubSub
	ticker   *time.Ticker
	sessions map[string]*netx.Session
	ids      map[string]connmgr.ID
	done     chan *events.Connection
	cleanup  []func()
	stats    struct{ joins, leaves, errors int }
}

func (s *Service) onJoin(name string)               { s.stats.joins++ }
func (s *Service) onScore(points int)               { log.Printf("PKG: %d points", points) }
func (s *Service) onTopic(topic string, b []byte)   { log.Printf("PKG: %s (%d bytes)", topic, len(b)) }
func (s *Service) onMsg(m *natsx.Msg)               { s.stats.leaves++ }
func (s *Service) serve(sess *netx.Session)         { sess.Send(nil) }
func (s *Service) keep(c *events.Connection)        { s.conns = append(s.conns, c) }
func (s *Service) current() *events.Connection      { return s.conn }
func (s *Service) load(ctx context.Context) error   { return ctx.Err() }

func (s *Service) lookup(topic string) *bus.Subscription {
	sub, ok := s.subs[topic]
	if !ok {
		return nil
	}
	return sub
}

func (s *Service) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.players {
		if p.Ready {
			n++
		}
	}
	return n
}
`
