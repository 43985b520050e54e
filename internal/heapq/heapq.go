// Package heapq is a binary heap of any type, ordered by a function: the
// small piece of container/heap that connmgr needs, without boxing every
// element in an interface.
package heapq

// Heap holds values with the one that ranks first on top. The zero value
// is not usable; make one with New. It is not safe for concurrent use.
type Heap[T any] struct {
	items []T
	first func(a, b T) bool // reports whether a ranks before b
}

// New returns an empty heap whose top is the value for which first
// reports true against every other, with room for size values.
func New[T any](size int, first func(a, b T) bool) *Heap[T] {
	return &Heap[T]{items: make([]T, 0, size), first: first}
}

// Len reports the number of values.
func (h *Heap[T]) Len() int { return len(h.items) }

// Top returns the value that ranks first. The heap must not be empty.
func (h *Heap[T]) Top() T { return h.items[0] }

// Push adds v.
func (h *Heap[T]) Push(v T) {
	h.items = append(h.items, v)
	h.up(len(h.items) - 1)
}

// Pop removes and returns the value that ranks first. The heap must not be
// empty.
func (h *Heap[T]) Pop() T {
	top := h.items[0]
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	var zero T
	h.items[last] = zero
	h.items = h.items[:last]
	if last > 0 {
		h.down(0)
	}
	return top
}

// ReplaceTop replaces the value that ranks first with v and restores the
// order. The heap must not be empty.
func (h *Heap[T]) ReplaceTop(v T) {
	h.items[0] = v
	h.down(0)
}

// Fix restores the order after the top value changed in place (through a
// pointer the heap holds).
func (h *Heap[T]) Fix() { h.down(0) }

// Drain removes every value and returns them, the heap's memory reused, in
// no particular order.
func (h *Heap[T]) Drain() []T {
	items := h.items
	h.items = nil
	return items
}

func (h *Heap[T]) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.first(h.items[i], h.items[parent]) {
			return
		}
		h.items[i], h.items[parent] = h.items[parent], h.items[i]
		i = parent
	}
}

func (h *Heap[T]) down(i int) {
	n := len(h.items)
	for {
		best, l, r := i, 2*i+1, 2*i+2
		if l < n && h.first(h.items[l], h.items[best]) {
			best = l
		}
		if r < n && h.first(h.items[r], h.items[best]) {
			best = r
		}
		if best == i {
			return
		}
		h.items[i], h.items[best] = h.items[best], h.items[i]
		i = best
	}
}
