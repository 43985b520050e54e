package corpus

import (
	"fmt"
	"strings"
)

// This file holds the shapes of code the generator writes: where handles
// come from (sources) and what functions do with them (templates).
//
// Every line that creates a handle ends in a marker comment: LeakMarker for
// a seeded leak, ManagedMarker for a correct use. The markers are what the
// accuracy test scores connvet's reports against.

// LeakMarker ends every line that creates a handle which leaks.
const LeakMarker = "// seeded leak: "

// ManagedMarker ends every line that creates a handle which is managed.
const ManagedMarker = "// managed: "

// source is a way a game service creates a handle.
type source struct {
	expr    string // the creating call; TOPIC and INTERVAL are filled in
	typ     string // its handle type
	release string // the call that releases it, after "v."
	err     bool   // the call also returns an error
	conn    bool   // the handle is an *events.Connection
	store   string // how the service keeps it; $V is the variable
	inspect string // a use that does not manage it
}

var sources = []source{
	{expr: "s.joined.Connect(s.onJoin)", typ: "*events.Connection", release: "Disconnect()", conn: true,
		store: "s.conns = append(s.conns, $V)", inspect: "if !$V.Connected() {\n\ts.stats.errors++\n}"},
	{expr: "s.scored.Once(s.onScore)", typ: "*events.Connection", release: "Disconnect()", conn: true,
		store: "s.conn = $V", inspect: "log.Printf(\"PKG: connection %d\", $V.ID())"},
	{expr: "events.Watch(s.scored, s.onScore)", typ: "*events.Connection", release: "Disconnect()", conn: true,
		store: "s.keep($V)", inspect: "if $V == nil {\n\ts.stats.errors++\n}"},
	{expr: "s.bus.Subscribe(TOPIC, s.onTopic)", typ: "*bus.Subscription", release: "Unsubscribe()",
		store: "s.subs[$V.Topic] = $V", inspect: "log.Printf(\"PKG: subscribed to %s\", $V.Topic)"},
	{expr: "s.nats.Subscribe(TOPIC, s.onMsg)", typ: "*natsx.Subscription", release: "Unsubscribe()", err: true,
		store: "s.natsSubs = append(s.natsSubs, $V)", inspect: "if !$V.IsValid() {\n\ts.stats.errors++\n}"},
	{expr: "s.redis.PSubscribe(ctx, TOPIC)", typ: "*redisx.PubSub", release: "Unsubscribe(ctx)",
		store: "s.pubsub = $V", inspect: "log.Printf(\"PKG: pattern %q\", $V.Pattern)"},
	{expr: "time.NewTicker(INTERVAL)", typ: "*time.Ticker", release: "Stop()",
		store: "s.ticker = $V", inspect: "select {\ncase <-$V.C:\n\ts.stats.leaves++\ndefault:\n}"},
	{expr: "s.listener.Accept()", typ: "*netx.Session", release: "Disconnect()", err: true,
		store: "s.sessions[$V.Player] = $V", inspect: "log.Printf(\"PKG: %s connected\", $V.Player)"},
}

// fn is the function being written by a template.
type fn struct {
	g      *generator
	src    source
	v      string   // name of the handle variable
	kind   string   // template kind, written in markers
	header string   // the func line; empty means the default one
	lines  []string // body lines, without indentation of the body itself
}

// line adds body lines (a string may hold several).
func (f *fn) line(format string, args ...any) {
	f.lines = append(f.lines, strings.Split(fmt.Sprintf(format, args...), "\n")...)
}

// raw adds body lines as they are, with no formatting.
func (f *fn) raw(code string) { f.lines = append(f.lines, strings.Split(code, "\n")...) }

// expr returns the source's creating call with its placeholders filled.
func (f *fn) expr() string {
	return strings.NewReplacer("TOPIC", f.g.topic(), "INTERVAL", f.g.interval()).Replace(f.src.expr)
}

// mark returns the marker for a creating line.
func (f *fn) mark(leak bool) string {
	if leak {
		return " " + LeakMarker + f.kind
	}
	return " " + ManagedMarker + f.kind
}

// sub replaces $V by the handle variable in a source snippet.
func (f *fn) sub(snippet string) string { return strings.ReplaceAll(snippet, "$V", f.v) }

// decl declares the handle variable from a new handle; onErr is what to
// do with a creation error (the default returns it).
func (f *fn) decl(leak bool, onErr ...string) {
	if !f.src.err {
		f.line("%s := %s%s", f.v, f.expr(), f.mark(leak))
		return
	}
	handle := "return err"
	if len(onErr) > 0 {
		handle = onErr[0]
	}
	f.line("%s, err := %s%s\nif err != nil {\n\t%s\n}", f.v, f.expr(), f.mark(leak), handle)
}

