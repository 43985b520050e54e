package corpus

import (
	"os"
	"os/exec"
	"reflect"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var small = Options{Packages: 3, FilesPerPackage: 2, FuncsPerFile: 40, Seed: 7}

// TestGenerateCompiles checks that the generated code base builds and
// vets cleanly, so that connvet is measured on valid Go.
func TestGenerateCompiles(t *testing.T) {
	c, err := Generate(t.TempDir(), small)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Leaks) == 0 || len(c.Managed) < len(c.Leaks) {
		t.Errorf("got %d leaks and %d managed uses; want some leaks and at least as many managed uses",
			len(c.Leaks), len(c.Managed))
	}
	cmd := exec.Command("go", "vet", "./...")
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet on the generated code: %v\n%s", err, out)
	}
}

// TestGenerateDeterministic checks that a seed always gives the same code.
func TestGenerateDeterministic(t *testing.T) {
	a, err := Generate(t.TempDir(), small)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(t.TempDir(), small)
	if err != nil {
		t.Fatal(err)
	}
	if a.Lines != b.Lines || len(a.Leaks) != len(b.Leaks) || !reflect.DeepEqual(kinds(a.Leaks), kinds(b.Leaks)) {
		t.Errorf("two generations with the same seed differ")
	}
}

func kinds(sites []Site) map[string]int {
	m := map[string]int{}
	for _, s := range sites {
		m[s.Kind]++
	}
	return m
}
