package connmgr_test

import (
	"fmt"
	"testing"

	"github.com/connmgr/connmgr"
)

func TestSmoke(t *testing.T) {
	m := connmgr.New()
	var order []int
	for i := 0; i < 1000; i++ {
		i := i
		_, err := m.Track(connmgr.Meta{Name: "h", Player: fmt.Sprint("p", i%10), Service: "svc", Tags: []string{"a", "b", "a"}}, connmgr.Func(func() { order = append(order, i) }))
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	t.Log(m.Stats(), m.Len(connmgr.Player("p1")), m.Len(connmgr.Service("svc")), m.Len(connmgr.Tag("a")))
	n, err := m.CleanupPlayer("p1")
	t.Log(n, err, order[:5], m.Len(connmgr.Service("svc")))
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	order = nil
	n, err = m.CleanupService("svc")
	t.Log(n, err, order[:5], order[len(order)-5:], m.Len(connmgr.Service("svc")))
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", m.Stats())
	m.Close()
	t.Logf("%+v", m.Stats())
}
