// Package corpus generates a realistic game-server code base, with seeded
// handle leaks and correct uses on marked lines, for measuring connvet's
// recall, false-positive rate and speed.
//
// The code base is a module, example.com/gameserver, with a stub of the
// connmgr core module beside it (wired with a replace directive, so no
// network is needed), a few libraries of the shapes game servers use
// (signals, a message bus, NATS, Redis, a network layer) and as many
// service packages as asked for. The same Options and Seed always give the
// same code.
package corpus

import (
	"bufio"
	"fmt"
	"go/format"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Options sizes the generated code base.
type Options struct {
	Packages        int    // service packages
	FilesPerPackage int    // generated files in each, besides service.go
	FuncsPerFile    int    // functions in each generated file
	Seed            uint64 // seed of the pseudo-random choices
}

// Corpus describes a generated code base.
type Corpus struct {
	Dir     string // root of the module
	Lines   int    // lines of Go in the module, libraries included
	Leaks   []Site // lines that create a handle that leaks
	Managed []Site // lines that create a handle that is managed
}

// Site is a marked line of the corpus.
type Site struct {
	File string // absolute path
	Line int    // 1-based
	Kind string // the template kind from the marker comment
}

// Generate writes a code base into dir, which must exist and should be
// empty, and describes it.
func Generate(dir string, opt Options) (*Corpus, error) {
	g := &generator{rng: rand.New(rand.NewPCG(opt.Seed, 0x636f6e6e766574))}
	files := map[string]string{
		"go.mod": "module example.com/gameserver\n\ngo 1.25\n\nrequire github.com/connmgr/connmgr v0.0.0\n\n" +
			"replace github.com/connmgr/connmgr => ./third_party/connmgr\n",
		"third_party/connmgr/go.mod":     connmgrGoMod,
		"third_party/connmgr/connmgr.go": connmgrSource,
	}
	for name, src := range libraries {
		files["lib/"+name+"/"+name+".go"] = src
	}
	for p := range opt.Packages {
		g.pkg = packageName(p)
		files[g.pkg+"/service.go"] = strings.ReplaceAll(serviceSource, "PKG", g.pkg)
		for f := range opt.FilesPerPackage {
			files[fmt.Sprintf("%s/%s_%d.go", g.pkg, g.pkg, f)] = g.file(opt.FuncsPerFile)
		}
	}

	c := &Corpus{Dir: dir}
	for name, src := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			return nil, err
		}
		if strings.HasSuffix(name, ".go") && !strings.HasPrefix(name, "third_party/") {
			c.scan(path, src)
		}
	}
	return c, nil
}

// scan counts the lines of a file and records its marked lines.
func (c *Corpus) scan(path, src string) {
	sc := bufio.NewScanner(strings.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		c.Lines++
		line := sc.Text()
		if i := strings.Index(line, LeakMarker); i >= 0 {
			c.Leaks = append(c.Leaks, Site{path, n, line[i+len(LeakMarker):]})
		} else if i := strings.Index(line, ManagedMarker); i >= 0 {
			c.Managed = append(c.Managed, Site{path, n, line[i+len(ManagedMarker):]})
		}
	}
}

// domains name the service packages, as in a real game backend.
var domains = []string{
	"lobby", "matchmaking", "chat", "inventory", "guild", "leaderboard",
	"quests", "world", "combat", "trading", "auction", "friends", "party",
	"voice", "telemetry", "achievements", "shop", "mail", "spectate", "replay",
}

func packageName(i int) string {
	if i < len(domains) {
		return domains[i]
	}
	return fmt.Sprintf("%s%d", domains[i%len(domains)], i/len(domains)+1)
}

// generator holds the state of one generation.
type generator struct {
	rng   *rand.Rand
	pkg   string
	funcs int // functions written so far, for unique names
}

