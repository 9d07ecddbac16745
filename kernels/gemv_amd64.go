//go:build amd64 && !purego

package kernels

import (
	"math"
	"unsafe"
)

//go:noescape
func sgemvNT(k, n int, x, w unsafe.Pointer, ldw uintptr, y, bias unsafe.Pointer, flags int, alpha, floor float32)

// gemvMin is the fewest rows of B that gemvNT takes: its blocks are
// sixteen rows, the last moved back to end at the last row.
const gemvMin = 16

// gemvNT computes C = alpha·A·Bᵀ + beta·C (beta 0 or 1) for a few rows of
// A (a batch-1 layer, a sampling step) with the AVX-512 kernel sgemvNT,
// one row of A at a time against all of B read in place: each row of C is
// sixteen outputs per block of B's rows, summed across lanes by a tree
// of shuffles rather than one horizontal sum per output. n ≥ gemvMin.
func gemvNT(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, relu bool) {
	floor := float32(math.Inf(-1))
	if relu {
		floor = 0
	}
	flags := 0
	if beta != 0 {
		flags |= 1
	}
	_ = b[(n-1)*ldb+k-1] // the last element read is in b
	for i := range m {
		x := a[i*lda : i*lda+k]
		y := c[i*ldc : i*ldc+n]
		bp := unsafe.Pointer(&y[0])
		if bias != nil {
			bp = unsafe.Pointer(&bias[0])
			flags |= 2
		}
		sgemvNT(k, n, unsafe.Pointer(&x[0]), unsafe.Pointer(&b[0]), uintptr(ldb*4), unsafe.Pointer(&y[0]), bp, flags, alpha, floor)
	}
}

// gemvRows is the most rows of A that A·Bᵀ runs through gemvNT, which
// reads B once per row of A: from four rows on, the 4×4 tiles of sgemmNT
// load each element of B once for four of them.
const gemvRows = 3
