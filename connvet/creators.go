package connvet

import (
	"go/ast"
	"go/types"
)

// This file decides which calls create a handle.
//
// The rule is simple: a call creates a handle when one of its results has a
// handle type. Two kinds of call are excluded because they hand back a
// handle that already exists, so reporting them would blame the wrong line:
//
//   - pass-through helpers (Maid.GiveTask, Janitor.Add, Trove.Add...) that
//     take a handle argument and return a handle of the identical type, for
//     chaining;
//   - accessors declared in the package being checked (see accessors.go).

// creation is one handle created by a call.
type creation struct {
	call    *ast.CallExpr
	index   int        // which result of the call holds the handle
	typ     types.Type // the handle's type
	methods []string   // the methods that release it
}

// creations returns the handles created by call, usually none or one.
func (c *checker) creations(call *ast.CallExpr) []creation {
	info := c.pass.TypesInfo
	if tv, ok := info.Types[call.Fun]; ok && (tv.IsType() || tv.IsBuiltin()) {
		return nil // a conversion or a builtin such as new: nothing is created
	}
	results := resultTypes(info.TypeOf(call))
	var found []creation
	for i, t := range results {
		methods := c.rules.releaseMethods(t)
		if methods == nil || c.passesThrough(call, t) || c.isAccessorCall(call, i) {
			continue
		}
		found = append(found, creation{call: call, index: i, typ: t, methods: methods})
	}
	return found
}

// resultTypes flattens a call's type into the list of its result types.
func resultTypes(t types.Type) []types.Type {
	switch t := t.(type) {
	case nil:
		return nil
	case *types.Tuple:
		list := make([]types.Type, t.Len())
		for i := range list {
			list[i] = t.At(i).Type()
		}
		return list
	default:
		return []types.Type{t}
	}
}

// passesThrough reports whether call takes an argument of exactly the type
// result it returns: such a helper returns the handle it was given (its
// receiver does not count, so sub.Clone() still creates a handle).
func (c *checker) passesThrough(call *ast.CallExpr, result types.Type) bool {
	for _, arg := range call.Args {
		if t := c.pass.TypesInfo.TypeOf(arg); t != nil && types.Identical(t, result) {
			return true
		}
	}
	return false
}

// isAlwaysCreating reports whether fn is connmgr.New or
// (*connmgr.Manager).Untrack, whose handles are new to their caller by
// definition, even inside the connmgr package where Untrack reads its
// handle from a table.
func isAlwaysCreating(fn *types.Func) bool {
	if fn.Pkg() == nil || fn.Pkg().Path() != connmgrPath {
		return false
	}
	recv := fn.Signature().Recv()
	switch fn.Name() {
	case "New":
		return recv == nil
	case "Untrack":
		return recv != nil && isPointerTo(recv.Type(), connmgrPath, "Manager")
	}
	return false
}
