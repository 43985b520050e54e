// Package slots is a generational slot table: a paged array of values in
// which every allocated slot is named by (slot, generation). Looking a value
// up is two array indexings and one comparison, with no hashing, and a name
// whose slot has since been freed or reused never finds the newer value.
//
// The table gives memory back: a page whose last live value is freed is
// released to the garbage collector, and allocation prefers the lowest page
// with room, so after churn the live values drift into the low pages and the
// high ones empty out. Go maps, by contrast, never shrink. The one exception
// is a page that would have to be made again by the very next Alloc: see
// Free and Trim.
//
// A Table is not safe for concurrent use; its owner guards it with a lock.
// The exceptions are Peek, which finds a live value without the lock (see
// there), and the calls that touch one slot alone (At, Park, Unpark and
// Publish), which a caller that has the slot to itself may make without
// the lock (see Park). For Peek's sake the table never writes a value, but
// for the Gen it begins with, once it has handed the slot out: Alloc and
// Unpark give the value back as its last owner left it, and an owner that
// wants values cleared clears them itself, in a way its lock-free readers
// can read concurrently.
package slots

import (
	"fmt"
	"math"
	"math/bits"
	"reflect"
	"sync/atomic"
	"unsafe"
)

const (
	pageBits = 8
	// PageSize is the number of slots in one page.
	PageSize = 1 << pageBits
	pageMask = PageSize - 1

	// retiredGen is the generation at which a slot is never reused again, so
	// that a generation never wraps around to one that was handed out before.
	retiredGen = math.MaxUint32 - 1
)

// Gen is a slot's generation. Every value type stored in a Table begins
// with a Gen field (New panics otherwise), and the table keeps the slot's
// generation there, in the value's own memory: a lookup then reads one
// cache line, not a line of generations and a line of values. Only the
// table writes it; a Peek reader reads it (Load).
type Gen struct {
	n atomic.Uint32
}

// Load returns the generation the slot holding the value has now. A reader
// that found the value with Peek reads it again once it has read what it
// needs of the value (see Peek).
func (g *Gen) Load() uint32 { return g.n.Load() }

// page holds PageSize slots. A slot is live when its generation is odd:
// Publish and Free (or Hold, or Park) each add one. live counts the slots not
// free, held ones included, so that a page is never released under a held
// value. Generations are written atomically, for Peek; the owner, which
// holds the lock, reads them at a plain load's cost.
//
// The values start 64 bytes into the page's memory, so that a value whose
// size is a multiple of 64 fills whole cache lines and two values never
// share one (the owner's users may write different values from different
// processors). The allocator puts an 8-byte header in front of an object
// this large that holds pointers, and starts the object on a 64-byte
// boundary; the pad makes up the rest (TestValuesStartOnACacheLine).
type page[T any] struct {
	_     [valsOffset]byte
	vals  [PageSize]T
	free  [PageSize]uint16 // stack of free offsets; the top is free[nfree-1]
	nfree uint16
	live  uint16
}

const (
	// lineBytes is the size of a cache line.
	lineBytes = 64
	// mallocHeader is the size of the header the Go allocator puts in
	// front of an object of a few kilobytes that holds pointers.
	mallocHeader = 8
	// valsOffset is where a page's values begin (see peek).
	valsOffset = lineBytes - mallocHeader
	// pointerSize is the size of a pointer, and so of an element of the
	// page directory.
	pointerSize = unsafe.Sizeof(uintptr(0))
)

// Table is a generational slot table of T, which begins with a Gen. Make
// one with New, or Init one in place.
type Table[T any] struct {
	dir     directory                 // pages, as Peek reads it
	pages   []atomic.Pointer[page[T]] // nil where a page was released or never made; see page
	base    []uint32                  // per page index: the generation a remade page starts at
	nonfull []uint64                  // bit i: pages[i] exists and has a free slot
	limit   uint32                    // slots never reach this index
	live    int                       // slots allocated and not held or freed: live or parked
	held    int                       // slots taken out of use by Hold, not yet released
	npages  int
}

