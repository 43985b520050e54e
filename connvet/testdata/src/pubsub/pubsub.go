// Package pubsub is shaped like NATS and Redis clients: NATS subscriptions
// are released with Unsubscribe() error, go-redis ones with
// Unsubscribe(ctx, channels...) error or Close() error.
package pubsub

import "context"

type Subscription struct{ Subject string }

func (s *Subscription) Unsubscribe() error { return nil }

type Conn struct{}

func Dial(url string) (*Conn, error) { return &Conn{}, nil }

func (c *Conn) Subscribe(subject string, f func([]byte)) (*Subscription, error) {
	return &Subscription{Subject: subject}, nil
}

func (c *Conn) Close() error { return nil }

type baseConn struct{}

func (*baseConn) Unsubscribe(ctx context.Context, channels ...string) error { return nil }
func (*baseConn) Close() error                                              { return nil }

// PubSub gets its Unsubscribe from an embedded field.
type PubSub struct {
	*baseConn
	Channel string
}

func (c *Conn) PSubscribe(ctx context.Context, patterns ...string) *PubSub {
	return &PubSub{baseConn: &baseConn{}}
}

// File is not a handle by default, but is one with -closers.
type File struct{}

func (*File) Close() error { return nil }

func Open(name string) (*File, error) { return &File{}, nil }
