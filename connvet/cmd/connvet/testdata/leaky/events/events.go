// Package events is a small signal library.
package events

// Connection links a handler to a signal until it is disconnected.
type Connection struct{ connected bool }

// Disconnect stops the handler.
func (c *Connection) Disconnect() { c.connected = false }

// Signal fires handlers with a value.
type Signal[T any] struct{ handlers []func(T) }

// Connect adds a handler.
func (s *Signal[T]) Connect(f func(T)) *Connection {
	s.handlers = append(s.handlers, f)
	return &Connection{connected: true}
}
