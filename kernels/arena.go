package kernels

import "unsafe"

// ArenaAlign is the alignment of an arena's start: a cache line, which also
// suits every vector width the kernels use.
const ArenaAlign = 64

// NewArena returns a zeroed byte arena of n bytes whose first byte is
// aligned to ArenaAlign. Tensors of any element type live in it at offsets
// that are multiples of their element size, viewed with View.
func NewArena(n int) []byte {
	// Backed by uint64s so that the garbage collector never sees the
	// arena as holding pointers, and over-allocated to align the start.
	words := make([]uint64, (n+ArenaAlign)/8+1)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
	skip := int(-uintptr(unsafe.Pointer(&b[0])) & (ArenaAlign - 1))
	return b[skip : skip+n : skip+n]
}

// View returns the n elements of type E at byte offset off of arena. off
// must be a multiple of E's size and the elements must fit in the arena;
// View panics otherwise. E must hold no pointers.
func View[E any](arena []byte, off, n int) []E {
	if n == 0 {
		return []E{}
	}
	var zero E
	size := int(unsafe.Sizeof(zero))
	if off < 0 || off%size != 0 || off+n*size > len(arena) {
		panic("kernels.View: a tensor outside the arena")
	}
	return unsafe.Slice((*E)(unsafe.Pointer(&arena[off])), n)
}
