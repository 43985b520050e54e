package connmgr_test

import (
	"context"
	"fmt"
	"time"

	"github.com/connmgr/connmgr"
)

// A per-player game loop lives in the player's pool: when the player
// leaves, CleanupPlayer cancels the loop's context and waits for it.
func ExampleManager_Go() {
	m := connmgr.New()
	defer m.Close()

	_, err := m.Go(connmgr.Meta{Name: "game-loop", Player: "p42"}, func(ctx context.Context) {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				fmt.Println("p42's game loop stopped:", ctx.Err())
				return
			case <-tick.C:
				// step p42's simulation
			}
		}
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	n, err := m.CleanupPlayer("p42") // returns once the loop has returned
	fmt.Println("cleaned up", n, err)
	// Output:
	// p42's game loop stopped: context canceled
	// cleaned up 1 <nil>
}

// A Key keeps at most one live handle per key: starting a player's next
// round replaces, and stops, the timer of the last one.
func ExampleManager_DisconnectKey() {
	m := connmgr.New()
	defer m.Close()

	startRound := func(player string, round int) {
		timer := time.AfterFunc(time.Minute, func() { /* end the round */ })
		meta := connmgr.Meta{Name: fmt.Sprint("round ", round), Player: player, Key: player + "/round-timer"}
		m.Track(meta, connmgr.Func(func() {
			timer.Stop()
			fmt.Println("stopped the timer of round", round)
		}))
	}
	startRound("p42", 1)
	startRound("p42", 2) // replaces round 1's timer

	info, _ := m.LookupKey("p42/round-timer")
	fmt.Println("current:", info.Name, "- handles of p42:", m.Len(connmgr.Player("p42")))
	fmt.Println(m.DisconnectKey("p42/round-timer"))
	fmt.Println(m.DisconnectKey("p42/round-timer"))
	// Output:
	// stopped the timer of round 1
	// current: round 2 - handles of p42: 1
	// stopped the timer of round 2
	// <nil>
	// connmgr: handle not found
}

// Handles walks a pool newest first; the loop body may call back into the
// manager, here to disconnect some of what it finds.
func ExampleManager_Handles() {
	m := connmgr.New()
	defer m.Close()
	for _, name := range []string{"Heartbeat", "remote:BuyPet", "chat", "remote:Trade"} {
		m.TrackPlayer("p42", name, connmgr.Func(func() {}))
	}

	for info := range m.Handles(connmgr.Player("p42")) {
		fmt.Println(info.Name)
		if info.Name == "chat" {
			m.Disconnect(info.ID)
		}
	}
	fmt.Println("left:", m.Len(connmgr.Player("p42")))
	// Output:
	// remote:Trade
	// chat
	// remote:BuyPet
	// Heartbeat
	// left: 3
}

// Health points at leaks: the pools and names holding the most handles,
// and the oldest handles with the line that tracked them.
func ExampleManager_Health() {
	m := connmgr.New(connmgr.WithCallers(true))
	defer m.Close()
	for i := range 5 {
		player := fmt.Sprint("p", i)
		m.TrackPlayer(player, "Heartbeat", connmgr.Func(func() {}))
		m.TrackService("Chat", "chat-sub", connmgr.Func(func() {})) // leaks: not in the player's pool
		m.CleanupPlayer(player)
	}

	h := m.Health(2)
	fmt.Println("active:", h.Stats.Active)
	fmt.Println("top services:", h.TopServices)
	fmt.Println("top names:", h.TopNames)
	fmt.Println("oldest tracked at:", h.Oldest[0].Caller)
	fmt.Println("problems:", len(h.Problems))
	// Output:
	// active: 5
	// top services: [{service:Chat 5}]
	// top names: [{chat-sub 5}]
	// oldest tracked at: example_lifecycle_test.go:103 github.com/connmgr/connmgr_test.ExampleManager_Health
	// problems: 0
}

// A Manager is an io.Closer, so one can be tracked in another, as Trove's
// Extend does: cleaning the parent's pool closes the child and everything
// in it.
func Example_childManager() {
	server := connmgr.New()
	defer server.Close()

	match := connmgr.New()
	match.TrackService("Match", "scoreboard", connmgr.Func(func() { fmt.Println("scoreboard removed") }))
	match.Go(connmgr.Meta{Name: "match-loop"}, func(ctx context.Context) {
		<-ctx.Done()
		fmt.Println("match loop stopped")
	})
	server.Track(connmgr.Meta{Name: "match", Tags: []string{"round-7"}}, connmgr.Closer(match))

	n, err := server.CleanupTag("round-7")
	fmt.Println("cleaned up", n, err)
	// Output:
	// match loop stopped
	// scoreboard removed
	// cleaned up 1 <nil>
}
