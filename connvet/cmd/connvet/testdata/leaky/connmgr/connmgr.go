// Package connmgr is a stub of the core connmgr package with just the API
// that connvet knows about.
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
