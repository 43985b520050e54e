package connvet

import (
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/cfg"
)

// This file builds, once per function and only when needed, what the flow
// analysis in flow.go walks over: the function's control-flow graph, where
// each statement sits in it, and where each local variable is referenced.

// funcFlow is the flow information of one function body.
type funcFlow struct {
	graph *cfg.CFG
	where map[ast.Node]nodePos              // statement or expression -> its place in graph
	refs  map[*types.Var][]inspector.Cursor // identifiers naming each variable
}

// nodePos is the place of a node in the graph: block index, node index.
type nodePos struct {
	block, index int
}

// flowOf returns the flow information of the function at fn, building it
// on first use. Most functions create no handle held in a local, so most
// never need a graph.
func (c *checker) flowOf(fn inspector.Cursor) *funcFlow {
	if flow, ok := c.flows[fn.Node()]; ok {
		return flow
	}
	body := funcBody(fn)
	flow := &funcFlow{
		graph: cfg.New(body, func(call *ast.CallExpr) bool { return !c.isNoReturnCall(call) }),
		where: make(map[ast.Node]nodePos),
		refs:  make(map[*types.Var][]inspector.Cursor),
	}
	for _, b := range flow.graph.Blocks {
		for i, n := range b.Nodes {
			flow.where[n] = nodePos{int(b.Index), i}
		}
	}
	// Record references outside nested function literals only: a
	// variable referenced inside one is captured, and so managed.
	fn.Inspect([]ast.Node{(*ast.FuncLit)(nil), (*ast.Ident)(nil)}, func(cur inspector.Cursor) bool {
		switch n := cur.Node().(type) {
		case *ast.FuncLit:
			return n == fn.Node()
		case *ast.Ident:
			if v, ok := c.pass.TypesInfo.ObjectOf(n).(*types.Var); ok && !v.IsField() {
				flow.refs[v] = append(flow.refs[v], cur)
			}
		}
		return true
	})
	c.flows[fn.Node()] = flow
	return flow
}

// inside reports whether pos lies within node.
func inside(pos token.Pos, node ast.Node) bool {
	return node.Pos() <= pos && pos < node.End()
}
