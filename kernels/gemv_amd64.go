//go:build amd64 && !purego

package kernels

import (
	"math"
	"unsafe"
)

//go:noescape
func sgemvNT(m, k, n int, x unsafe.Pointer, ldx uintptr, w unsafe.Pointer, ldw uintptr, y unsafe.Pointer, ldy uintptr, bias unsafe.Pointer, flags int, alpha, floor float32)

// gemvMin is the fewest rows of B that gemvNT takes: its blocks are
// sixteen rows, the last moved back to end at the last row.
const gemvMin = 16

// gemvNT computes C = alpha·A·Bᵀ + beta·C (beta 0 or 1) for a few rows of
// A (a batch-1 layer, a sampling step, a forward pass over a short
// context) with the AVX-512 kernel sgemvNT, B read in place: sixteen
// outputs at a time for each row of A under a block of sixteen rows of B,
// summed across lanes by a tree of shuffles rather than one horizontal sum
// per output. n ≥ gemvMin.
func gemvNT(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, relu bool) {
	floor := float32(math.Inf(-1))
	if relu {
		floor = 0
	}
	flags := 0
	if beta != 0 {
		flags |= 1
	}
	_ = b[(n-1)*ldb+k-1] // the last elements read are in b,
	_ = a[(m-1)*lda+k-1] // a
	_ = c[(m-1)*ldc+n-1] // and c
	bp := unsafe.Pointer(&c[0])
	if bias != nil {
		bp = unsafe.Pointer(&bias[0])
		flags |= 2
	}
	sgemvNT(m, k, n, unsafe.Pointer(&a[0]), uintptr(lda*4), unsafe.Pointer(&b[0]), uintptr(ldb*4), unsafe.Pointer(&c[0]), uintptr(ldc*4), bp, flags, alpha, floor)
}

// gemvRows is the most rows of A that A·Bᵀ runs through gemvNT when it is
// not a small product (smallProduct, which transposes B). Thread
// processor time per product (BenchmarkSampleLinear's shapes, x·Wᵀ + b,
// shared machine) against the 4×4 dot products of sgemmNT at 4, 16 and
// 32 rows: 0.55-0.9 of theirs for W of 64×64, 256×64 and 27×64, 0.7-0.9
// for 64×256.
const gemvRows = 32
