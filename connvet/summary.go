package connvet

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
)

// This file implements the -summary totals.
//
// The analysis driver (singlechecker) prints the diagnostics and exits the
// process itself, so nothing in the analyzer runs after the last line of
// diagnostics. The connvet command therefore runs the analysis in a child
// process, pointing SummaryFileEnv at a temporary file; every pass of the
// child appends one JSON record per reported handle to it, and the parent
// totals the records with ReadSummary once the child has finished and
// prints them with Summary.Write.

// SummaryFileEnv names the environment variable that tells the analyzer
// where to append its summary records. The analyzer writes them only when
// the -summary flag is set and this variable names a file.
const SummaryFileEnv = "CONNVET_SUMMARY_FILE"

// summaryRecord is one reported handle, as written to the summary file.
type summaryRecord struct {
	Package  string `json:"package"`  // import path of the package
	Position string `json:"position"` // file:line:col of the creating call
	Type     string `json:"type"`     // the handle's type, e.g. *events.Connection
}

// summaryFileMu serialises the appends of passes that run in parallel.
var summaryFileMu sync.Mutex

// appendSummaryRecords appends records to the file named by SummaryFileEnv,
// if any, in a single write.
func appendSummaryRecords(records []summaryRecord) error {
	path := os.Getenv(SummaryFileEnv)
	if path == "" || len(records) == 0 {
		return nil
	}
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	for _, r := range records {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	summaryFileMu.Lock()
	defer summaryFileMu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("writing summary: %w", err)
	}
	if _, err := f.WriteString(buf.String()); err != nil {
		_ = f.Close() // the write error is the one to report
		return fmt.Errorf("writing summary: %w", err)
	}
	return f.Close()
}

// Summary is the totals of one connvet run, as printed by -summary.
type Summary struct {
	Handles  int         // unmanaged handles reported
	Packages int         // packages with at least one of them
	ByType   []TypeCount // count per handle type, most first
}

// TypeCount is the number of unmanaged handles of one type.
type TypeCount struct {
	Type  string // the handle type as written in the diagnostics, e.g. *time.Ticker
	Count int
}

// ReadSummary totals the records that a run of the analyzer appended to
// its summary file. A handle reported twice at the same position (a package
// checked once alone and once with its test files) counts once.
func ReadSummary(r io.Reader) (Summary, error) {
	seen := make(map[string]bool)
	packages := make(map[string]bool)
	counts := make(map[string]int)
	scanner := bufio.NewScanner(r)
	scanner.Buffer(nil, 1<<20)
	var s Summary
	for scanner.Scan() {
		if len(scanner.Bytes()) == 0 {
			continue
		}
		var rec summaryRecord
		if err := json.Unmarshal(scanner.Bytes(), &rec); err != nil {
			return Summary{}, fmt.Errorf("reading summary: %w", err)
		}
		if seen[rec.Position] {
			continue
		}
		seen[rec.Position] = true
		packages[rec.Package] = true
		counts[rec.Type]++
		s.Handles++
	}
	if err := scanner.Err(); err != nil {
		return Summary{}, fmt.Errorf("reading summary: %w", err)
	}
	s.Packages = len(packages)
	for typ, n := range counts {
		s.ByType = append(s.ByType, TypeCount{Type: typ, Count: n})
	}
	slices.SortFunc(s.ByType, func(a, b TypeCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Type, b.Type))
	})
	return s, nil
}

// Write prints the summary: the line
//
//	connvet: N unmanaged handles in M packages
//
// then one line per handle type, most first, with its count right-aligned:
//
//	12 *events.Connection
//	 3 *time.Ticker
func (s Summary) Write(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "connvet: %d unmanaged handles in %d packages\n", s.Handles, s.Packages); err != nil {
		return err
	}
	width := 1
	if len(s.ByType) > 0 {
		width = len(fmt.Sprint(s.ByType[0].Count))
	}
	for _, tc := range s.ByType {
		if _, err := fmt.Fprintf(w, "  %*d %s\n", width, tc.Count, tc.Type); err != nil {
			return err
		}
	}
	return nil
}
