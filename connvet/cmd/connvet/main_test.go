package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// binDir holds the connvet binary built for these tests.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "connvet-test-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(dir)
		os.Exit(code)
	}))
}

var (
	buildOnce sync.Once
	buildErr  error
)

// connvetBinary builds the command once and returns the path of the binary.
func connvetBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(binDir, "connvet")
	buildOnce.Do(func() {
		out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building connvet: %v", buildErr)
	}
	return bin
}

// result is what one run of a command printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
}

// run runs name with args in dir, offline and outside any workspace.
func run(t testing.TB, dir, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running %s: %v", name, err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

const leaky = "testdata/leaky"

// TestSummary runs the built command over the leaky example module and
// checks the diagnostics and the -summary lines that follow them.
func TestSummary(t *testing.T) {
	res := run(t, leaky, connvetBinary(t), "-summary", "./...")
	if res.code != 3 {
		t.Errorf("exit code = %d, want 3 (diagnostics reported); stderr:\n%s", res.code, res.stderr)
	}
	lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
	if len(lines) != 9 {
		t.Fatalf("got %d lines of output, want 5 diagnostics and 4 summary lines:\n%s", len(lines), res.stderr)
	}
	for _, line := range lines[:5] {
		if !strings.Contains(line, ": unmanaged handle: result of ") {
			t.Errorf("not a diagnostic: %q", line)
		}
	}
	want := []string{
		"connvet: 5 unmanaged handles in 2 packages",
		"  3 *events.Connection",
		"  1 *connmgr.Manager",
		"  1 *time.Ticker",
	}
	for i, w := range want {
		if got := lines[5+i]; got != w {
			t.Errorf("summary line %d = %q, want %q", i+1, got, w)
		}
	}
}

// TestSummaryClean checks the totals of a package without leaks.
func TestSummaryClean(t *testing.T) {
	res := run(t, leaky, connvetBinary(t), "-summary=true", "./clean")
	if res.code != 0 || res.stderr != "connvet: 0 unmanaged handles in 0 packages\n" {
		t.Errorf("exit code %d, stderr:\n%s", res.code, res.stderr)
	}
}

// TestNoSummary checks that without -summary only diagnostics are printed.
func TestNoSummary(t *testing.T) {
	res := run(t, leaky, connvetBinary(t), "./match")
	if res.code != 3 || strings.Contains(res.stderr, "unmanaged handles in") {
		t.Errorf("exit code %d, stderr:\n%s", res.code, res.stderr)
	}
	if n := strings.Count(res.stderr, "unmanaged handle: "); n != 2 {
		t.Errorf("got %d diagnostics, want 2:\n%s", n, res.stderr)
	}
}

// TestJSON checks that -json prints the standard analysis JSON on stdout,
// with the summary kept apart on stderr.
func TestJSON(t *testing.T) {
	res := run(t, leaky, connvetBinary(t), "-json", "-summary", "./match")
	var tree map[string]map[string][]struct {
		Posn, Message string
	}
	if err := json.Unmarshal([]byte(res.stdout), &tree); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, res.stdout)
	}
	if n := len(tree["example.com/leaky/match"]["connvet"]); n != 2 {
		t.Errorf("got %d diagnostics in JSON, want 2:\n%s", n, res.stdout)
	}
	if !strings.HasPrefix(res.stderr, "connvet: 2 unmanaged handles in 1 packages\n") {
		t.Errorf("stderr:\n%s", res.stderr)
	}
}

// TestVetTool runs the command the way go vet runs a vet tool.
func TestVetTool(t *testing.T) {
	res := run(t, leaky, "go", "vet", "-vettool="+connvetBinary(t), "./...")
	if res.code == 0 {
		t.Fatalf("go vet succeeded despite leaks:\n%s", res.stderr)
	}
	if n := strings.Count(res.stderr, "unmanaged handle: "); n != 5 {
		t.Errorf("got %d diagnostics, want 5:\n%s", n, res.stderr)
	}
	clean := run(t, leaky, "go", "vet", "-vettool="+connvetBinary(t), "./clean")
	if clean.code != 0 {
		t.Errorf("go vet on clean code: exit code %d\n%s", clean.code, clean.stderr)
	}
}

func TestSummaryRequested(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"./..."}, false},
		{[]string{"-summary", "./..."}, true},
		{[]string{"--summary", "./..."}, true},
		{[]string{"-summary=false", "./..."}, false},
		{[]string{"-summary", "-summary=0", "./..."}, false},
		{[]string{"-methods", "Release", "-summary", "./..."}, true},
		{[]string{"--", "-summary"}, false},
	} {
		if got := summaryRequested(tc.args); got != tc.want {
			t.Errorf("summaryRequested(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestIsVetToolCall(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"./..."}, false},
		{[]string{"-summary", "/tmp/go-build/vet.cfg"}, true},
		{[]string{"-flags"}, true},
		{[]string{"-V=full"}, true},
	} {
		if got := isVetToolCall(tc.args); got != tc.want {
			t.Errorf("isVetToolCall(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
