package connmgr_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

type closeCounter struct {
	closed int
	err    error
}

func (c *closeCounter) Close() error {
	c.closed++
	return c.err
}

func TestAdaptersDisconnectWhatTheyWrap(t *testing.T) {
	t.Run("Func calls the func and returns nil", func(t *testing.T) {
		calls := 0
		require.NoError(t, connmgr.Func(func() { calls++ }).Disconnect())
		assert.Equal(t, 1, calls, "Func's Disconnect should call f once")
	})
	t.Run("HandleFunc returns the func's error", func(t *testing.T) {
		boom := errors.New("boom")
		assert.ErrorIs(t, connmgr.HandleFunc(func() error { return boom }).Disconnect(), boom)
	})
	t.Run("Closer closes and returns Close's error", func(t *testing.T) {
		c := &closeCounter{err: errors.New("already closed")}
		assert.ErrorIs(t, connmgr.Closer(c).Disconnect(), c.err)
		assert.Equal(t, 1, c.closed, "Closer's Disconnect should call Close once")
	})
	t.Run("Timer stops the timer", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fired := false
			tm := time.AfterFunc(time.Second, func() { fired = true })
			require.NoError(t, connmgr.Timer(tm).Disconnect())
			time.Sleep(2 * time.Second)
			assert.False(t, fired, "a disconnected timer should not fire")
		})
	})
	t.Run("Ticker stops the ticker", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			tk := time.NewTicker(time.Second)
			require.NoError(t, connmgr.Ticker(tk).Disconnect())
			time.Sleep(3 * time.Second)
			select {
			case <-tk.C:
				t.Error("a disconnected ticker should not tick")
			default:
			}
		})
	})
}

func TestAdaptersOfNilAreNilAndRefused(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	for name, h := range map[string]connmgr.Handle{
		"Func(nil)":   connmgr.Func(nil),
		"Closer(nil)": connmgr.Closer(nil),
		"Timer(nil)":  connmgr.Timer(nil),
		"Ticker(nil)": connmgr.Ticker(nil),
	} {
		t.Run(name+" is nil and Track refuses it", func(t *testing.T) {
			assert.Nil(t, h)
			id, err := m.TrackPlayer("p", name, h)
			assert.ErrorIs(t, err, connmgr.ErrNilHandle)
			assert.Zero(t, id)
		})
	}
	assert.Zero(t, m.Stats().Rejected, "a nil handle is not a rejected handle: there is nothing to disconnect")
}