// indented runs write and indents the lines it adds by one tab.
func (f *fn) indented(write func()) {
	start := len(f.lines)
	write()
	for i := start; i < len(f.lines); i++ {
		f.lines[i] = "\t" + f.lines[i]
	}
}

// trackArg is the connmgr.Handle wrapping the handle variable.
func (f *fn) trackArg() string {
	if f.src.conn {
		return fmt.Sprintf("connmgr.Func(%s.Disconnect)", f.v)
	}
	return fmt.Sprintf("connmgr.Func(func() { %s.%s })", f.v, f.src.release)
}

// template writes one function. leak says whether it seeds a leak; only
// restricts it to some sources.
type template struct {
	kind   string
	leak   bool
	weight int
	only   func(source) bool
	write  func(f *fn)
}

func noErr(s source) bool  { return !s.err }
func isConn(s source) bool { return s.conn }

var templates = []template{
	// Seeded leaks, of every kind connvet is specified to find.
	{kind: "discarded call", leak: true, weight: 6, write: func(f *fn) {
		f.line("%s%s", f.expr(), f.mark(true))
	}},
	{kind: "assigned to blank", leak: true, weight: 4, write: func(f *fn) {
		blank := "_ ="
		if f.src.err {
			blank = "_, _ ="
		}
		f.line("%s %s%s", blank, f.expr(), f.mark(true))
	}},
	{kind: "local only inspected", leak: true, weight: 6, write: func(f *fn) {
		f.decl(true)
		f.raw(f.sub(f.src.inspect))
	}},
	{kind: "overwritten before stored", leak: true, weight: 4, write: func(f *fn) {
		f.decl(true)
		f.line("if s.count() > 0 {\n\ts.stats.joins++\n}")
		if f.src.err {
			f.line("%s, err = %s%s\nif err != nil {\n\treturn err\n}", f.v, f.expr(), f.mark(false))
		} else {
			f.line("%s = %s%s", f.v, f.expr(), f.mark(false))
		}
		f.raw(f.sub(f.src.store))
	}},
	{kind: "created in a loop", leak: true, weight: 5, only: noErr, write: func(f *fn) {
		f.line("for _, p := range s.players {\n\tif p.Ready {\n\t\t%s%s\n\t}\n}", f.expr(), f.mark(true))
	}},
	{kind: "created in a closure", leak: true, weight: 4, write: func(f *fn) {
		f.line("go func() {")
		f.indented(func() {
			f.decl(true, "log.Print(err)\n\treturn")
			f.raw(f.sub(f.src.inspect))
		})
		f.line("}()")
	}},
	{kind: "error checked only", leak: true, weight: 3, only: func(s source) bool { return s.err }, write: func(f *fn) {
		f.decl(true)
		f.line("log.Printf(\"PKG: ready=%%v\", %s != nil)", f.v)
	}},
	{kind: "manager never closed", leak: true, weight: 2, write: func(f *fn) {
		f.line("m := connmgr.New()%s", f.mark(true))
		f.line("if _, err := m.Track(connmgr.Meta{Player: name}, connmgr.Func(func() {})); err != nil {\n\treturn err\n}")
	}},
	{kind: "untracked and dropped", leak: true, weight: 2, write: func(f *fn) {
		f.line("s.mgr.Untrack(s.ids[name])%s", f.mark(true))
		f.line("delete(s.ids, name)")
	}},
	// Leaks connvet is documented not to find: one on a single path,
	// one hidden in a local struct. They keep the recall figure honest.
	{kind: "leak on an error path (path-sensitive)", leak: true, weight: 1, write: func(f *fn) {
		f.decl(true)
		f.line("if err := s.load(ctx); err != nil {\n\treturn err\n}")
		f.raw(f.sub(f.src.store))
	}},
	{kind: "kept in a local struct (escape connvet cannot follow)", leak: true, weight: 1, only: noErr, write: func(f *fn) {
		f.line("st := struct {\n\th %s\n\tn string\n}{%s, name}%s", f.src.typ, f.expr(), f.mark(true))
		f.line("log.Printf(\"PKG: %%s\", st.n)")
	}},

	// Correct uses.
	{kind: "stored in a field", weight: 6, write: func(f *fn) {
		f.decl(false)
		f.raw(f.sub(f.src.store))
	}},
	{kind: "stored directly", weight: 4, only: func(s source) bool { return !s.err && strings.Count(s.store, "$V") == 1 }, write: func(f *fn) {
		f.line("%s%s", strings.ReplaceAll(f.src.store, "$V", f.expr()), f.mark(false))
	}},
	{kind: "appended in a loop", weight: 3, only: isConn, write: func(f *fn) {
		f.line("for _, p := range s.players {\n\tif p.Ready {\n\t\ts.conns = append(s.conns, %s)%s\n\t}\n}", f.expr(), f.mark(false))
	}},
	{kind: "returned", weight: 4, write: func(f *fn) {
		if f.src.err {
			f.header = fmt.Sprintf("(ctx context.Context, name string) (%s, error)", f.src.typ)
		} else {
			f.header = fmt.Sprintf("(ctx context.Context, name string) %s", f.src.typ)
		}
		f.line("return %s%s", f.expr(), f.mark(false))
	}},
	{kind: "named result", weight: 2, write: func(f *fn) {
		f.header = fmt.Sprintf("(ctx context.Context, name string) (%s %s, err error)", f.v, f.src.typ)
		if f.src.err {
			f.line("%s, err = %s%s", f.v, f.expr(), f.mark(false))
		} else {
			f.line("%s = %s%s", f.v, f.expr(), f.mark(false))
		}
		f.line("return")
	}},
	{kind: "deferred release", weight: 5, write: func(f *fn) {
		f.decl(false)
		f.line("defer %s.%s", f.v, f.src.release)
		f.raw(f.sub(f.src.inspect))
	}},
	{kind: "released in one branch", weight: 2, write: func(f *fn) {
		f.decl(false)
		f.line("if name == \"\" {\n\t%s.%s\n\treturn nil\n}", f.v, f.src.release)
		f.raw(f.sub(f.src.store))
	}},
	{kind: "tracked by the manager", weight: 5, write: func(f *fn) {
		f.decl(false)
		f.line("id, err := s.mgr.Track(connmgr.Meta{Player: name, Name: %s}, %s)", f.g.topic(), f.trackArg())
		f.line("if err != nil {\n\t%s.%s\n\treturn err\n}\ns.ids[name] = id", f.v, f.src.release)
	}},
	{kind: "tracked per player", weight: 3, write: func(f *fn) {
		f.decl(false)
		f.line("if _, err := s.mgr.TrackPlayer(name, %s, %s); err != nil {\n\treturn err\n}", f.g.topic(), f.trackArg())
	}},
	{kind: "sent on a channel", weight: 2, only: isConn, write: func(f *fn) {
		f.decl(false)
		f.line("s.done <- %s", f.v)
	}},
	{kind: "captured by a cleanup closure", weight: 3, write: func(f *fn) {
		f.decl(false)
		f.line("s.cleanup = append(s.cleanup, func() { %s.%s })", f.v, f.src.release)
	}},
	{kind: "given to the maid", weight: 2, only: isConn, write: func(f *fn) {
		f.line("s.maid.Give(%s)%s", f.expr(), f.mark(false))
	}},
	{kind: "manager shut down", weight: 1, write: func(f *fn) {
		f.line("m := connmgr.New()%s\ndefer m.Shutdown(ctx)", f.mark(false))
		f.line("log.Printf(\"PKG: manager for %%s\", name)")
	}},
	{kind: "untracked and disconnected", weight: 2, write: func(f *fn) {
		f.line("if h, ok := s.mgr.Untrack(s.ids[name]); ok {%s\n\tif err := h.Disconnect(); err != nil {\n\t\treturn err\n\t}\n}", f.mark(false))
	}},
	{kind: "created on both branches", weight: 2, only: noErr, write: func(f *fn) {
		f.line("var %s %s", f.v, f.src.typ)
		f.line("if name == \"\" {\n\t%s = %s%s\n} else {\n\t%s = %s%s\n}", f.v, f.expr(), f.mark(false), f.v, f.expr(), f.mark(false))
		f.raw(f.sub(f.src.store))
	}},
	{kind: "replaced after release", weight: 2, only: noErr, write: func(f *fn) {
		f.decl(false)
		f.line("%s.%s", f.v, f.src.release)
		f.line("%s = %s%s", f.v, f.expr(), f.mark(false))
		f.raw(f.sub(f.src.store))
	}},
	// A handle read from another package's registry: nothing is created,
	// but connvet cannot see that across packages and reports it. This
	// keeps the false-positive figure honest.
	{kind: "read from another package (cross-package getter)", weight: 1, write: func(f *fn) {
		f.line("if c := s.registry.Get(name); c != nil && c.Connected() {%s\n\ts.stats.joins++\n}", f.mark(false))
	}},
}
