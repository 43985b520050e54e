// Package lobby leaks three handles.
package lobby

import (
	"time"

	"example.com/leaky/events"
)

// Lobby holds players until a match starts.
type Lobby struct {
	Joined events.Signal[string]
	Left   events.Signal[string]
	conn   *events.Connection
}

// Open wires the lobby's handlers.
func (l *Lobby) Open() {
	l.Joined.Connect(func(string) {})
	left := l.Left.Connect(func(string) {})
	_ = left
	l.conn = l.Joined.Connect(func(string) {})
	time.NewTicker(time.Second)
}
