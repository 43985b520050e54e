package connmgr

import (
	"hash/maphash"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPlayerIndexMatchesMap adds and removes pools at random, with hashes
// forced to collide often, and checks the index against a Go map after
// every step, through growth down to empty.
func TestPlayerIndexMatchesMap(t *testing.T) {
	seed := maphash.MakeSeed()
	rng := rand.New(rand.NewPCG(3, 4))
	hashOf := func(name string) uint64 {
		// Keep only a few bits above indexShift so that probe runs are long
		// and backward-shift deletion is exercised.
		return maphash.String(seed, name) & (0x3f << indexShift)
	}
	var x playerIndex
	model := map[string]*pool{}
	check := func(step int) {
		require.Equal(t, len(model), x.Len(), "step %d: pool count", step)
		for name, p := range model {
			require.Same(t, p, x.get(hashOf(name), name), "step %d: pool %q", step, name)
		}
		seen := 0
		for name, p := range x.All() {
			require.Same(t, model[name], p, "step %d: iterated pool %q", step, name)
			seen++
		}
		require.Equal(t, len(model), seen, "step %d: iteration count", step)
	}
	for step := range 20000 {
		// Grow for the first half, then shrink, so the table resizes both
		// ways.
		name := "p" + strconv.Itoa(rng.IntN(600))
		if p, ok := model[name]; ok && (step > 10000 || rng.IntN(3) == 0) {
			x.remove(hashOf(name), p)
			delete(model, name)
		} else if !ok && step <= 10000 {
			p := &pool{key: Player(name)}
			x.add(hashOf(name), p)
			model[name] = p
		}
		if step%97 == 0 {
			check(step)
		}
	}
	check(-1)
	assert.LessOrEqual(t, len(x.slots()), 2*indexMin, "the table shrinks once emptied")
}

// TestPlayerIndexRemovesByIdentity checks that removing a pool leaves a
// different pool of the same name alone.
func TestPlayerIndexRemovesByIdentity(t *testing.T) {
	var x playerIndex
	old, cur := &pool{key: Player("p")}, &pool{key: Player("p")}
	x.add(42, cur)
	x.remove(42, old)
	assert.Same(t, cur, x.get(42, "p"), "removing the old pool keeps the current one")
	x.remove(42, cur)
	assert.Nil(t, x.get(42, "p"), "removing the current pool empties the index")
	assert.Zero(t, x.Len())
}
