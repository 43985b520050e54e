package connmgr_test

import (
	"context"
	"fmt"
	"time"

	"github.com/connmgr/connmgr"
)

// A player joins: their subscriptions and timers are tracked in their pool.
// They leave: one call disconnects everything, newest first.
func ExampleManager_CleanupPlayer() {
	m := connmgr.New()
	defer m.Close()

	unsubscribe := func(name string) func() { return func() { fmt.Println("unsubscribed", name) } }
	_, _ = m.TrackPlayer("p42", "Heartbeat", connmgr.Func(unsubscribe("Heartbeat")))
	_, _ = m.Track(connmgr.Meta{Name: "remote:BuyPet", Player: "p42", Service: "Pets"}, connmgr.Func(unsubscribe("remote:BuyPet")))
	fmt.Println("p42 holds", m.Len(connmgr.Player("p42")))

	n, err := m.CleanupPlayer("p42")
	fmt.Println(n, err, m.Len(connmgr.Service("Pets")))
	// Output:
	// p42 holds 2
	// unsubscribed remote:BuyPet
	// unsubscribed Heartbeat
	// 2 <nil> 0
}

// Tie a player's pool to the context of their connection: when the
// connection ends, the pool is cleaned.
func ExampleManager_CleanupOnDone() {
	m := connmgr.New()
	defer m.Close()

	conn, closeConn := context.WithCancel(context.Background())
	m.CleanupOnDone(conn, connmgr.Player("p42"))
	done := make(chan struct{})
	_, _ = m.TrackPlayer("p42", "chat", connmgr.Func(func() { close(done) }))

	closeConn()
	<-done // the cleanup runs in its own goroutine
	fmt.Println("chat unsubscribed; p42 holds", m.Len(connmgr.Player("p42")))
	// Output: chat unsubscribed; p42 holds 0
}

// Handles with a TTL are disconnected by the first Sweep after they expire.
// WithSweepInterval runs Sweep in the background instead.
func ExampleManager_Sweep() {
	m := connmgr.New()
	defer m.Close()

	_, _ = m.Track(connmgr.Meta{Name: "round timer", Tags: []string{"round-3"}, TTL: time.Millisecond},
		connmgr.Func(func() { fmt.Println("round timer stopped") }))
	_, _ = m.TrackTag("round-3", "scoreboard", connmgr.Func(func() { fmt.Println("scoreboard closed") }))

	time.Sleep(2 * time.Millisecond)
	n, err := m.Sweep()
	fmt.Println(n, err, m.Stats().Expired)
	// Output:
	// round timer stopped
	// 1 <nil> 1
	// scoreboard closed
}

// Stats is a cheap snapshot for dashboards.
func ExampleManager_Stats() {
	m := connmgr.New()
	defer m.Close()

	for _, player := range []string{"ann", "bob"} {
		_, _ = m.TrackPlayer(player, "Heartbeat", connmgr.Func(func() {}))
		_, _ = m.TrackPlayer(player, "chat", connmgr.Func(func() {}))
	}
	_, _ = m.CleanupPlayer("bob")

	st := m.Stats()
	fmt.Printf("active %d in %d player pools (%.1f each)\n", st.Active, st.PlayerPools, st.AvgPerPlayer)
	fmt.Printf("tracked %d = active %d + disconnected %d + untracked %d + stale %d + exited %d\n",
		st.Tracked, st.Active, st.Disconnected, st.Untracked, st.Stale, st.Exited)
	// Output:
	// active 2 in 1 player pools (2.0 each)
	// tracked 4 = active 2 + disconnected 2 + untracked 0 + stale 0 + exited 0
}

// Shutdown with a deadline disconnects everything, newest first, and
// refuses new handles.
func ExampleManager_Shutdown() {
	m := connmgr.New()
	_, _ = m.TrackService("Pets", "PetEvents", connmgr.Func(func() { fmt.Println("PetEvents unsubscribed") }))
	_, _ = m.TrackPlayer("p42", "Heartbeat", connmgr.Func(func() { fmt.Println("Heartbeat stopped") }))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println("shutdown:", m.Shutdown(ctx))

	_, err := m.TrackPlayer("p42", "late", connmgr.Func(func() { fmt.Println("late handle disconnected at once") }))
	fmt.Println(err)
	// Output:
	// Heartbeat stopped
	// PetEvents unsubscribed
	// shutdown: <nil>
	// late handle disconnected at once
	// connmgr: manager closed
}
