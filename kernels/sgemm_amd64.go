//go:build amd64 && !purego

package kernels

import (
	"math"
	"os"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// hasAVX512 reports whether the float32 GEMM may use the AVX-512 kernels
// of sgemm_amd64.s: the CPU has AVX-512 F and VL and the OS saves their
// registers (x/sys/cpu checks both). Tests turn it off to reach the
// portable path on the same machine.
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && kernelsAllowed("avx512")

// kernelsAllowed reports whether the environment variable NNC_KERNELS lets
// the kernels of level ("avx512", "avx2") run: unset, or set to a level at
// or above it. NNC_KERNELS=avx2 or =portable makes a machine compute as a
// machine with less does, bit for bit (the levels sum in different
// orders), and lets the paths be compared.
func kernelsAllowed(level string) bool {
	switch os.Getenv("NNC_KERNELS") {
	case "portable":
		return false
	case "avx2":
		return level == "avx2"
	}
	return true
}

//go:noescape
func sgemmNN8x32(k int, a0, a1, a2, a3, a4, a5, a6, a7 unsafe.Pointer, astep uintptr, b unsafe.Pointer, bstep uintptr, c unsafe.Pointer, ldc uintptr, bias unsafe.Pointer, masks uint64, rows int, bmask uint32, alpha, floor float32)

//go:noescape
func sdotNT4x4(k int, a0, a1, a2, a3, b0, b1, b2, b3, c unsafe.Pointer, ldc uintptr, bias unsafe.Pointer, rows int, masks uint32, alpha, floor float32)

//go:noescape
func sfinite(x unsafe.Pointer, n int) bool

//go:noescape
func stranspose8(bt, b unsafe.Pointer, k int, ldb, ldt uintptr)

// finite32 reports whether the first done elements of x are finite, done
// being all of them with AVX-512, a multiple of 8 with AVX2, else none.
func finite32(x []float32) (finite bool, done int) {
	switch n := len(x); {
	case n > 0 && hasAVX512:
		return sfinite(unsafe.Pointer(&x[0]), n), n
	case n >= 8 && hasAVX2:
		return finiteAVX2(unsafe.Pointer(&x[0]), n/8*8), n / 8 * 8
	}
	return true, 0
}

//go:noescape
func sdotNT1x8(k int, a, b unsafe.Pointer, ldb uintptr, c, bias unsafe.Pointer, masks uint32, alpha, floor float32)

// Blocking of the AVX-512 kernels: the depth of a block of the product
// (so that a panel of B, 32 columns by kcAVX rows or 32 rows by kcAVX
// columns, stays in the 32 KiB or more of L1), and the rows of B that
// the A·Bᵀ kernel keeps while four rows of A at a time go past them.
const (
	kcAVX   = 256
	ntBlock = 16
)

// sgemmAsm computes C = alpha·op(A)·op(B) + beta·C for float32 with the
// assembly kernels (AVX-512, else AVX2), with the epilogue of gemm, split
// across threads when allowed and large enough, and reports whether it
// did: not on machines without either, nor for Aᵀ·Bᵀ. The sizes are
// checked and non-zero.
func sgemmAsm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, relu bool) bool {
	if !(hasAVX512 || hasAVX2) || (transA && transB) {
		return false
	}
	if beta != 0 && beta != 1 {
		scaleC(m, n, beta, c, ldc, nil, false)
		beta = 1
	}
	small := smallProduct(transB, m, n, k)
	// The cheap test of sgemmParallel first, here: a call with all these
	// arguments costs a small product (a batch-1 layer) several percent.
	if Threads() > 1 && m*n*k >= parallelMin && n >= 64 && sgemmParallel(small, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu) {
		return true
	}
	sgemmCols(small, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu)
	return true
}

// smallT is the largest B (n·k elements) that the A·Bᵀ product transposes
// for more than 4 rows of A: its transposition costs little.
const smallT = 1024

// smallProduct reports whether the AVX-512 kernels compute A·Bᵀ by
// transposing B on the stack (sgemmNNt): for a small B and more than 4
// rows of A, or more than 32 for a B of more than smallT elements. The
// transposition is a scalar pass over B, which the rows of A must
// amortise: a GPT of width 64 at batch 1 and context 16
// ([16, 64]·[64, 64]ᵀ and [16, 64]·[256, 64]ᵀ, bench/models/gpt_sample.nn)
// spent most of its forward pass transposing, and took 0.25–0.30 ms of
// processor time per forward with the dot products against 1.0–1.2 ms
// (when the threshold was 4 rows).
func smallProduct(transB bool, m, n, k int) bool {
	return transB && n*k <= smallNT && (m > 32 || m > 4 && n*k <= smallT)
}

