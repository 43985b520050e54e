// Command connvet reports handles that a Go game server creates and then
// loses: signal connections, subscriptions, tickers and connection
// managers that are never disconnected, tracked, stored or returned.
//
// Run it over a codebase directly:
//
//	connvet [-methods=Disconnect,Unsubscribe] [-closers] [-summary] [-json] ./...
//
// or as a go vet tool:
//
//	go vet -vettool=$(which connvet) ./...
//
// -summary (standalone runs only) prints after the diagnostics the total
// number of unmanaged handles, the number of packages they are in, and a
// count per handle type, most first.
package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/connmgr/connmgr/connvet"
	"golang.org/x/tools/go/analysis/singlechecker"
)

func main() {
	args := os.Args[1:]
	if summaryRequested(args) && !isVetToolCall(args) && os.Getenv(connvet.SummaryFileEnv) == "" {
		os.Exit(runWithSummary(args))
	}
	singlechecker.Main(connvet.Analyzer)
}

// runWithSummary runs this same command again as a child process, which
// prints the diagnostics and records each reported handle in a temporary
// file, then prints the totals. A child is needed because the analysis
// driver exits the process as soon as it has printed the diagnostics.
// It returns the child's exit code.
func runWithSummary(args []string) int {
	log.SetFlags(0)
	log.SetPrefix("connvet: ")

	file, err := os.CreateTemp("", "connvet-summary-*.jsonl")
	if err != nil {
		log.Print(err)
		return 1
	}
	if err := file.Close(); err != nil {
		log.Print(err)
		return 1
	}
	defer func() { _ = os.Remove(file.Name()) }()

	exe, err := os.Executable()
	if err != nil {
		log.Print(err)
		return 1
	}
	child := exec.Command(exe, args...)
	child.Stdin, child.Stdout, child.Stderr = os.Stdin, os.Stdout, os.Stderr
	child.Env = append(os.Environ(), connvet.SummaryFileEnv+"="+file.Name())

	code := 0
	if err := child.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			log.Print(err)
			return 1
		}
		code = exit.ExitCode()
		if code < 0 { // killed by a signal
			return 1
		}
	}
	// Exit code 1 means the analysis itself failed (a package did not
	// load, for instance): totals would be misleading.
	if code == 1 {
		return code
	}

	records, err := os.Open(file.Name())
	if err != nil {
		log.Print(err)
		return 1
	}
	summary, err := connvet.ReadSummary(records)
	_ = records.Close() // read-only: nothing to lose
	if err != nil {
		log.Print(err)
		return 1
	}
	if err := summary.Write(os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return code
}

// summaryRequested reports whether the command line turns -summary on.
// It only needs to recognise the flag, not parse the rest: the analysis
// driver parses the full command line in the child process.
func summaryRequested(args []string) bool {
	on := false
	for _, arg := range args {
		if arg == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if name != "summary" {
			continue
		}
		on = true
		if hasValue {
			on, _ = strconv.ParseBool(value)
		}
	}
	return on
}

// isVetToolCall reports whether go vet is running the command (with a
// .cfg file describing one package, or to ask for its flags or version).
// Each package then runs in its own process, so there is nothing to total.
func isVetToolCall(args []string) bool {
	for _, arg := range args {
		if arg == "-flags" || strings.HasPrefix(arg, "-V") {
			return true
		}
	}
	return len(args) > 0 && strings.HasSuffix(args[len(args)-1], ".cfg")
}
