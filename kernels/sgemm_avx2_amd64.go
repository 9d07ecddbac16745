//go:build amd64 && !purego

package kernels

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// hasAVX2 reports whether the float32 GEMM may use the AVX2 and FMA kernels
// of sgemm_avx2_amd64.s, for machines without AVX-512. Tests turn it off.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && kernelsAllowed("avx2")

//go:noescape
func sgemmNN6x16(k int, a0, a1, a2, a3, a4, a5 unsafe.Pointer, astep uintptr, b unsafe.Pointer, bstep uintptr, tile *[96]float32)

//go:noescape
func sdotNT1x8AVX2(k int, a, b unsafe.Pointer, ldb uintptr, out *[8]float32)

//go:noescape
func sdotNT4x3(k int, a0, a1, a2, a3, b0, b1, b2 unsafe.Pointer, out *[12]float32)

// sgemmAVX2 is sgemmCols with the AVX2 kernels, on machines without
// AVX-512: C = alpha·op(A)·op(B) + beta·C with gemm's epilogue, beta 0 or 1
// and not Aᵀ·Bᵀ (sgemmAsm sees to both).
func sgemmAVX2(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, relu bool) {
	e := epi{alpha: alpha, c: c, ldc: ldc, bias: bias, relu: relu}
	if transB {
		avx2NT(m, n, k, a, lda, b, ldb, beta != 0, e)
	} else {
		avx2NN(transA, m, n, k, a, lda, b, ldb, beta != 0, e)
	}
}

// epi finishes elements of C from sums: alpha·sum, plus C when it is read,
// then on the last block of the product the bias and ReLU.
type epi struct {
	alpha float32
	c     []float32
	ldc   int
	bias  []float32
	relu  bool
}

func (e *epi) put(i, j int, sum float32, read, last bool) {
	at := i*e.ldc + j
	v := e.alpha * sum
	if read {
		v += e.c[at]
	}
	if last {
		if e.bias != nil {
			v += e.bias[j]
		}
		if e.relu && v < 0 {
			v = 0
		}
	}
	e.c[at] = v
}

// avx2NN is C = alpha·op(A)·B (+ C when read) by 6×16 tiles, blocks of
// kcAVX rows of B; a last panel of fewer than 16 columns is copied into a
// zero-padded buffer first.
func avx2NN(transA bool, m, n, k int, a []float32, lda int, b []float32, ldb int, read bool, e epi) {
	ri, rp := lda, 1
	if transA {
		ri, rp = 1, lda
	}
	kcb := depthBlock(k)
	var tile [96]float32
	var ap [6]unsafe.Pointer
	for pc := 0; pc < k; pc += kcb {
		kb := min(kcb, k-pc)
		last := pc+kb == k
		rd := read || pc > 0
		for j := 0; j < n; j += 16 {
			cols := min(16, n-j)
			if cols < 16 {
				avx2NNEdge(ri, rp, m, kb, pc, a, b[pc*ldb+j:], ldb, cols, j, rd, last, &e)
				continue
			}
			bp := unsafe.Pointer(&b[pc*ldb+j])
			for i := 0; i < m; i += 6 {
				rows := min(6, m-i)
				for r := range ap {
					ap[r] = unsafe.Pointer(&a[(i+min(r, rows-1))*ri+pc*rp])
				}
				sgemmNN6x16(kb, ap[0], ap[1], ap[2], ap[3], ap[4], ap[5], uintptr(rp*4), bp, uintptr(ldb*4), &tile)
				for r := range rows {
					for jj := range 16 {
						e.put(i+r, j+jj, tile[r*16+jj], rd, last)
					}
				}
			}
		}
	}
}

// avx2NNEdge is avx2NN's last panel, cols < 16 columns of B (b at its
// first element) padded with zeros to 16.
func avx2NNEdge(ri, rp, m, kb, pc int, a, b []float32, ldb, cols, j int, read, last bool, e *epi) {
	var panel [kcAVX * 16]float32
	for p := range kb {
		copy(panel[p*16:p*16+cols], b[p*ldb:p*ldb+cols])
	}
	var tile [96]float32
	var ap [6]unsafe.Pointer
	for i := 0; i < m; i += 6 {
		rows := min(6, m-i)
		for r := range ap {
			ap[r] = unsafe.Pointer(&a[(i+min(r, rows-1))*ri+pc*rp])
		}
		sgemmNN6x16(kb, ap[0], ap[1], ap[2], ap[3], ap[4], ap[5], uintptr(rp*4), unsafe.Pointer(&panel[0]), 64, &tile)
		for r := range rows {
			for jj := range cols {
				e.put(i+r, j+jj, tile[r*16+jj], read, last)
			}
		}
	}
}

// avx2NT is C = alpha·A·Bᵀ (+ C when read) as dot products of whole rows:
// fewer than four rows of A against eight rows of B at a time, else 4×3
// tiles (rows and columns past the edges repeat the last one and are
// not stored); the kernel takes the first multiple of 8 of k and Go the
// rest.
func avx2NT(m, n, k int, a []float32, lda int, b []float32, ldb int, read bool, e epi) {
	var out [12]float32
	k8 := k / 8 * 8
	if m < 4 && n >= 8 && k8 > 0 {
		// A few rows (batch-1 inference): each against eight rows of B
		// at a time, the last eight overlapping columns already done.
		var o8 [8]float32
		for i := range m {
			ai := a[i*lda:][:k]
			for j := 0; j < n; j += 8 {
				j0 := min(j, n-8)
				sdotNT1x8AVX2(k8, unsafe.Pointer(&ai[0]), unsafe.Pointer(&b[j0*ldb]), uintptr(ldb*4), &o8)
				for jj := j; jj < min(j+8, n); jj++ {
					s := o8[jj-j0]
					bj := b[jj*ldb:][:k]
					for p := k8; p < k; p++ {
						s += ai[p] * bj[p]
					}
					e.put(i, jj, s, read, true)
				}
			}
		}
		return
	}
	for i := 0; i < m; i += 4 {
		rows := min(4, m-i)
		var ar [4][]float32
		for r := range ar {
			ar[r] = a[(i+min(r, rows-1))*lda:][:k]
		}
		for j := 0; j < n; j += 3 {
			cols := min(3, n-j)
			var br [3][]float32
			for c := range br {
				br[c] = b[(j+min(c, cols-1))*ldb:][:k]
			}
			if k8 > 0 {
				sdotNT4x3(k8, unsafe.Pointer(&ar[0][0]), unsafe.Pointer(&ar[1][0]), unsafe.Pointer(&ar[2][0]), unsafe.Pointer(&ar[3][0]),
					unsafe.Pointer(&br[0][0]), unsafe.Pointer(&br[1][0]), unsafe.Pointer(&br[2][0]), &out)
			}
			for r := range rows {
				for c := range cols {
					s := float32(0)
					if k8 > 0 {
						s = out[r*3+c]
					}
					for p := k8; p < k; p++ {
						s += ar[r][p] * br[c][p]
					}
					e.put(i+r, j+c, s, read, true)
				}
			}
		}
	}
}
