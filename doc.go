// Package connmgr tracks disconnectable handles (event subscriptions,
// remote-call handlers, tweens, timers, tickers, network connections,
// goroutine cancels) in player, service and tag pools, so that one call
// disconnects everything a leaving player or a stopping service owned,
// exactly once, even when a Disconnect panics, blocks, or calls back into
// the manager.
//
// # Tracking and cleaning up
//
// A [Manager] registers each [Handle] with a [Meta] that names its pools:
//
//	m := connmgr.New()
//	defer m.Close()
//	id, err := m.Track(connmgr.Meta{Name: "Heartbeat", Player: "p42"}, connmgr.Ticker(t))
//	...
//	n, err := m.CleanupPlayer("p42") // stops the ticker, and everything else p42 owned
//
// [Func], [Closer], [Timer] and [Ticker] adapt the usual kinds of handle.
// A handle leaves the manager by exactly one path: [Manager.Disconnect] of
// its ID, a cleanup of any of its pools ([Manager.Cleanup] and its forms,
// [Manager.CleanupAll]), [Manager.Sweep] (stale, expired, or its player
// offline), [Manager.Shutdown], [Manager.Untrack], which hands it back
// undisconnected, being replaced by a handle with the same Key, or, for a
// goroutine started with [Manager.Go], returning. [Manager.CleanupOnDone]
// ties a pool to a context, such as the context of a player's connection.
//
// # Goroutines
//
// [Manager.Go] runs a function in a new goroutine tracked as a handle: a
// player's game loop goes into the player's pool, and leaves with the
// player.
//
//	m.Go(connmgr.Meta{Name: "game-loop", Player: "p42"}, func(ctx context.Context) {
//		for {
//			select {
//			case <-ctx.Done():
//				return
//			case <-tick.C:
//				step()
//			}
//		}
//	})
//
// Disconnecting it, by any path, cancels ctx and waits for the function to
// return, so when CleanupPlayer returns the loop has stopped. A function
// that returns on its own leaves the manager (Stats.Exited); a panic is
// recovered and reported. As with a sync.WaitGroup, the function must not
// disconnect its own handle: to kick its own player it runs the cleanup in
// a new goroutine.
//
// # Keyed handles
//
// A handle tracked with a Meta.Key replaces the live handle holding that
// key, which is disconnected: at most one round timer per player, one
// subscription per channel. [Manager.DisconnectKey] and
// [Manager.LookupKey] find the holder in O(1).
//
// # Walking and finding leaks
//
// [Manager.Handles] and [Manager.All] walk live handles newest first, a
// chunk per lock hold, and the loop body may call back into the manager.
// [Manager.Health] reports the pools and names holding the most handles,
// the oldest handles and any inconsistency, without pausing the manager.
// With [WithCallers], every [Info] says where its handle was tracked, so
// the oldest handles in a Health report point at the code that leaks them.
// A [Manager] is itself an io.Closer: tracked with [Closer] in another
// manager's pool, it is closed with that pool.
//
// # Guarantees
//
//   - Exactly once: the manager calls a handle's Disconnect at most once,
//     whatever mix of calls runs concurrently; after CleanupAll or Shutdown
//     returns, every handle tracked before the call has been disconnected
//     (or untracked, or dropped as stale).
//   - Newest first: one cleanup disconnects its handles in reverse track
//     order, as defer does. A Track that returned before another began is
//     the older; Tracks that overlap in time have no order between them.
//   - No lock is held while user code runs (Disconnect, Connected, the
//     presence function, the error handler), so Disconnect may call any
//     Manager method. The one exception is Shutdown or Close from inside a
//     Disconnect that Shutdown (or the background sweeper) is running: like
//     sync.Once, it waits for itself, until its own context ends.
//   - Failures do not stop a batch: a Disconnect that errs or panics is
//     reported in a [DisconnectError] (a panic as a [PanicError]) and
//     forgotten; the rest go on.
//   - Refusals never leak: a handle that Track refuses (invalid Meta, over
//     a limit, manager closed) is disconnected before Track returns.
//   - IDs are never reused for a different handle, and an unknown or stale
//     ID is reported as [ErrNotFound], never a panic.
//   - Whenever no call is in flight,
//     Stats.Tracked == Active + Disconnected + Untracked + Stale + Exited.
//   - Locks are taken in one order: a shard's lock first (two shards in
//     ascending order), and under it a player pool's lock and the registry
//     of service and tag pools or one part of the key index, never the
//     registry and the key index both. A resident player's Track and
//     Disconnect take only the player pool's lock, and no other while they
//     hold it. No lock is held while user code runs, and no walk
//     (cleanups, Sweep, Handles, All, Health) holds a lock for more than a
//     bounded chunk; only Validate holds them all. Lookup takes no lock at
//     all.
//
// # Performance
//
// Handles live in sharded generational slot tables: Track allocates nothing
// for a plain player handle, Lookup and Disconnect index an array instead of
// hashing, pools are intrusive lists with O(1) removal, memory is given back
// after churn, different players rarely share a lock, and [Manager.Stats]
// sums counters instead of walking handles. A player's Track and Disconnect
// reuse a slot of that player's own and, when that is all they need, take
// only the lock of the player's pool, not the shard's, and count in a
// stripe of their processor's: two processors serving different players
// then write no cache line in common (see fastpath.go). Track order comes
// from the clock, not a manager-wide counter (see stamp.go). Long walks (CleanupAll, Sweep,
// Shutdown) take each lock for a bounded chunk at a time, let waiting
// Tracks in between chunks, and copy no handle out: a cleanup keeps 24
// bytes per handle. Lookup takes no lock: the fields it reads are written
// atomically, and it reads the slot's generation before and after them, so
// a handle that left meanwhile is reported gone rather than read torn.
//
// # Who calls Close
//
// Whoever creates a Manager owns it and calls [Manager.Close] (or
// [Manager.Shutdown] with a deadline) when the server stops: that
// disconnects every remaining handle and stops the background sweeper
// started by [WithSweepInterval]. Libraries that receive a Manager do not
// close it.
package connmgr
