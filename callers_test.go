package connmgr_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

// here returns the Caller text for the line delta lines from the caller's.
func here(delta int) string {
	pc, file, line, _ := runtime.Caller(1)
	return fmt.Sprintf("%s:%d %s", filepath.Base(file), line+delta, runtime.FuncForPC(pc).Name())
}

// trackVia is user code that wraps Track: the first frame outside
// connmgr is this function, not its caller.
func trackVia(m *connmgr.Manager) (connmgr.ID, string) {
	id, _ := m.TrackPlayer("p", "wrapped", nop{})
	return id, here(-1)
}

func TestCallerNamesTheUsersLine(t *testing.T) {
	m := connmgr.New(connmgr.WithCallers(true))
	defer m.Close()
	for _, tc := range []struct {
		name  string
		track func() (connmgr.ID, string)
	}{
		{"Track", func() (connmgr.ID, string) {
			id, _ := m.Track(connmgr.Meta{Player: "p"}, nop{})
			return id, here(-1)
		}},
		{"Track with a Key", func() (connmgr.ID, string) {
			id, _ := m.Track(connmgr.Meta{Player: "p", Key: "k"}, nop{})
			return id, here(-1)
		}},
		{"TrackPlayer", func() (connmgr.ID, string) {
			id, _ := m.TrackPlayer("p", "x", nop{})
			return id, here(-1)
		}},
		{"TrackService", func() (connmgr.ID, string) {
			id, _ := m.TrackService("s", "x", nop{})
			return id, here(-1)
		}},
		{"TrackTag", func() (connmgr.ID, string) {
			id, _ := m.TrackTag("t", "x", nop{})
			return id, here(-1)
		}},
		{"Go", func() (connmgr.ID, string) {
			id, _ := m.Go(connmgr.Meta{Player: "p"}, func(ctx context.Context) { <-ctx.Done() })
			return id, here(-1)
		}},
		{"a user function that wraps Track", func() (connmgr.ID, string) { return trackVia(m) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, want := tc.track()
			require.NotZero(t, id)
			info, ok := m.Lookup(id)
			require.True(t, ok)
			assert.Equal(t, want, info.Caller, "Caller names the user's file, line and function")
		})
	}
}

func TestCallerIsEverywhereAnInfoIs(t *testing.T) {
	var reported []error
	m := connmgr.New(connmgr.WithCallers(true), connmgr.WithErrorHandler(func(err error) { reported = append(reported, err) }))
	defer m.Close()
	boom := errors.New("boom")
	id, _ := m.Track(connmgr.Meta{Player: "p", Key: "k"}, connmgr.HandleFunc(func() error { return boom }))
	want := here(-1)

	info, _ := m.LookupKey("k")
	assert.Equal(t, want, info.Caller, "LookupKey")
	for info := range m.Handles(connmgr.Player("p")) {
		assert.Equal(t, want, info.Caller, "Handles")
	}
	for info := range m.All() {
		assert.Equal(t, want, info.Caller, "All")
	}
	h := m.Health(1)
	require.Len(t, h.Oldest, 1)
	assert.Equal(t, want, h.Oldest[0].Caller, "Health.Oldest")
	var de *connmgr.DisconnectError
	require.ErrorAs(t, m.Disconnect(id), &de)
	assert.Equal(t, want, de.Info.Caller, "DisconnectError.Info")
}

func TestCallerIsEmptyWithCallersOff(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	id, _ := m.Track(connmgr.Meta{Player: "p", Service: "s", Key: "k"}, connmgr.HandleFunc(func() error { return errors.New("boom") }))
	info, _ := m.Lookup(id)
	assert.Empty(t, info.Caller)
	h := m.Health(1)
	assert.Empty(t, h.Oldest[0].Caller)
	var de *connmgr.DisconnectError
	require.ErrorAs(t, m.Disconnect(id), &de)
	assert.Empty(t, de.Info.Caller)
}

func TestTrackWithCallersOffPaysNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	allocs := func(opts ...connmgr.Option) float64 {
		m := connmgr.New(opts...)
		defer m.Close()
		h := connmgr.Func(func() {})
		m.TrackPlayer("p", "resident", h) // keeps the slot page alive
		return testing.AllocsPerRun(1000, func() {
			id, _ := m.TrackPlayer("p", "x", h)
			m.Disconnect(id)
		})
	}
	assert.Zero(t, allocs(), "off, a plain Track records nothing and allocates nothing")
	assert.Equal(t, 1.0, allocs(connmgr.WithCallers(true)), "on, it allocates one record of program counters")
}