// gen returns the generation of the slot at offset off, which lives in the
// Gen that the value begins with.
func (p *page[T]) gen(off uint32) *atomic.Uint32 {
	return &(*Gen)(unsafe.Pointer(&p.vals[off])).n
}

// beginsWithGen reports whether T is a struct whose first field is a Gen,
// as a Table needs.
func beginsWithGen[T any]() bool {
	t := reflect.TypeFor[T]()
	return t.Kind() == reflect.Struct && t.NumField() > 0 &&
		t.Field(0).Type == reflect.TypeFor[Gen]() && t.Field(0).Offset == 0
}

// page returns page pi, nil where it was released or never made. The owner
// reads the pointers at a plain load's cost; they are atomic for Peek.
func (t *Table[T]) page(pi uint32) *page[T] { return t.pages[pi].Load() }

// directory is Table.pages as Peek, which takes no lock, reads it: its
// length and its first element, read in that order and stored in the other
// (see growPages). Two words side by side, rather than a pointer to a
// slice, keep a lookup's chain of dependent loads short. Both share one
// array of page pointers, which the owner stores atomically, so a page made
// or released is stored once and Peek sees it in the current directory.
//
// A directory holds no type parameter, so that the lock-free reads through
// it are inlined into their callers: the compiler counts a generic body as
// dearer to inline, and a call would be a fair part of a lookup's time.
type directory struct {
	n  atomic.Uint32
	at unsafe.Pointer // &Table.pages[0], read and written atomically
}

// page returns the address of page pi, nil where it was released or
// never made, or pi is out of range.
func (d *directory) page(pi uint32) unsafe.Pointer {
	if pi >= d.n.Load() {
		return nil
	}
	return atomic.LoadPointer((*unsafe.Pointer)(unsafe.Add(atomic.LoadPointer(&d.at), uintptr(pi)*pointerSize)))
}

// peek is Peek, for values of size bytes, returning the value's address.
func (d *directory) peek(slot, gen uint32, size uintptr) unsafe.Pointer {
	p := d.page(slot >> pageBits)
	if p == nil || gen&1 == 0 {
		return nil // no such page, or gen is even: no live value has it
	}
	v := unsafe.Add(p, valsOffset+uintptr(slot&pageMask)*size)
	if (*atomic.Uint32)(v).Load() != gen {
		return nil
	}
	return v
}

// value returns the address of the value of slot, of size bytes, which
// is allocated (live, parked or just taken). Its page index needs no check
// against the length: the directory held the page when the slot was
// allocated, and every directory published since holds it at the same
// index.
func (d *directory) value(slot uint32, size uintptr) unsafe.Pointer {
	p := atomic.LoadPointer((*unsafe.Pointer)(unsafe.Add(atomic.LoadPointer(&d.at), uintptr(slot>>pageBits)*pointerSize)))
	return unsafe.Add(p, valsOffset+uintptr(slot&pageMask)*size)
}

// at returns the value of a slot that is allocated (live, parked or just
// taken), reading its page through the directory, as Peek does, so that it
// is safe without the owner's lock: the owner may be growing pages
// meanwhile, and a page holding an allocated slot is never released.
func (t *Table[T]) at(slot uint32) (v *T) {
	return (*T)(t.dir.value(slot, unsafe.Sizeof(*v)))
}

// genAt returns the generation of a slot that is allocated, as at does.
// It reads the directory itself rather than convert at's result: a generic
// call inside a generic body would take Park past the inlining budget.
func (t *Table[T]) genAt(slot uint32) *atomic.Uint32 {
	var v *T
	return (*atomic.Uint32)(t.dir.value(slot, unsafe.Sizeof(*v)))
}

// New returns an empty table whose slot numbers stay below limit
// (0 means no limit below math.MaxUint32). It panics unless T is a struct
// that begins with a Gen field.
func New[T any](limit uint32) *Table[T] {
	t := new(Table[T])
	t.Init(limit)
	return t
}

