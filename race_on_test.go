//go:build race

package connmgr_test

// raceEnabled reports whether the tests run under the race detector, which
// makes every memory access several times slower: the long tests (1M
// handles, the churn soak, the latency check) then run at a tenth of their
// size and check only what does not depend on speed.
const raceEnabled = true
