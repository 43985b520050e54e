package connmgr_test

import (
	"testing"

	"github.com/connmgr/connmgr"
)

// BenchmarkTrackCallers measures Track+Disconnect of a plain player handle
// (the hot path) and of a service handle, side by side with and without
// WithCallers, so that the cost of recording the caller shows as a
// difference.
//
//	go test -run '^$' -bench TrackCallers -count 10 .
func BenchmarkTrackCallers(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []connmgr.Option
	}{
		{"callers=off", nil},
		{"callers=on", []connmgr.Option{connmgr.WithCallers(true)}},
	} {
		for _, mc := range []struct {
			name string
			meta connmgr.Meta
		}{
			{"player", connmgr.Meta{Name: "Heartbeat", Player: "p42"}},
			{"service", connmgr.Meta{Name: "PetEvents", Service: "Pets"}},
		} {
			b.Run(bc.name+"/"+mc.name, func(b *testing.B) {
				m := connmgr.New(bc.opts...)
				defer m.Close()
				h := connmgr.Func(func() {})
				// A resident handle in the same shard keeps its slot page
				// alive, as in a running server, so that the loop measures
				// Track and Disconnect rather than page churn.
				if _, err := m.Track(mc.meta, h); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					id, err := m.Track(mc.meta, h)
					if err != nil {
						b.Fatal(err)
					}
					if err := m.Disconnect(id); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
