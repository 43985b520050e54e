// Command basic shows connmgr in a tiny game server: players join and get
// a heartbeat ticker, a chat subscription and a per-connection context;
// the pets service subscribes to events; players leave and everything they
// owned is disconnected; the server shuts down and nothing is left.
package main

import (
	"context"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	"github.com/connmgr/connmgr"
)

// bus is a stand-in event source: Subscribe returns an unsubscribe func.
// Handles may be disconnected from other goroutines, so it counts
// atomically.
type bus struct{ subscribers atomic.Int32 }

func (b *bus) Subscribe(func(string)) (unsubscribe func()) {
	b.subscribers.Add(1)
	return func() { b.subscribers.Add(-1) }
}

func main() {
	m := connmgr.New(connmgr.WithErrorHandler(func(err error) { log.Print(err) }))

	chat := &bus{}
	join := func(player string) context.CancelFunc {
		// The player's connection context: when it ends, the pool goes.
		ctx, cancel := context.WithCancel(context.Background())
		m.CleanupOnDone(ctx, connmgr.Player(player))

		heartbeat := time.NewTicker(time.Second)
		mustTrack(m.TrackPlayer(player, "Heartbeat", connmgr.Ticker(heartbeat)))
		mustTrack(m.Track(connmgr.Meta{Name: "chat", Player: player, Tags: []string{"round-1"}},
			connmgr.Func(chat.Subscribe(func(string) {}))))
		return cancel
	}

	mustTrack(m.TrackService("Pets", "PetEvents", connmgr.Func(chat.Subscribe(func(string) {}))))
	disconnectAlice := join("alice")
	join("bob")
	join("carol")
	fmt.Printf("3 players online: %d handles, %d chat subscribers\n", m.Stats().Active, chat.subscribers.Load())

	// alice's connection drops: CleanupOnDone cleans her pool.
	disconnectAlice()
	waitFor(func() bool { return chat.subscribers.Load() == 3 })
	fmt.Printf("alice's connection dropped: %d handles left\n", m.Stats().Active)
	// bob leaves through the game's own leave handler.
	n, err := m.CleanupPlayer("bob")
	fmt.Printf("bob left: %d handles disconnected (err: %v)\n", n, err)

	if err := m.Close(); err != nil {
		log.Fatal(err)
	}
	st := m.Stats()
	fmt.Printf("after Close: active %d, chat subscribers %d\n", st.Active, chat.subscribers.Load())
	fmt.Printf("tracked %d == active %d + disconnected %d + untracked %d + stale %d + exited %d: %v\n",
		st.Tracked, st.Active, st.Disconnected, st.Untracked, st.Stale, st.Exited,
		st.Tracked == uint64(st.Active)+st.Disconnected+st.Untracked+st.Stale+st.Exited)
	if err := m.Validate(); err != nil {
		log.Fatal(err)
	}
}

func mustTrack(_ connmgr.ID, err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// waitFor polls cond: CleanupOnDone cleans up in a goroutine of the context
// package's, so the example waits for it to finish.
func waitFor(cond func() bool) {
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			log.Fatal("timed out waiting for cleanup")
		}
	}
}
