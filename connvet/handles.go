package connvet

import (
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/types/typeutil"
)

// This file decides which types are handles and which of their methods
// release them.
//
// A handle is anything a game server must remember to give back: a signal
// connection, a message-bus subscription, a ticker, a whole connection
// manager. connvet recognises them by their release method rather than by
// a list of known types, so that a team's own Connection type, a NATS or a
// Redis subscription are covered without configuration.

// connmgrPath is the import path of the core connmgr package, whose Manager
// and Handle types are always handles whatever the -methods flag says.
const connmgrPath = "github.com/connmgr/connmgr"

// handleRules holds the user's configuration (the -methods and -closers
// flags) and answers "is this type a handle, and how is it released?".
// It caches its answers per type because the same few handle types are
// asked about again and again within a package.
type handleRules struct {
	methods []string // release method names from -methods
	closers bool     // -closers: Close() error also releases
	cache   typeutil.Map
}

// newHandleRules builds the rules from the raw flag values.
func newHandleRules(methods string, closers bool) *handleRules {
	return &handleRules{methods: splitMethods(methods), closers: closers}
}

// splitMethods turns "Disconnect, Unsubscribe,," into its method names.
func splitMethods(list string) []string {
	var names []string
	for _, name := range strings.Split(list, ",") {
		if name = strings.TrimSpace(name); name != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

// releaseMethods returns the names of the methods that release a value of
// type t, or nil when t is not a handle type.
func (r *handleRules) releaseMethods(t types.Type) []string {
	if t == nil {
		return nil
	}
	cached, ok := r.cache.At(t).([]string)
	if !ok {
		cached = r.computeReleaseMethods(t)
		if cached == nil {
			cached = []string{} // cache the negative answer too
		}
		r.cache.Set(t, cached)
	}
	if len(cached) == 0 {
		return nil
	}
	return cached
}

func (r *handleRules) computeReleaseMethods(t types.Type) []string {
	if _, isTuple := t.(*types.Tuple); isTuple {
		return nil
	}
	var names []string

	// The handles the spec names explicitly. They are recognised by type
	// so that they stay handles even when -methods is narrowed.
	switch {
	case isPointerTo(t, "time", "Ticker"):
		names = append(names, "Stop")
	case isPointerTo(t, connmgrPath, "Manager"):
		names = append(names, "Close", "Shutdown")
	case isNamedType(t, connmgrPath, "Handle"):
		names = append(names, "Disconnect")
	}

	// Any type whose method set (of the type or of a pointer to it,
	// including methods promoted from embedded fields) has a release
	// method that needs no real argument (see hasReleaseMethod).
	for _, name := range r.methods {
		if !slices.Contains(names, name) && hasReleaseMethod(t, name) {
			names = append(names, name)
		}
	}
	if r.closers && !slices.Contains(names, "Close") && hasCloseError(t) {
		names = append(names, "Close")
	}
	return names
}

// lookupMethod finds method name of t or *t, including promoted methods.
func lookupMethod(t types.Type, name string) *types.Func {
	obj, _, _ := types.LookupFieldOrMethod(t, true, packageOf(t), name)
	fn, _ := obj.(*types.Func)
	return fn
}

// hasReleaseMethod reports whether t or *t has a method name, with any
// results, that can be called with nothing but, optionally, a context:
// Disconnect(), Unsubscribe() error, Unsubscribe(ctx, channels...) error
// (go-redis) or Unsubscribe(channels...) error (redigo). A method that
// needs a real argument, such as Disconnect(playerID), does something else
// than release the value it is called on.
func hasReleaseMethod(t types.Type, name string) bool {
	fn := lookupMethod(t, name)
	if fn == nil {
		return false
	}
	sig := fn.Signature()
	params := sig.Params()
	first := 0
	if params.Len() > 0 && isNamedType(params.At(0).Type(), "context", "Context") {
		first = 1
	}
	switch params.Len() - first {
	case 0:
		return true
	case 1:
		return sig.Variadic()
	}
	return false
}

// hasCloseError reports whether t or *t has the method Close() error.
func hasCloseError(t types.Type) bool {
	fn := lookupMethod(t, "Close")
	if fn == nil {
		return false
	}
	sig := fn.Signature()
	return sig.Params().Len() == 0 && sig.Results().Len() == 1 &&
		types.Identical(sig.Results().At(0).Type(), types.Universe.Lookup("error").Type())
}

// packageOf returns the package that declares the named type behind t
// (looking through one pointer), needed to look up unexported methods.
func packageOf(t types.Type) *types.Package {
	if ptr, ok := types.Unalias(t).(*types.Pointer); ok {
		t = ptr.Elem()
	}
	if named, ok := types.Unalias(t).(*types.Named); ok {
		return named.Obj().Pkg()
	}
	return nil
}

// isNamedType reports whether t is the named type pkgPath.name.
func isNamedType(t types.Type, pkgPath, name string) bool {
	named, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	obj := named.Obj()
	return obj.Name() == name && obj.Pkg() != nil && obj.Pkg().Path() == pkgPath
}

// isPointerTo reports whether t is *pkgPath.name.
func isPointerTo(t types.Type, pkgPath, name string) bool {
	ptr, ok := types.Unalias(t).(*types.Pointer)
	return ok && isNamedType(ptr.Elem(), pkgPath, name)
}
