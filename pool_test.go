package connmgr_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/connmgr/connmgr"
)

func TestPoolStringNamesKindAndID(t *testing.T) {
	assert.Equal(t, "player:p42", connmgr.Player("p42").String())
	assert.Equal(t, "service:Pets", connmgr.Service("Pets").String())
	assert.Equal(t, "tag:round-3", connmgr.Tag("round-3").String())
	assert.Equal(t, "invalid", connmgr.Pool{}.String())
}

func TestCleaningAnyPoolRemovesTheHandleFromAll(t *testing.T) {
	all := []connmgr.Pool{connmgr.Player("p"), connmgr.Service("s"), connmgr.Tag("a"), connmgr.Tag("b")}
	for _, cleaned := range all {
		t.Run("cleaning "+cleaned.String()+" empties the other three", func(t *testing.T) {
			j := newJournal()
			m := connmgr.New()
			defer m.Close()
			_, err := m.Track(connmgr.Meta{Name: "h", Player: "p", Service: "s", Tags: []string{"a", "b"}}, j.spy("h"))
			require.NoError(t, err)
			// A bystander in every pool but the one cleaned, so the others stay non-empty.
			for _, p := range all {
				if p != cleaned {
					require.NoError(t, trackInto(m, p, j.spy("bystander "+p.String())))
				}
			}
			for _, p := range all {
				want := 2
				if p == cleaned {
					want = 1
				}
				require.Equal(t, want, m.Len(p), "before cleanup, %s", p)
			}

			n, err := m.Cleanup(cleaned)
			require.NoError(t, err)
			assert.Equal(t, 1, n)
			assert.Equal(t, 1, j.Count("h"), "the handle is disconnected once")
			for _, p := range all {
				want := 1
				if p == cleaned {
					want = 0
				}
				assert.Equal(t, want, m.Len(p), "after cleaning %s, %s should have lost the handle", cleaned, p)
			}
			require.NoError(t, m.Validate())
		})
	}
}

// trackInto tracks h into pool p alone.
func trackInto(m *connmgr.Manager, p connmgr.Pool, h connmgr.Handle) error {
	var meta connmgr.Meta
	switch kind, name, _ := strings.Cut(p.String(), ":"); kind {
	case "player":
		meta.Player = name
	case "service":
		meta.Service = name
	case "tag":
		meta.Tags = []string{name}
	}
	_, err := m.Track(meta, h)
	return err
}

func TestEmptyPoolsAreFreed(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	empty := m.Stats().MemoryBytes
	var ids []connmgr.ID
	for i := range 1000 {
		id, err := m.Track(connmgr.Meta{Player: fmt.Sprint("p", i), Service: fmt.Sprint("s", i%7), Tags: []string{fmt.Sprint("t", i%13)}}, nop{})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	st := m.Stats()
	require.Equal(t, [3]int{1000, 7, 13}, [3]int{st.PlayerPools, st.ServicePools, st.TagPools})

	for _, id := range ids { // one by one, not by pool
		require.NoError(t, m.Disconnect(id))
	}
	st = m.Stats()
	assert.Equal(t, [3]int{0, 0, 0}, [3]int{st.PlayerPools, st.ServicePools, st.TagPools}, "a pool that becomes empty is freed")
	assert.Equal(t, empty, st.MemoryBytes, "the memory estimate returns to that of an empty manager")
	require.NoError(t, m.Validate())
}

func TestCleanupOfAnInvalidPoolIsAnError(t *testing.T) {
	m := connmgr.New()
	defer m.Close()
	for _, p := range []connmgr.Pool{{}, connmgr.Player(""), connmgr.Service(""), connmgr.Tag("")} {
		n, err := m.Cleanup(p)
		assert.ErrorIs(t, err, connmgr.ErrInvalid, "cleanup of %q", p)
		assert.Zero(t, n)
	}
}
