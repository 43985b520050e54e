// Package connvet defines an analyzer that reports handles a game server
// creates and then loses: signal connections, subscriptions, tickers,
// connection managers and any other value with a release method, created
// by a call and then never disconnected, tracked, stored or returned.
//
// It works like go vet's lostcancel check, generalised from context cancel
// functions to every disconnectable handle. The connvet command in
// cmd/connvet runs it standalone or as a go vet tool.
package connvet

import (
	"fmt"
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
)

// DefaultMethods is the default value of the -methods flag: the names of
// the methods that release a handle.
const DefaultMethods = "Disconnect,Unsubscribe"

const doc = `report handles that are created and then never disconnected, tracked, stored or returned

A handle is a value whose type, or a pointer to it, has a method named in
-methods (default Disconnect,Unsubscribe) taking no arguments; also
*time.Ticker (released by Stop), the connmgr.Handle returned by
(*connmgr.Manager).Untrack, and *connmgr.Manager from connmgr.New (released
by Close or Shutdown). With -closers, types with Close() error are handles
too.

A handle is managed when, in the function that creates it, it (or a local
it was copied to) is returned; stored in a field, map, slice, array, global
or channel; passed to any call; captured by a closure; or released with
one of its methods, directly or as a method value. It is reported when the
result is discarded or assigned to _, or when it is held only in locals
none of whose uses manage it. The check is not path-sensitive: a release
on any path counts.`

// Analyzer reports unmanaged handles. Its flags are -methods, -closers and
// -summary (see the package documentation and the README).
var Analyzer = &analysis.Analyzer{
	Name:     "connvet",
	Doc:      doc,
	URL:      "https://pkg.go.dev/github.com/connmgr/connmgr/connvet",
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      run,
}

// Flag values. They are read at the start of each pass, after the driver
// has parsed the command line.
var (
	methodsFlag = DefaultMethods
	closersFlag bool
	summaryFlag bool
)

func init() {
	Analyzer.Flags.StringVar(&methodsFlag, "methods", DefaultMethods,
		"comma-separated names of the methods that release a handle")
	Analyzer.Flags.BoolVar(&closersFlag, "closers", false,
		"also treat types with a Close() error method as handles")
	Analyzer.Flags.BoolVar(&summaryFlag, "summary", false,
		"after the diagnostics, print the number of unmanaged handles in total and by type (standalone runs only)")
}

// checker holds the state of one pass. Everything in it is built lazily,
// because most packages create few handles.
type checker struct {
	pass      *analysis.Pass
	inspect   *inspector.Inspector
	rules     *handleRules
	decls     map[*types.Func]*ast.FuncDecl // see funcDecl
	accessors map[*types.Func][]bool        // see isAccessorCall
	captured  map[*types.Var]bool           // see isCaptured
	flows     map[ast.Node]*funcFlow        // see flowOf
}

func run(pass *analysis.Pass) (any, error) {
	c := &checker{
		pass:      pass,
		inspect:   pass.ResultOf[inspect.Analyzer].(*inspector.Inspector),
		rules:     newHandleRules(methodsFlag, closersFlag),
		accessors: make(map[*types.Func][]bool),
		flows:     make(map[ast.Node]*funcFlow),
	}
	var recorded []summaryRecord
	for cur := range c.inspect.Root().Preorder((*ast.CallExpr)(nil)) {
		call := cur.Node().(*ast.CallExpr)
		for _, cr := range c.creations(call) {
			if c.isManaged(cur, cr) {
				continue
			}
			typ := types.TypeString(cr.typ, func(p *types.Package) string { return p.Name() })
			pass.Report(analysis.Diagnostic{
				Pos: call.Pos(),
				End: call.End(),
				Message: fmt.Sprintf("unmanaged handle: result of %s (%s) is never disconnected, tracked, stored or returned",
					types.ExprString(call.Fun), typ),
			})
			recorded = append(recorded, summaryRecord{
				Package:  pass.Pkg.Path(),
				Position: pass.Fset.Position(call.Pos()).String(),
				Type:     typ,
			})
		}
	}
	if summaryFlag {
		if err := appendSummaryRecords(recorded); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// isManaged reports whether the handle cr, created by the call at cur, is
// managed by the function that creates it.
func (c *checker) isManaged(cur inspector.Cursor, cr creation) bool {
	f := c.fateOf(cur, cr.index, cr.methods)
	switch f.kind {
	case fateDropped:
		return false
	case fateLocal:
		return c.localManaged(f.v, f.stmt, cr.methods)
	}
	return true
}
