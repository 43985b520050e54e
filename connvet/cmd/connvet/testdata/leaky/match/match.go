// Package match leaks a connection and a manager.
package match

import (
	"github.com/connmgr/connmgr"

	"example.com/leaky/events"
)

// Start begins a match.
func Start(ended *events.Signal[int]) {
	m := connmgr.New()
	c := ended.Connect(func(int) {})
	c = nil
	_ = c
	m.Track(connmgr.Meta{Name: "match"}, connmgr.Func(func() {}))
}
