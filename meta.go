package connmgr

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// ID names a tracked handle. It is never 0 for a tracked handle, and it
// never names a different handle later, however many are tracked after it.
type ID uint64

// Meta describes a handle: what it is, and which pools it belongs to.
type Meta struct {
	Name    string        // what the handle is ("Heartbeat", "remote:BuyPet"); shown in errors and reports; at most 4 GiB
	Player  string        // player pool, "" = none
	Service string        // service pool, "" = none
	Tags    []string      // tag pools; duplicates ignored; "" is invalid
	TTL     time.Duration // Sweep disconnects the handle once it is older than TTL; 0 = never; negative is invalid
	Key     string        // at most one live handle per non-empty Key in a Manager; tracking another replaces it
}

// Info describes a tracked handle, as returned by [Manager.Lookup],
// [Manager.LookupKey], [Manager.Handles], [Manager.All] and [Manager.Health],
// and carried by [DisconnectError].
type Info struct {
	ID      ID
	Meta              // a copy: mutating it does not affect the manager
	Created time.Time // when Track accepted the handle
	// Caller is where the handle was tracked, as
	// "file.go:42 example.com/game/pets.(*Service).onJoin": the base file
	// name, the line, and the function name as [runtime.Func.Name] gives it,
	// of the first frame outside package connmgr. It is "" unless the
	// manager was made with WithCallers(true).
	Caller string
}

// check reports what is invalid about m, wrapping ErrInvalid.
func (m *Meta) check() error {
	if err := checkNameLen(len(m.Name)); err != nil {
		return err
	}
	if m.TTL < 0 {
		return fmt.Errorf("%w: negative TTL %v for %q", ErrInvalid, m.TTL, m.Name)
	}
	if slices.Contains(m.Tags, "") {
		return fmt.Errorf("%w: empty tag for %q", ErrInvalid, m.Name)
	}
	return nil
}

// checkNameLen refuses a name of n bytes if an entry cannot keep its length
// (see entry.nameLen). The name is not quoted: at that length it is no use
// in an error message.
func checkNameLen(n int) error {
	if uint64(n) > math.MaxUint32 {
		return fmt.Errorf("%w: a name of %d bytes, over the limit of 4 GiB", ErrInvalid, n)
	}
	return nil
}

// pools lists the pools a handle with this Meta belongs to, tags
// de-duplicated.
func (m *Meta) pools() []Pool {
	var ps []Pool
	if m.Player != "" {
		ps = append(ps, Player(m.Player))
	}
	if m.Service != "" {
		ps = append(ps, Service(m.Service))
	}
	for _, t := range uniqueTags(m.Tags) {
		ps = append(ps, Tag(t))
	}
	return ps
}

// uniqueTags returns tags without duplicates, in first-seen order. It returns
// tags itself when there are none to drop.
func uniqueTags(tags []string) []string {
	if len(tags) < 2 {
		return tags
	}
	if len(tags) <= 8 { // quadratic beats a map for the usual handful
		for i := 1; i < len(tags); i++ {
			if slices.Contains(tags[:i], tags[i]) {
				return dedupe(tags)
			}
		}
		return tags
	}
	return dedupe(tags)
}

func dedupe(tags []string) []string {
	seen := make(map[string]struct{}, len(tags))
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if _, ok := seen[t]; !ok {
			seen[t] = struct{}{}
			out = append(out, t)
		}
	}
	return out
}

// extra holds what most handles do not have, so that the common entry stays
// small: the service and tag memberships, the TTL, the creation time where
// the stamp is not it (see entry.created), and, rarer still, the Key and the
// recorded callers. Apart from the links' pool pointers, which
// the shard lock guards, an extra never changes after Track, so an Info can
// be built from it with no lock held.
type extra struct {
	created int64 // when Track read the clock, as an offset from Manager.start
	ttl     time.Duration
	service bool   // links[0] is the service link
	links   []link // service (if any), then tags in Meta order
	more    *more  // nil unless the handle has a Key or recorded callers
}

// more is the part of extra that only keyed handles and managers made with
// WithCallers need.
type more struct {
	key string               // Meta.Key; "" = none
	pcs [callerDepth]uintptr // return PCs from inside Track outwards; 0 after the last
}

// extraMore lets newExtra allocate an extra and its more in one piece.
type extraMore struct {
	x extra
	m more
}

// newExtra returns the extra part for meta, or nil when it needs none. It
// ignores the Key: a handle with a Key, or tracked with callers recorded,
// gets its extra part from newExtraMore.
func newExtra(meta *Meta) *extra {
	if meta.Service == "" && len(meta.Tags) == 0 && meta.TTL == 0 {
		return nil
	}
	return new(extra).build(meta)
}

// newExtraMore returns the extra part for a handle with a Key or recorded
// callers, allocated in one piece with its more part. With callers set it
// records the stack of the Track call.
func newExtraMore(meta *Meta, callers bool) *extra {
	xm := new(extraMore)
	x := &xm.x
	x.more = &xm.m
	x.more.key = meta.Key
	if callers {
		recordCallers(&x.more.pcs)
	}
	return x.build(meta)
}

// build sets the TTL and the pool links of a new extra part from meta.
func (x *extra) build(meta *Meta) *extra {
	tags := uniqueTags(meta.Tags)
	x.ttl = meta.TTL
	if n := len(tags); meta.Service != "" || n > 0 {
		x.links = make([]link, 0, n+1)
	}
	if meta.Service != "" {
		x.service = true
		x.links = append(x.links, link{key: Service(meta.Service)})
	}
	for _, t := range tags {
		x.links = append(x.links, link{key: Tag(t)})
	}
	return x
}

// fill sets the Service, Tags, TTL and Key of meta from x.
func (x *extra) fill(meta *Meta) {
	if x == nil {
		return
	}
	meta.TTL = x.ttl
	if x.more != nil {
		meta.Key = x.more.key
	}
	links := x.links
	if x.service {
		meta.Service = links[0].key.name
		links = links[1:]
	}
	if len(links) > 0 {
		meta.Tags = make([]string, len(links))
		for i := range links {
			meta.Tags[i] = links[i].key.name
		}
	}
}

// key returns the Key of the handle x belongs to, "" when it has none.
func (x *extra) key() string {
	if x == nil || x.more == nil {
		return ""
	}
	return x.more.key
}