// sgemmCols is sgemmAsm on the calling goroutine, beta 0 or 1, for all the
// columns of a product or some of them: the AVX-512 kernels, or the AVX2
// ones on machines without AVX-512. small is smallProduct of the whole
// product, so that its blocks of columns use the kernel it would (the
// kernels sum in different orders).
func sgemmCols(small, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, relu bool) {
	if !hasAVX512 {
		sgemmAVX2(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu)
		return
	}
	if small {
		// Stack buffers sized to the product: zeroing the largest for a
		// 10×10 weight would cost more than the product.
		switch {
		case n*k <= 256:
			var bt [256]float32
			sgemmNNt(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu, bt[:n*k])
		case n*k <= 1024:
			var bt [1024]float32
			sgemmNNt(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu, bt[:n*k])
		case n*k <= 4096:
			var bt [4096]float32
			sgemmNNt(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu, bt[:n*k])
		default:
			var bt [smallNT]float32
			sgemmNNt(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu, bt[:n*k])
		}
	} else if transB && m <= gemvRows && n >= gemvMin {
		gemvNT(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu)
	} else if transB {
		sgemmNT(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu)
	} else {
		sgemmNN(transA, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu)
	}
}

// depthBlock returns the depth of the blocks k is cut into: as even as
// possible, none deeper than kcAVX.
func depthBlock(k int) int {
	blocks := (k + kcAVX - 1) / kcAVX
	return (k + blocks - 1) / blocks
}

// lanes returns the mask of the first n of 16 lanes (n may be out of 0..16).
func lanes(n int) uint64 {
	return uint64(1)<<uint(min(max(n, 0), 16)) - 1
}

// sgemmNN is C = alpha·op(A)·B + beta·C (beta 0 or 1) by 8×32 tiles, A and
// B read in place, a block of kcAVX rows of B at a time.
func sgemmNN(transA bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, relu bool) {
	const f = 4 // bytes in a float32
	// A(i, p) is at a[i*ri + p*rp].
	ri, rp := lda, 1
	if transA {
		ri, rp = 1, lda
	}
	kcb := depthBlock(k)
	var ap [8]unsafe.Pointer
	for pc := 0; pc < k; pc += kcb {
		kb := min(kcb, k-pc)
		last := pc+kb == k
		floor := float32(math.Inf(-1))
		if relu && last {
			floor = 0
		}
		for j := 0; j < n; j += 32 {
			cols := n - j
			store := lanes(cols) | lanes(cols-16)<<16
			masks := store
			if pc > 0 || beta != 0 {
				masks |= store << 32
			}
			biasPtr, bmask := unsafe.Pointer(&c[0]), uint32(0)
			if bias != nil && last {
				biasPtr, bmask = unsafe.Pointer(&bias[j]), uint32(store)
			}
			bp := unsafe.Pointer(&b[pc*ldb+j])
			for i := 0; i < m; i += 8 {
				rows := min(8, m-i)
				// Rows past m repeat the last one; they are not stored.
				p0 := unsafe.Pointer(&a[i*ri+pc*rp])
				_ = a[(i+rows-1)*ri+pc*rp] // the last row read is in a
				for r := range ap {
					ap[r] = unsafe.Add(p0, min(r, rows-1)*ri*f)
				}
				sgemmNN8x32(kb, ap[0], ap[1], ap[2], ap[3], ap[4], ap[5], ap[6], ap[7], uintptr(rp*f), bp, uintptr(ldb*f), unsafe.Pointer(&c[i*ldc+j]), uintptr(ldc*f), biasPtr, masks, rows, bmask, alpha, floor)
			}
		}
	}
}

// smallNT is the largest B (n·k elements) that the A·Bᵀ product transposes
// on the stack to run as A·(Bᵀ) with the 8×32 kernel: for small weight
// matrices, dot products of short rows cost more in their sums across
// lanes than the transposition. Up to 64×256, a GPT's MLP of width 64:
// on [512, 64]·[256, 64]ᵀ (examples/names.nn at batch 32) the 8×32 kernel
// after the transpose took about half the dot products' time, and less
// than theirs on [512, 256]·[64, 256]ᵀ and [512, 64]·[80, 64]ᵀ.
const smallNT = 16384

// sgemmNNt is C = alpha·A·Bᵀ + beta·C through bt, which receives Bᵀ.
func sgemmNNt(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, relu bool, bt []float32) {
	transposeRows(bt, b, n, k, ldb)
	sgemmNN(false, m, n, k, alpha, a, lda, bt, n, beta, c, ldc, bias, relu)
}

