package connvet_test

import (
	"testing"

	"github.com/connmgr/connmgr/connvet"
	"go.uber.org/goleak"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// setFlag sets one of the analyzer's flags for the duration of a test.
func setFlag(t *testing.T, name, value string) {
	t.Helper()
	f := connvet.Analyzer.Flags.Lookup(name)
	old := f.Value.String()
	if err := f.Value.Set(value); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Value.Set(old) })
}

// TestAnalyzer checks every managed and unmanaged form with the default
// flags: each line of testdata/src/a that should be reported carries a
// "want" comment, and no other line may be reported.
func TestAnalyzer(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), connvet.Analyzer, "a")
}

// TestMethodsFlag checks that -methods adds a library's release methods
// and replaces the default ones, while the built-in handles stay.
func TestMethodsFlag(t *testing.T) {
	setFlag(t, "methods", " Release, Cancel,,")
	analysistest.Run(t, analysistest.TestData(), connvet.Analyzer, "b")
}

// TestClosersFlag checks that -closers makes Close() error a release method.
func TestClosersFlag(t *testing.T) {
	setFlag(t, "closers", "true")
	analysistest.Run(t, analysistest.TestData(), connvet.Analyzer, "c")
}
