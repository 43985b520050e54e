package connmgr

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

func TestEntryIsOneCacheLine(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are for 64-bit platforms")
	}
	assert.Equal(t, uintptr(64), unsafe.Sizeof(entry{}),
		"a plain handle's entry is one 64-byte cache line: its creation time is its stamp, or is kept in its extra part")
}
