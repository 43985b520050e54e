package connmgr

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// drain runs src to the end, checking the chunk bound and calling between
// after each chunk, and returns the IDs in order.
func drain(t *testing.T, src source, between func(chunk []view)) []ID {
	t.Helper()
	var ids []ID
	for {
		out := src.next(nil)
		if len(out) == 0 {
			return ids
		}
		require.LessOrEqual(t, len(out), chunk, "a chunk holds at most %d handles", chunk)
		for _, v := range out {
			ids = append(ids, v.id)
		}
		if between != nil {
			between(out)
		}
	}
}

func TestPartSourceResumesAfterItsPreviousChunkLeft(t *testing.T) {
	for _, key := range []Pool{Player("p"), Service("s")} {
		t.Run(key.String(), func(t *testing.T) {
			m := New()
			defer m.Close()
			var ids []ID // newest first
			for i := range 1000 {
				id, err := m.Track(Meta{Name: fmt.Sprint(i), Player: "p", Service: "s"}, Func(func() {}))
				require.NoError(t, err)
				ids = append([]ID{id}, ids...)
			}
			s := m.playerHome("p") // the service's handles live there too, by their player
			var kept ID
			round := 0
			got := drain(t, &partSource{s: s, key: key}, func(out []view) {
				round++
				switch round {
				case 1: // the whole chunk leaves: restart from the newest end
					for _, v := range out {
						require.NoError(t, m.Disconnect(v.id))
					}
				case 2: // all but its newest leave: resume after that one
					kept = out[0].id
					for _, v := range out[1:] {
						require.NoError(t, m.Disconnect(v.id))
					}
				case 3: // its oldest leaves, and a newer handle too
					require.NoError(t, m.Disconnect(out[len(out)-1].id))
					require.NoError(t, m.Disconnect(kept))
				}
				// Handles tracked meanwhile are newer than the walk.
				_, err := m.Track(Meta{Player: "p", Service: "s"}, Func(func() {}))
				require.NoError(t, err)
			})
			assert.Equal(t, ids, got, "every handle of the pool at the start, in order, each once")
		})
	}
}
