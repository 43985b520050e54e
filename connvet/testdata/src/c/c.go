// Package c is checked with -closers.
package c

import "pubsub"

func files() error {
	pubsub.Open("log") // want `result of pubsub.Open \(\*pubsub.File\)`
	f, err := pubsub.Open("save")
	if err != nil {
		return err
	}
	defer f.Close()
	conn, _ := pubsub.Dial("nats://x") // want `result of pubsub.Dial \(\*pubsub.Conn\)`
	_ = conn
	return nil
}