// Init makes t, a zero Table, ready for use as New would, so that a table
// can live inside its owner's struct. It panics as New does.
func (t *Table[T]) Init(limit uint32) {
	if !beginsWithGen[T]() {
		panic(fmt.Sprintf("slots: %v does not begin with a slots.Gen field", reflect.TypeFor[T]()))
	}
	t.limit = limit
}

// Len reports the number of live slots, parked ones included (see Park).
func (t *Table[T]) Len() int { return t.live }

// Pages reports the number of pages currently allocated.
func (t *Table[T]) Pages() int { return t.npages }

// PageBytes reports the size in bytes of one page.
func (t *Table[T]) PageBytes() uintptr { return unsafe.Sizeof(page[T]{}) }

// Bound reports a slot number that every live slot is below, for scans.
func (t *Table[T]) Bound() uint32 { return uint32(len(t.pages)) << pageBits }

// Alloc takes a free slot and returns its number, the (odd) generation that
// Publish will give it, and a pointer to its value, which is zero unless a
// previous owner of the slot left it otherwise. The slot is not live until
// Publish: Get, Live and Peek do not find it, so the caller can fill its
// value first. Len counts it from Alloc on. ok is false when the table is
// at its limit.
func (t *Table[T]) Alloc() (slot, gen uint32, v *T, ok bool) {
	pi, ok := t.lowestNonfull()
	if !ok {
		if pi, ok = t.newPage(); !ok {
			return 0, 0, nil, false
		}
	}
	p := t.page(pi)
	p.nfree--
	off := uint32(p.free[p.nfree])
	if p.nfree == 0 {
		t.nonfull[pi/64] &^= 1 << (pi % 64)
	}
	p.live++
	t.live++
	return pi<<pageBits | off, p.gen(off).Load() + 1, &p.vals[off], true
}

// Publish makes a slot taken by Alloc or Unpark live, under the generation
// they returned. From the moment Publish stores that generation, Peek can
// find the value, so the caller fills the value before Publish.
func (t *Table[T]) Publish(slot uint32) {
	g := t.genAt(slot)
	g.Store(g.Load() + 1)
}

// Peek returns the value of slot if it is live with generation gen, as Get
// does, but it may be called without the owner's lock, concurrently with
// any other method. The caller reads the value's Gen again (Gen.Load)
// once it has read what it needs of the value: only if it still equals
// gen was the value live, and unchanged, all along. For that to
// hold, and for the race detector, the owner must write every field that a
// Peek reader reads atomically, fill the value before Publish, and clear or
// change it only after Free, Hold or Park has moved the generation on.
func (t *Table[T]) Peek(slot, gen uint32) (v *T) {
	return (*T)(t.dir.peek(slot, gen, unsafe.Sizeof(*v)))
}

// Get returns the value of slot if it is live with generation gen, else nil.
func (t *Table[T]) Get(slot, gen uint32) *T {
	if gen&1 == 0 {
		return nil
	}
	pi := slot >> pageBits
	if pi >= uint32(len(t.pages)) {
		return nil
	}
	p := t.page(pi)
	if p == nil || p.gen(slot&pageMask).Load() != gen {
		return nil
	}
	return &p.vals[slot&pageMask]
}

// Live returns the value and generation of slot if it is live.
func (t *Table[T]) Live(slot uint32) (v *T, gen uint32, ok bool) {
	pi := slot >> pageBits
	if pi >= uint32(len(t.pages)) {
		return nil, 0, false
	}
	p := t.page(pi)
	if p == nil {
		return nil, 0, false
	}
	gen = p.gen(slot & pageMask).Load()
	if gen&1 == 0 {
		return nil, 0, false
	}
	return &p.vals[slot&pageMask], gen, true
}

// At returns the value of a slot the caller knows to be allocated.
func (t *Table[T]) At(slot uint32) *T {
	return t.at(slot)
}

