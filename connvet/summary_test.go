package connvet_test

import (
	"strings"
	"testing"

	"github.com/connmgr/connmgr/connvet"
)

// TestReadSummary checks the totals: a handle reported twice at the same
// position (a package checked alone and with its tests) counts once, and
// types are listed most first, then by name.
func TestReadSummary(t *testing.T) {
	records := strings.Join([]string{
		`{"package":"game/lobby","position":"lobby.go:3:2","type":"*events.Connection"}`,
		`{"package":"game/lobby","position":"lobby.go:3:2","type":"*events.Connection"}`,
		`{"package":"game/lobby","position":"lobby.go:9:2","type":"*time.Ticker"}`,
		``,
		`{"package":"game/match","position":"match.go:5:7","type":"*events.Connection"}`,
		`{"package":"game/match","position":"match.go:8:7","type":"*connmgr.Manager"}`,
	}, "\n")
	s, err := connvet.ReadSummary(strings.NewReader(records))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := s.Write(&out); err != nil {
		t.Fatal(err)
	}
	want := "connvet: 4 unmanaged handles in 2 packages\n" +
		"  2 *events.Connection\n" +
		"  1 *connmgr.Manager\n" +
		"  1 *time.Ticker\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestReadSummaryEmpty(t *testing.T) {
	s, err := connvet.ReadSummary(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := s.Write(&out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "connvet: 0 unmanaged handles in 0 packages\n" {
		t.Errorf("got %q", got)
	}
}

func TestReadSummaryBadRecord(t *testing.T) {
	if _, err := connvet.ReadSummary(strings.NewReader("not json\n")); err == nil {
		t.Error("no error for a malformed record")
	}
}

// TestWriteAlignsCounts checks that counts of different widths line up.
func TestWriteAlignsCounts(t *testing.T) {
	s := connvet.Summary{Handles: 13, Packages: 3, ByType: []connvet.TypeCount{
		{Type: "*events.Connection", Count: 12}, {Type: "*time.Ticker", Count: 1},
	}}
	var out strings.Builder
	if err := s.Write(&out); err != nil {
		t.Fatal(err)
	}
	want := "connvet: 13 unmanaged handles in 3 packages\n  12 *events.Connection\n   1 *time.Ticker\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}
