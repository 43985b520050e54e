// Package customlib is a library whose handles are released with Release
// and Cancel, names connvet only knows through -methods.
package customlib

type Lease struct{}

func (*Lease) Release() {}

type Timer struct{}

func (*Timer) Cancel() bool { return true }

func Acquire(name string) *Lease { return &Lease{} }

func After(ms int) *Timer { return &Timer{} }