var (
	verbs   = []string{"handle", "start", "refresh", "sync", "watch", "join", "open", "reload", "resume", "bind"}
	nouns   = []string{"Join", "Match", "Score", "Party", "Session", "Feed", "Queue", "Round", "Presence", "Reward"}
	fillers = []string{
		"s.mu.Lock()\ns.players[name] = &Player{Name: name}\ns.mu.Unlock()",
		"if n := s.count(); n > LIMIT {\n\tlog.Printf(\"PKG: %d players ready\", n)\n}",
		"for _, p := range s.players {\n\tp.Score += LIMIT\n}",
		"s.stats.joins++",
		"if p, ok := s.players[name]; ok && p.Ready {\n\ts.bus.Publish(\"PKG.ready\", []byte(p.Name))\n}",
		"if name == \"\" {\n\tname = \"guest\"\n}",
		"total := 0\nfor _, p := range s.players {\n\ttotal += p.Score\n}\nlog.Printf(\"PKG: total score %d\", total)",
	}
	handleVars = []string{"conn", "sub", "c", "h", "watcher", "listener", "feed", "t", "session", "ps"}
)

func (g *generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *generator) topic() string {
	return fmt.Sprintf("%q", g.pkg+"."+strings.ToLower(g.pick(nouns)))
}

func (g *generator) interval() string { return fmt.Sprintf("%d * time.Second", 1+g.rng.IntN(30)) }

// pickTemplate draws a template by weight, then a source it accepts.
func (g *generator) pickTemplate() (template, source) {
	total := 0
	for _, t := range templates {
		total += t.weight
	}
	n := g.rng.IntN(total)
	var t template
	for _, t = range templates {
		if n -= t.weight; n < 0 {
			break
		}
	}
	for {
		src := sources[g.rng.IntN(len(sources))]
		if t.only == nil || t.only(src) {
			return t, src
		}
	}
}

// file writes one generated file of a service package.
func (g *generator) file(funcs int) string {
	var body strings.Builder
	for range funcs {
		body.WriteString(g.function())
	}
	var out strings.Builder
	fmt.Fprintf(&out, "package %s\n\nimport (\n\t\"context\"\n", g.pkg)
	for _, imp := range []string{"log", "time", "github.com/connmgr/connmgr", "example.com/gameserver/lib/bus",
		"example.com/gameserver/lib/events", "example.com/gameserver/lib/natsx", "example.com/gameserver/lib/redisx",
		"example.com/gameserver/lib/netx"} {
		if uses(body.String(), imp[strings.LastIndex(imp, "/")+1:]) {
			fmt.Fprintf(&out, "\t%q\n", imp)
		}
	}
	out.WriteString(")\n")
	out.WriteString(body.String())
	src, err := format.Source([]byte(out.String()))
	if err != nil {
		panic(fmt.Sprintf("generated code does not parse: %v", err)) // a bug in a template
	}
	return string(src)
}

// uses reports whether code refers to package name.
func uses(code, name string) bool {
	return regexp.MustCompile(`(^|[^.\w])` + name + `\.`).MatchString(code)
}

// function writes one function from a randomly drawn template.
func (g *generator) function() string {
	t, src := g.pickTemplate()
	g.funcs++
	f := &fn{g: g, src: src, v: g.pick(handleVars), kind: t.kind}
	name := fmt.Sprintf("%s%s%d", g.pick(verbs), g.pick(nouns), g.funcs)

	for _, i := range g.rng.Perm(len(fillers))[:1+g.rng.IntN(3)] {
		f.raw(fillers[i]) // distinct, so no variable is declared twice
	}
	t.write(f)
	header := f.header
	if header == "" {
		header = "(ctx context.Context, name string) error"
		f.line("return nil")
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\n// %s is generated: %s.\nfunc (s *Service) %s%s {\n", name, t.kind, name, header)
	repl := strings.NewReplacer("PKG", g.pkg, "LIMIT", fmt.Sprint(1+g.rng.IntN(20)))
	for _, l := range f.lines {
		fmt.Fprintf(&b, "\t%s\n", repl.Replace(l))
	}
	b.WriteString("}\n")
	return b.String()
}
