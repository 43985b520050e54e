// Package clean manages every handle it creates.
package clean

import (
	"context"
	"time"

	"github.com/connmgr/connmgr"

	"example.com/leaky/events"
)

// Run tracks its connection and shuts the manager down.
func Run(ctx context.Context, sig *events.Signal[int]) error {
	m := connmgr.New()
	defer m.Shutdown(ctx)
	c := sig.Connect(func(int) {})
	if _, err := m.Track(connmgr.Meta{Name: "sig"}, connmgr.Func(c.Disconnect)); err != nil {
		return err
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	return nil
}
