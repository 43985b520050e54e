package connvet

import (
	"go/ast"
	"go/types"
	"slices"

	"golang.org/x/tools/go/ast/edge"
	"golang.org/x/tools/go/ast/inspector"
)

// This file decides whether a created handle is managed.
//
// The question is answered in two steps. First fateOf looks at the
// expression that produced the handle and at what immediately surrounds
// it: a handle that is returned, stored, sent, passed to a call or released
// is managed; one that is discarded or only compared is dropped; one that
// is assigned to a local variable needs the second step. That step
// (localManaged) follows the variable through the function's control-flow
// graph: the handle is managed if some path from the assignment reaches a
// managing use of the variable, or of another local it was copied to,
// before the variable is assigned again.
//
// "Some path" is deliberate: connvet is not path-sensitive. A Disconnect in
// one branch of an if counts as managing the handle on every path, which
// keeps reports rare and trustworthy at the price of missing leaks that
// happen on only some paths.

// fateKind is what happens to a value right where it is produced or read.
type fateKind int

const (
	fateManaged fateKind = iota // returned, stored, passed, captured or released
	fateDropped                 // discarded, assigned to _, compared or only inspected
	fateLocal                   // assigned to a local variable: follow it
)

// fate is the result of fateOf. For fateLocal, v is the local variable and
// stmt the statement (an assignment or a var spec) that assigns it.
type fate struct {
	kind fateKind
	v    *types.Var
	stmt inspector.Cursor
}

// fateOf decides what the code around cur does with the value cur
// produces: a handle-creating call (index is the result holding the
// handle) or a read of a variable holding one (index 0). methods are the
// handle's release methods.
func (c *checker) fateOf(cur inspector.Cursor, index int, methods []string) fate {
	info := c.pass.TypesInfo
	managed, dropped := fate{kind: fateManaged}, fate{kind: fateDropped}
	for {
		parent := cur.Parent()
		kind, slot := cur.ParentEdge()
		switch p := parent.Node().(type) {
		case *ast.ParenExpr, *ast.TypeAssertExpr:
			cur = parent // the same value, seen through parentheses or an assertion
			continue

		case *ast.CallExpr:
			if kind == edge.CallExpr_Args {
				if tv, ok := info.Types[p.Fun]; ok && tv.IsType() {
					cur = parent // a conversion keeps the same handle
					continue
				}
			}
			return managed // passed to a function: Track, append, a helper...

		case *ast.SelectorExpr:
			// The handle is the receiver. Calling (or taking the method
			// value of) a release method manages it; reading a field or
			// calling another method such as Connected does not. An
			// embedded field is the handle seen through the path of a
			// promoted method (sess.Connection.Disconnect()), so it is
			// followed like the handle itself.
			if sel, ok := info.Selections[p]; ok && sel.Kind() == types.FieldVal {
				if field, ok := sel.Obj().(*types.Var); ok && field.Embedded() {
					cur = parent
					continue
				}
			}
			if slices.Contains(methods, p.Sel.Name) ||
				slices.Contains(c.rules.releaseMethods(info.TypeOf(p.X)), p.Sel.Name) {
				return managed
			}
			return dropped

		case *ast.ExprStmt, *ast.GoStmt, *ast.DeferStmt:
			return dropped // a call statement: the result is thrown away

		case *ast.BinaryExpr, *ast.SwitchStmt, *ast.CaseClause:
			return dropped // compared, then forgotten

		case *ast.AssignStmt:
			if kind != edge.AssignStmt_Rhs {
				return managed
			}
			lhs := p.Lhs[min(index, len(p.Lhs)-1)]
			if len(p.Lhs) == len(p.Rhs) {
				lhs = p.Lhs[slot]
			}
			return c.assignFate(lhs, parent)

		case *ast.ValueSpec:
			if kind != edge.ValueSpec_Values {
				return managed
			}
			name := p.Names[min(index, len(p.Names)-1)]
			if len(p.Names) == len(p.Values) {
				name = p.Names[slot]
			}
			return c.assignFate(name, parent)

		default:
			// Returned, stored in a composite literal, sent on a channel,
			// dereferenced or has its address taken. All of these let
			// the handle outlive this expression, so they count as
			// managed rather than risk a false report.
			return managed
		}
	}
}

// assignFate decides the fate of a value assigned to lhs by stmt.
func (c *checker) assignFate(lhs ast.Expr, stmt inspector.Cursor) fate {
	id, ok := ast.Unparen(lhs).(*ast.Ident)
	if !ok {
		return fate{kind: fateManaged} // a field, map or slice element, or *p
	}
	if id.Name == "_" {
		return fate{kind: fateDropped}
	}
	v, ok := c.pass.TypesInfo.ObjectOf(id).(*types.Var)
	if !ok {
		return fate{kind: fateManaged}
	}
	fn, ok := enclosingFunc(stmt)
	if !ok || !inside(v.Pos(), funcBody(fn)) {
		// A global, a named result, a parameter, or a variable of an
		// enclosing function: the handle outlives this function body.
		return fate{kind: fateManaged}
	}
	if c.isCaptured(v) {
		return fate{kind: fateManaged} // a closure may release it
	}
	return fate{kind: fateLocal, v: v, stmt: stmt}
}

