package heapq_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/connmgr/connmgr/internal/heapq"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestPopReturnsValuesInOrder(t *testing.T) {
	h := heapq.New(0, func(a, b int) bool { return a < b })
	var want []int
	for range 1000 {
		v := rand.IntN(100)
		h.Push(v)
		want = append(want, v)
	}
	slices.Sort(want)
	var got []int
	for h.Len() > 0 {
		got = append(got, h.Pop())
	}
	assert.Equal(t, want, got)
}

func TestReplaceTopKeepsTheBestN(t *testing.T) {
	// The usual use: keep the 10 smallest of many in a heap with the
	// largest on top.
	h := heapq.New(10, func(a, b int) bool { return a > b })
	var all []int
	for range 1000 {
		v := rand.IntN(1_000_000)
		all = append(all, v)
		switch {
		case h.Len() < 10:
			h.Push(v)
		case v < h.Top():
			h.ReplaceTop(v)
		}
	}
	got := h.Drain()
	require.Zero(t, h.Len())
	slices.Sort(got)
	slices.Sort(all)
	assert.Equal(t, all[:10], got)
}

func TestFixAfterTheTopChangesInPlace(t *testing.T) {
	type item struct{ v int }
	h := heapq.New(0, func(a, b *item) bool { return a.v < b.v })
	items := []*item{{1}, {5}, {3}}
	for _, it := range items {
		h.Push(it)
	}
	h.Top().v = 10
	h.Fix()
	assert.Equal(t, 3, h.Pop().v)
	assert.Equal(t, 5, h.Pop().v)
	assert.Equal(t, 10, h.Pop().v)
}
