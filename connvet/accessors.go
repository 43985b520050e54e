package connvet

import (
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/types/typeutil"
)

// This file recognises accessors: functions of the package being checked
// that return a handle which already exists, such as
//
//	func (s *Server) current() *events.Connection { return s.conn }
//
// Calling one creates nothing, so its result is not a new handle and
// dropping it is not a leak. A function is an accessor for a result when
// every return statement returns, in that position, nil or a value read
// from a field, a map or slice element, a global or a parameter, directly
// or through a local variable only ever assigned such values (as in
// "c, ok := s.byName[name]; ...; return c").
//
// Only functions with source in the package being checked can be looked
// at; an accessor of another package looks like a constructor to connvet.

// isAccessorCall reports whether call invokes a function of this package
// that only ever returns, as result index, a handle that already exists.
func (c *checker) isAccessorCall(call *ast.CallExpr, index int) bool {
	fn := typeutil.StaticCallee(c.pass.TypesInfo, call)
	if fn == nil || fn.Pkg() != c.pass.Pkg {
		return false
	}
	fn = fn.Origin()
	if isAlwaysCreating(fn) {
		return false
	}
	if known, ok := c.accessors[fn]; ok {
		return known[index]
	}
	decl := c.funcDecl(fn)
	var known []bool
	if decl != nil && decl.Body != nil {
		known = make([]bool, fn.Signature().Results().Len())
		for i := range known {
			known[i] = c.returnsOnlyExisting(decl, i)
		}
	}
	c.accessors[fn] = known
	return index < len(known) && known[index]
}

// funcDecl finds the declaration of a function of this package.
func (c *checker) funcDecl(fn *types.Func) *ast.FuncDecl {
	if c.decls == nil {
		c.decls = make(map[*types.Func]*ast.FuncDecl)
		for _, file := range c.pass.Files {
			for _, d := range file.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok {
					if obj, ok := c.pass.TypesInfo.Defs[fd.Name].(*types.Func); ok {
						c.decls[obj] = fd
					}
				}
			}
		}
	}
	return c.decls[fn]
}

// returnsOnlyExisting reports whether every return statement of decl
// returns, as result index, nil or a value that already exists, and at
// least one returns such a value.
func (c *checker) returnsOnlyExisting(decl *ast.FuncDecl, index int) bool {
	want := decl.Type.Results.NumFields()
	existing, ok := false, true
	ast.Inspect(decl.Body, func(n ast.Node) bool {
		if !ok {
			return false
		}
		switch n := n.(type) {
		case *ast.FuncLit:
			return false // its returns belong to another function
		case *ast.ReturnStmt:
			if len(n.Results) != want {
				ok = false // a bare return or return f(): cannot tell
				return false
			}
			switch c.origin(decl, n.Results[index], 1) {
			case originNil:
			case originExisting:
				existing = true
			default:
				ok = false
			}
		}
		return true
	})
	return ok && existing
}

// valueOrigin says where a returned value comes from.
type valueOrigin int

const (
	originNew      valueOrigin = iota // created here, or unknown
	originNil                         // the nil literal
	originExisting                    // read from a field, element, global or parameter
)

// origin classifies expression e inside decl. depth bounds how far it
// follows local variables back to their assignments.
func (c *checker) origin(decl *ast.FuncDecl, e ast.Expr, depth int) valueOrigin {
	info := c.pass.TypesInfo
	e = ast.Unparen(e)
	if tv, ok := info.Types[e]; ok && tv.IsNil() {
		return originNil
	}
	switch e := e.(type) {
	case *ast.SelectorExpr:
		if sel, ok := info.Selections[e]; ok {
			if sel.Kind() == types.FieldVal {
				return originExisting
			}
			return originNew
		}
		return c.origin(decl, e.Sel, depth) // qualified identifier pkg.Var
	case *ast.IndexExpr:
		if t := info.TypeOf(e.X); t != nil {
			if _, isFunc := t.Underlying().(*types.Signature); !isFunc {
				return originExisting // an element, not a generic instantiation
			}
		}
	case *ast.TypeAssertExpr:
		return c.origin(decl, e.X, depth)
	case *ast.Ident:
		v, ok := info.Uses[e].(*types.Var)
		if !ok {
			return originNew
		}
		if v.Parent() == c.pass.Pkg.Scope() || inside(v.Pos(), decl.Type.Params) ||
			(decl.Recv != nil && inside(v.Pos(), decl.Recv)) {
			return originExisting // a global, a parameter or the receiver
		}
		if depth > 0 {
			return c.localOrigin(decl, v, depth-1)
		}
	}
	return originNew
}

// localOrigin classifies a local variable of decl by every value assigned
// to it: it holds an existing handle only if all of them are existing.
func (c *checker) localOrigin(decl *ast.FuncDecl, v *types.Var, depth int) valueOrigin {
	info := c.pass.TypesInfo
	result, assigned := originExisting, false
	merge := func(o valueOrigin) {
		assigned = true
		if o == originNew {
			result = originNew
		}
	}
	isV := func(e ast.Expr) bool {
		id, ok := ast.Unparen(e).(*ast.Ident)
		return ok && (info.Defs[id] == v || info.Uses[id] == v)
	}
	ast.Inspect(decl.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for i, lhs := range n.Lhs {
				if !isV(lhs) {
					continue
				}
				switch {
				case len(n.Rhs) == len(n.Lhs):
					merge(c.origin(decl, n.Rhs[i], depth))
				case i == 0 && len(n.Rhs) == 1:
					// v, ok := m[k] or v, ok := x.(T): the first result
					// is the element; any other call is a creation.
					switch ast.Unparen(n.Rhs[0]).(type) {
					case *ast.IndexExpr, *ast.TypeAssertExpr:
						merge(c.origin(decl, n.Rhs[0], depth))
					default:
						merge(originNew)
					}
				default:
					merge(originNew)
				}
			}
		case *ast.ValueSpec:
			for i, name := range n.Names {
				if info.Defs[name] == v {
					if i < len(n.Values) && len(n.Values) == len(n.Names) {
						merge(c.origin(decl, n.Values[i], depth))
					} else if len(n.Values) > 0 {
						merge(originNew)
					}
				}
			}
		case *ast.RangeStmt:
			if n.Value != nil && isV(n.Value) {
				merge(c.origin(decl, n.X, depth)) // an element of a stored collection
			}
		}
		return true
	})
	if !assigned {
		return originNew
	}
	return result
}