// localManaged reports whether the handle that stmt assigns to the local
// variable v reaches a managing use (see the comment at the top).
func (c *checker) localManaged(v *types.Var, stmt inspector.Cursor, methods []string) bool {
	fnCur, ok := enclosingFunc(stmt)
	if !ok {
		return true
	}
	flow := c.flowOf(fnCur)
	start, ok := flow.where[stmt.Node()]
	if !ok {
		return true // not a plain statement of the graph: assume the best
	}

	type item struct {
		pos nodePos
		v   *types.Var
	}
	seen := map[item]bool{}
	work := []item{{nodePos{start.block, start.index + 1}, v}}
	for len(work) > 0 {
		it := work[len(work)-1]
		work = work[:len(work)-1]
		if seen[it] {
			continue
		}
		seen[it] = true

		killed := false
		nodes := flow.graph.Blocks[it.pos.block].Nodes
		for i := it.pos.index; i < len(nodes) && !killed; i++ {
			scan := c.scanNode(flow, nodes[i], it.v, methods)
			if scan.managed {
				return true
			}
			for _, alias := range scan.aliases {
				at, ok := flow.where[alias.stmt.Node()]
				if !ok {
					return true // a copy the graph cannot follow: assume the best
				}
				work = append(work, item{nodePos{at.block, at.index + 1}, alias.v})
			}
			killed = scan.killed
		}
		if !killed {
			for _, succ := range flow.graph.Blocks[it.pos.block].Succs {
				work = append(work, item{nodePos{int(succ.Index), 0}, it.v})
			}
		}
	}
	return false
}

// nodeScan is what one node of the graph does with a variable.
type nodeScan struct {
	managed bool   // it uses the variable in a managing way
	killed  bool   // it assigns the variable a new value
	aliases []fate // it copies the variable into these locals
}

// scanNode inspects the references to v within node. Uses are looked at
// before assignments, matching Go's evaluation of the right-hand side of an
// assignment before its left-hand side.
func (c *checker) scanNode(flow *funcFlow, node ast.Node, v *types.Var, methods []string) nodeScan {
	var scan nodeScan
	for _, ref := range flow.refs[v] {
		if pos := ref.Node().Pos(); pos < node.Pos() || pos >= node.End() {
			continue
		}
		if isAssignedAt(ref) {
			scan.killed = true
			continue
		}
		switch f := c.fateOf(ref, 0, methods); f.kind {
		case fateManaged:
			return nodeScan{managed: true}
		case fateLocal:
			if f.v != v {
				scan.aliases = append(scan.aliases, f)
			}
		}
	}
	return scan
}

// isAssignedAt reports whether the identifier at ref is being assigned
// (or declared) rather than read.
func isAssignedAt(ref inspector.Cursor) bool {
	switch ref.ParentEdgeKind() {
	case edge.AssignStmt_Lhs, edge.ValueSpec_Names, edge.RangeStmt_Key, edge.RangeStmt_Value:
		return true
	}
	return false
}

// isCaptured reports whether v is referenced from a function literal that
// it is not declared in. Such a closure may release or keep the handle at
// any time, so connvet counts the variable's handles as managed.
func (c *checker) isCaptured(v *types.Var) bool {
	if c.captured == nil {
		c.captured = make(map[*types.Var]bool)
		scope := c.pass.Pkg.Scope()
		for lit := range c.inspect.Root().Preorder((*ast.FuncLit)(nil)) {
			for ref := range lit.Preorder((*ast.Ident)(nil)) {
				used, ok := c.pass.TypesInfo.Uses[ref.Node().(*ast.Ident)].(*types.Var)
				if ok && !used.IsField() && used.Parent() != scope && !inside(used.Pos(), lit.Node()) {
					c.captured[used] = true
				}
			}
		}
	}
	return c.captured[v]
}

// enclosingFunc returns the innermost function declaration or literal
// around cur.
func enclosingFunc(cur inspector.Cursor) (inspector.Cursor, bool) {
	for fn := range cur.Enclosing((*ast.FuncDecl)(nil), (*ast.FuncLit)(nil)) {
		if funcBody(fn) != nil {
			return fn, true
		}
	}
	return inspector.Cursor{}, false
}

// funcBody returns the body of the function declaration or literal at cur.
func funcBody(cur inspector.Cursor) *ast.BlockStmt {
	switch fn := cur.Node().(type) {
	case *ast.FuncDecl:
		return fn.Body
	case *ast.FuncLit:
		return fn.Body
	}
	return nil
}

// isNoReturnCall reports whether call never returns (panic, os.Exit,
// log.Fatal...), so the control-flow graph can cut the path there.
func (c *checker) isNoReturnCall(call *ast.CallExpr) bool {
	switch fun := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		_, builtin := c.pass.TypesInfo.Uses[fun].(*types.Builtin)
		return builtin && fun.Name == "panic"
	case *ast.SelectorExpr:
		pkg, ok := fun.X.(*ast.Ident)
		if !ok {
			return false
		}
		name, ok := c.pass.TypesInfo.Uses[pkg].(*types.PkgName)
		if !ok {
			return false
		}
		switch name.Imported().Path() + "." + fun.Sel.Name {
		case "os.Exit", "log.Fatal", "log.Fatalf", "log.Fatalln", "log.Panic", "log.Panicf", "log.Panicln":
			return true
		}
	}
	return false
}