// Hold takes a live slot out of use without freeing it, and returns its
// value. From then on Get and Live do not find the slot and Len does not
// count it, but its value stays where it is, untouched by the table, and
// the slot is not handed out again until Release. A caller can so detach
// values under its lock a few at a time, read them with the lock released
// (nothing else writes a held value), and release them later, without
// copying them anywhere.
func (t *Table[T]) Hold(slot uint32) *T {
	p := t.page(slot >> pageBits)
	off := slot & pageMask
	p.gen(off).Store(p.gen(off).Load() + 1)
	t.live--
	t.held++
	return &p.vals[off]
}

// Park takes a live slot out of use, as Free does, but keeps it for the
// caller to use again with Unpark instead of putting it back on its page's
// free list: its generation moves on, so that its old name finds nothing,
// and nothing else in the table changes. (A caller that frees and
// allocates again and again for one owner can so keep reusing the same
// slot without touching the memory that the table's other users share.)
// Until Unpark or FreeParked, Len still counts the slot, and Get and Live
// do not find it. Park reports false, and does nothing, when the slot's
// generations are running out; free it instead.
//
// Park, Unpark, Publish and At touch nothing but their slot, and a page
// holding a slot that is not free is never released, so they need not
// hold the owner's lock, concurrently with the owner's other calls, as long
// as nothing else uses that slot meanwhile: the owner may hand a parked
// slot to a caller that serialises its uses by other means.
func (t *Table[T]) Park(slot uint32) bool {
	return park(t.genAt(slot))
}

// park is Park for the slot whose generation is g, apart so that Park,
// generic, stays cheap enough to inline.
func park(g *atomic.Uint32) bool {
	n := g.Load() + 1
	if n == retiredGen {
		return false
	}
	g.Store(n)
	return true
}

// Unpark takes a parked slot for use again, as Alloc takes a free one: it
// returns the generation Publish will give it and a pointer to its value,
// as the caller left it.
func (t *Table[T]) Unpark(slot uint32) (gen uint32, v *T) {
	v = t.at(slot)
	return (*atomic.Uint32)(unsafe.Pointer(v)).Load() + 1, v
}

// FreeParked makes a parked slot free.
func (t *Table[T]) FreeParked(slot uint32) {
	t.live--
	t.recycle(slot)
}

// Held reports the number of slots taken out of use by Hold and not yet
// released.
func (t *Table[T]) Held() int { return t.held }

// Release makes a slot taken out of use by Hold free, as Free does for a
// live slot.
func (t *Table[T]) Release(slot uint32) {
	t.held--
	t.recycle(slot)
}

// Free makes a live slot free, leaving its value as it is. A page left
// with no live or held slot is released, with one exception: while the table holds
// other values and no other page has a free slot, the emptied page stays,
// because the very next Alloc would have to make a page again. Without
// that, a value coming and going at a page boundary would allocate and
// release a whole page every time. There is at most one such spare page at
// a time (a spare has room, so no other page is kept while it exists), and
// it goes when the table empties: a table with no live or held slot holds
// no pages.
func (t *Table[T]) Free(slot uint32) {
	g := t.page(slot >> pageBits).gen(slot & pageMask)
	g.Store(g.Load() + 1)
	t.live--
	t.recycle(slot)
}

// recycle makes a slot whose generation is already even free, releasing
// its page when Free says so.
func (t *Table[T]) recycle(slot uint32) {
	pi, off := slot>>pageBits, slot&pageMask
	p := t.page(pi)
	p.live--
	if t.live+t.held == 0 {
		t.releaseEmpty()
		return
	}
	if p.live == 0 && t.otherRoom(pi) {
		t.releasePage(pi)
		return
	}
	if p.gen(off).Load() == retiredGen {
		return // never handed out again
	}
	p.free[p.nfree] = uint16(off)
	p.nfree++
	if p.nfree == 1 {
		t.nonfull[pi/64] |= 1 << (pi % 64)
	}
}

