package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/connmgr/connmgr/connvet/internal/corpus"
)

// accuracyCorpus is the code base the accuracy figures in the README are
// measured on: about 19,000 lines in 12 service packages.
var accuracyCorpus = corpus.Options{Packages: 12, FilesPerPackage: 4, FuncsPerFile: 25, Seed: 1}

// speedCorpus is the code base the timing in the README is measured on:
// about 50,000 lines in 30 service packages.
var speedCorpus = corpus.Options{Packages: 30, FilesPerPackage: 5, FuncsPerFile: 21, Seed: 2}

// reportedLines runs connvet -json over dir and returns the "file:line"
// of every diagnostic.
func reportedLines(t *testing.T, dir string) map[string]bool {
	t.Helper()
	res := run(t, dir, connvetBinary(t), "-json", "./...")
	if res.code != 0 {
		t.Fatalf("connvet -json: exit code %d\n%s", res.code, res.stderr)
	}
	var tree map[string]map[string][]struct{ Posn string }
	if err := json.Unmarshal([]byte(res.stdout), &tree); err != nil {
		t.Fatalf("connvet -json: %v", err)
	}
	lines := map[string]bool{}
	for _, byAnalyzer := range tree {
		for _, diag := range byAnalyzer["connvet"] {
			// posn is file:line:col; drop the column.
			lines[diag.Posn[:strings.LastIndex(diag.Posn, ":")]] = true
		}
	}
	return lines
}

func siteKey(s corpus.Site) string { return fmt.Sprintf("%s:%d", s.File, s.Line) }

// TestCorpusAccuracy measures recall and the false-positive rate on a
// generated game-server code base with seeded leaks, and checks them
// against the targets: at least 95% of the leaks found, at most 5% of
// the reports wrong.
func TestCorpusAccuracy(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := corpus.Generate(dir, accuracyCorpus)
	if err != nil {
		t.Fatal(err)
	}
	reported := reportedLines(t, dir)

	found, missed := 0, map[string]int{}
	for _, leak := range c.Leaks {
		if reported[siteKey(leak)] {
			found++
			delete(reported, siteKey(leak))
		} else {
			missed[leak.Kind]++
		}
	}
	wrong := map[string]int{}
	managed := map[string]string{}
	for _, s := range c.Managed {
		managed[siteKey(s)] = s.Kind
	}
	for line := range reported {
		wrong[cmpOr(managed[line], "unmarked line "+line)]++
	}
	falsePositives := len(reported)

	recall := float64(found) / float64(len(c.Leaks))
	fpRate := float64(falsePositives) / float64(found+falsePositives)
	t.Logf("corpus: %d lines, %d seeded leaks, %d managed uses", c.Lines, len(c.Leaks), len(c.Managed))
	t.Logf("found %d of %d leaks: recall %.1f%%; missed by kind: %v", found, len(c.Leaks), 100*recall, sorted(missed))
	t.Logf("%d of %d reports wrong: false-positive rate %.1f%%; by kind: %v",
		falsePositives, found+falsePositives, 100*fpRate, sorted(wrong))
	if len(c.Managed) < len(c.Leaks) {
		t.Errorf("the corpus has fewer managed uses (%d) than leaks (%d)", len(c.Managed), len(c.Leaks))
	}
	if recall < 0.95 {
		t.Errorf("recall %.1f%% is below 95%%", 100*recall)
	}
	if fpRate > 0.05 {
		t.Errorf("false-positive rate %.1f%% is above 5%%", 100*fpRate)
	}
}

// TestSpeed50kLines times connvet over a generated code base of about
// 50,000 lines, after a first run that warms the build cache (as on a
// developer's machine), and checks the target of under 5 seconds.
func TestSpeed50kLines(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and checks a 50,000-line code base")
	}
	dir := t.TempDir()
	c, err := corpus.Generate(dir, speedCorpus)
	if err != nil {
		t.Fatal(err)
	}
	if c.Lines < 50000 {
		t.Fatalf("the corpus has %d lines, want at least 50,000", c.Lines)
	}
	bin := connvetBinary(t)
	warm := time.Now()
	run(t, dir, bin, "./...")
	t.Logf("first run (build cache cold for this module): %v", time.Since(warm).Round(time.Millisecond))
	for i := range 2 {
		start := time.Now()
		res := run(t, dir, bin, "-summary", "./...")
		elapsed := time.Since(start)
		first, _, _ := strings.Cut(res.stderr[strings.LastIndex(res.stderr, "connvet: "):], "\n")
		t.Logf("run %d over %d lines: %v (%s)", i+1, c.Lines, elapsed.Round(time.Millisecond), first)
		if elapsed > 5*time.Second {
			t.Errorf("connvet took %v over %d lines; the target is under 5s", elapsed, c.Lines)
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// sorted formats a count map in a stable order.
func sorted(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