// transposeRows sets bt, k×n, to the transpose of the n×k matrix b (rows
// ldb apart): eight rows of b at a time, so that b is read in eight
// sequential streams and bt written 32 bytes at a time (one row of b at a
// time wrote each float n floats from the last, which cost a small
// product as much as its arithmetic).
func transposeRows(bt, b []float32, n, k, ldb int) {
	bt = bt[:n*k]
	j := 0
	for ; j+8 <= n; j += 8 {
		r0 := b[j*ldb : j*ldb+k]
		r1 := b[(j+1)*ldb:][:len(r0)]
		r2 := b[(j+2)*ldb:][:len(r0)]
		r3 := b[(j+3)*ldb:][:len(r0)]
		r4 := b[(j+4)*ldb:][:len(r0)]
		r5 := b[(j+5)*ldb:][:len(r0)]
		r6 := b[(j+6)*ldb:][:len(r0)]
		r7 := b[(j+7)*ldb:][:len(r0)]
		// The multiple of 8 of the columns by 8×8 blocks in registers.
		k8 := k / 8 * 8
		if k8 > 0 {
			stranspose8(unsafe.Pointer(&bt[j]), unsafe.Pointer(&r0[0]), k8, uintptr(ldb*4), uintptr(n*4))
		}
		for p := k8; p < k; p++ {
			o := bt[p*n+j : p*n+j+8 : p*n+j+8]
			o[0], o[1], o[2], o[3] = r0[p], r1[p], r2[p], r3[p]
			o[4], o[5], o[6], o[7] = r4[p], r5[p], r6[p], r7[p]
		}
	}
	for ; j < n; j++ {
		for p, v := range b[j*ldb : j*ldb+k] {
			bt[p*n+j] = v
		}
	}
}

// sgemmNT is C = alpha·A·Bᵀ + beta·C (beta 0 or 1) as dot products of whole
// rows: 4×4 tiles for B's rows a block at a time, and the rows of A past a
// multiple of four against eight rows of B at a time.
func sgemmNT(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, relu bool) {
	floor := float32(math.Inf(-1))
	if relu {
		floor = 0
	}
	// masks returns the lanes of the kernels' masks for the columns from
	// j0 (inclusive) to j1 (exclusive) of a tile starting at column j.
	masks := func(j, j0, j1 int) (uint32, unsafe.Pointer) {
		store := uint32(1)<<uint(j1-j) - uint32(1)<<uint(j0-j)
		m := store
		if beta != 0 {
			m |= store << 8
		}
		if bias == nil {
			return m, unsafe.Pointer(&c[0])
		}
		return m | store<<16, unsafe.Pointer(&bias[j])
	}
	ldcB, ldbB := uintptr(ldc*4), uintptr(ldb*4)
	m4 := m / 4 * 4
	for jb := 0; jb < n; jb += ntBlock {
		jn := min(jb+ntBlock, n)
		for i := 0; i < m4; i += 4 {
			a0 := unsafe.Pointer(&a[i*lda])
			a1 := unsafe.Pointer(&a[(i+1)*lda])
			a2 := unsafe.Pointer(&a[(i+2)*lda])
			a3 := unsafe.Pointer(&a[(i+3)*lda])
			for j := jb; j < jn; j += 4 {
				// Columns past n repeat the last one and are not stored.
				last := min(4, jn-j) - 1
				b0, b1, b2, b3 := rows4(b, j, last, ldb)
				mk, bp := masks(j, j, j+last+1)
				sdotNT4x4(k, a0, a1, a2, a3, b0, b1, b2, b3, unsafe.Pointer(&c[i*ldc+j]), ldcB, bp, 4, mk, alpha, floor)
			}
		}
	}
	for i := m4; i < m; i++ {
		ai := unsafe.Pointer(&a[i*lda])
		if n < 8 {
			// Fewer than eight rows of B in all: a 4×4 tile, the row of A
			// repeated and only its first row stored.
			for j := 0; j < n; j += 4 {
				last := min(4, n-j) - 1
				b0, b1, b2, b3 := rows4(b, j, last, ldb)
				mk, bp := masks(j, j, j+last+1)
				sdotNT4x4(k, ai, ai, ai, ai, b0, b1, b2, b3, unsafe.Pointer(&c[i*ldc+j]), 0, bp, 1, mk, alpha, floor)
			}
			continue
		}
		for j := 0; j < n; j += 8 {
			// The last eight may overlap columns already stored, which are
			// masked off.
			j0 := min(j, n-8)
			mk, bp := masks(j0, j, min(j+8, n))
			sdotNT1x8(k, ai, unsafe.Pointer(&b[j0*ldb]), ldbB, unsafe.Pointer(&c[i*ldc+j0]), bp, mk, alpha, floor)
		}
	}
}

// rows4 returns pointers to rows j to j+3 of b (row stride ldb), those past
// j+last repeating row j+last.
func rows4(b []float32, j, last, ldb int) (r0, r1, r2, r3 unsafe.Pointer) {
	return unsafe.Pointer(&b[j*ldb]), unsafe.Pointer(&b[(j+min(1, last))*ldb]),
		unsafe.Pointer(&b[(j+min(2, last))*ldb]), unsafe.Pointer(&b[(j+min(3, last))*ldb])
}
