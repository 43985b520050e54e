// Package shrinkmap is a Go map that gives its memory back.
//
// A Go map keeps the buckets of its largest size for as long as it lives, so
// a server whose player count peaks at 100k keeps the buckets for 100k
// players after everyone leaves. Map rebuilds itself into a fresh map when it
// has shrunk to a small fraction of its peak, which costs O(len) once per
// halving and keeps memory proportional to what is live.
package shrinkmap

import (
	"iter"
	"maps"
)

// minPeak is the size below which a map is never rebuilt: small maps cost
// little, and rebuilding them would only churn.
const minPeak = 256

// shrinkFactor is how far below its peak a map must fall before it is
// rebuilt.
const shrinkFactor = 8

// Map is a map[K]V that is rebuilt after it shrinks far below its peak. The
// zero value is ready to use. It is not safe for concurrent use.
type Map[K comparable, V any] struct {
	m    map[K]V
	peak int
}

// Len reports the number of entries.
func (m *Map[K, V]) Len() int { return len(m.m) }

// Get returns the value for k.
func (m *Map[K, V]) Get(k K) (V, bool) {
	v, ok := m.m[k]
	return v, ok
}

// Set sets the value for k.
func (m *Map[K, V]) Set(k K, v V) {
	if m.m == nil {
		m.m = make(map[K]V)
	}
	m.m[k] = v
	m.peak = max(m.peak, len(m.m))
}

// Delete removes k, rebuilding the map when it has shrunk far below its
// peak.
func (m *Map[K, V]) Delete(k K) {
	delete(m.m, k)
	if m.peak >= minPeak && len(m.m)*shrinkFactor <= m.peak {
		fresh := make(map[K]V, len(m.m))
		for k, v := range m.m {
			fresh[k] = v
		}
		m.m = fresh
		m.peak = len(fresh)
	}
}

// All returns an iterator over the entries. The loop body must not change
// the map.
func (m *Map[K, V]) All() iter.Seq2[K, V] { return maps.All(m.m) }

// Clear removes every entry and drops the buckets.
func (m *Map[K, V]) Clear() {
	m.m = nil
	m.peak = 0
}

// Peak reports the largest size since the map was last rebuilt.
func (m *Map[K, V]) Peak() int { return m.peak }