// releaseEmpty releases every page that holds no live or held value.
func (t *Table[T]) releaseEmpty() {
	for pi := range t.pages {
		if p := t.pages[pi].Load(); p != nil && p.live == 0 {
			t.releasePage(uint32(pi))
		}
	}
}

// otherRoom reports whether a page other than pi has a free slot.
func (t *Table[T]) otherRoom(pi uint32) bool {
	for w, word := range t.nonfull {
		if w == int(pi/64) {
			word &^= 1 << (pi % 64)
		}
		if word != 0 {
			return true
		}
	}
	return false
}

func (t *Table[T]) lowestNonfull() (uint32, bool) {
	for w, word := range t.nonfull {
		if word != 0 {
			return uint32(w*64 + bits.TrailingZeros64(word)), true
		}
	}
	return 0, false
}

// newPage makes a page at the lowest page index that has none, remembering
// per index which generations were already used there.
func (t *Table[T]) newPage() (uint32, bool) {
	pi := uint32(len(t.pages))
	for i := range t.pages {
		if t.pages[i].Load() == nil && t.base[i] != retiredGen {
			pi = uint32(i)
			break
		}
	}
	if t.limit != 0 && uint64(pi+1)<<pageBits > uint64(t.limit) {
		return 0, false
	}
	if uint64(pi+1)<<pageBits > math.MaxUint32 {
		return 0, false
	}
	if pi == uint32(len(t.pages)) {
		t.growPages()
		t.base = append(t.base, 0)
		if len(t.nonfull)*64 < len(t.pages) {
			t.nonfull = append(t.nonfull, 0)
		}
	}
	p := new(page[T])
	base := t.base[pi]
	for i := range p.free {
		if base != 0 {
			p.gen(uint32(i)).Store(base)
		}
		p.free[i] = spread(PageSize - 1 - uint32(i)) // the top, popped first, is spread(0)
	}
	p.nfree = PageSize
	t.pages[pi].Store(p) // after the generations: Peek may find p at once
	t.npages++
	t.nonfull[pi/64] |= 1 << (pi % 64)
	return pi, true
}

// spread returns the offset in a fresh page of the i-th slot that Alloc
// takes from it: the bits of i reversed, so offsets 0, 128, 64, 192, 32...
// Slots taken one after the other thus lie far apart in the page, never in
// neighbouring cache lines, as long as the page has room. Values allocated
// one after the other are often used by different goroutines on different
// processors (different players, in connmgr), and a processor that reads
// or writes a line also fetches the lines after it, and the one beside it,
// ahead of need: with the values side by side, each processor would keep
// fetching lines the other is writing, and both would pay for it on
// every write.
func spread(i uint32) uint16 {
	return bits.Reverse16(uint16(i)) >> (16 - pageBits)
}

func (t *Table[T]) releasePage(pi uint32) {
	p := t.page(pi)
	var top uint32
	for i := range uint32(PageSize) {
		top = max(top, p.gen(i).Load())
	}
	t.base[pi] = top
	t.pages[pi].Store(nil)
	t.npages--
	t.nonfull[pi/64] &^= 1 << (pi % 64)
}

// growPages makes room for one more page index in pages and publishes the
// longer list for Peek. While the array has room the new list shares it;
// when it is full, the pointers move to one twice as long, so that growing
// page by page copies them only when the capacity doubles. A Peek still
// reading the old array finds the pages there as they were, and any page
// made later at a new index only in the new one.
func (t *Table[T]) growPages() {
	n := len(t.pages) + 1
	if n <= cap(t.pages) {
		t.pages = t.pages[:n]
	} else {
		grown := make([]atomic.Pointer[page[T]], n, 2*n)
		for i := range t.pages {
			grown[i].Store(t.pages[i].Load())
		}
		t.pages = grown
	}
	// The element first, then the length: a reader that sees the new
	// length (it loads the length first) sees the new array too, and one
	// that sees the old length reads a prefix of either array.
	atomic.StorePointer(&t.dir.at, unsafe.Pointer(&t.pages[0]))
	t.dir.n.Store(uint32(len(t.pages)))
}
