package connmgr

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSortNewestFirst checks both ways of sorting, short lists and long
// ones, against the order the handles must come out in.
func TestSortNewestFirst(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 2, chunk, chunk + 1, 10_000} {
		ds := make([]detached, n)
		for i, seq := range rng.Perm(n) {
			ds[i] = detached{seq: uint64(seq) + 1, id: ID(seq) + 1}
		}
		sortNewestFirst(ds)
		for i := range ds {
			require.Equal(t, uint64(n-i), ds[i].seq, "n=%d: position %d", n, i)
			require.Equal(t, ID(ds[i].seq), ds[i].id, "n=%d: position %d carries its own handle", n, i)
		}
	}
}
