// Package events is a Roblox-style signal library and message bus, as a
// game server might use them.
package events

// Connection is a signal connection.
type Connection struct{ ID int }

func (c *Connection) Disconnect()     {}
func (c *Connection) Connected() bool { return true }

// Signal is a typed signal.
type Signal[T any] struct{}

func (s *Signal[T]) Connect(f func(T)) *Connection { return &Connection{} }
func (s *Signal[T]) Once(f func(T)) *Connection    { return &Connection{} }
func (s *Signal[T]) Fire(v T)                      {}

// Bus is a message bus.
type Bus struct{}

func (b *Bus) Subscribe(topic string, f func([]byte)) *Connection { return &Connection{} }

// Maid collects handles for cleanup; Add returns its argument for chaining.
type Maid struct{}

func (m *Maid) Add(c *Connection) *Connection { return c }
func (m *Maid) Clean()                        {}

// Kicker has a Disconnect that takes an argument: it is not a handle.
type Kicker struct{}

func (k *Kicker) Disconnect(player string) {}

func NewKicker() *Kicker { return &Kicker{} }

// Session embeds a Connection, so Disconnect is promoted and a Session is
// a handle too.
type Session struct {
	*Connection
	Player string
}

func Join(player string) *Session { return &Session{Connection: &Connection{}, Player: player} }
