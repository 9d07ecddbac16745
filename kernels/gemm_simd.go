//go:build goexperiment.simd && amd64

package kernels

import "simd/archsimd"

// The float32 GEMM of AVX2 and FMA through simd/archsimd, for builds with
// GOEXPERIMENT=simd on amd64 machines that have them: a 4×16 micro-tile
// held in eight 8-wide registers, over panels of A (4 rows interleaved) and
// B (16 columns interleaved) packed for each kc-deep block. Other builds
// and machines use the portable kernel.

const (
	smr = 4   // rows of a micro-tile
	snr = 16  // columns of a micro-tile: two vectors of 8
	skc = 192 // depth of a packed block
	smc = 96  // rows of A packed at once
	snc = 160 // columns of B packed at once
)

var hasSIMD = archsimd.X86.AVX2() && archsimd.X86.FMA()

// gemmSIMD computes C = alpha·op(A)·op(B) + beta·C for float32 and reports
// whether it did: false when the machine lacks AVX2 or FMA.
func gemmSIMD(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	if !hasSIMD {
		return false
	}
	// C = beta·C first; the blocks then add into it. beta = 0 must not
	// read C, which may hold anything.
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
	var bp [skc * snc]float32
	var ap [smc * skc]float32
	for jc := 0; jc < n; jc += snc {
		nb := min(snc, n-jc)
		for pc := 0; pc < k; pc += skc {
			kb := min(skc, k-pc)
			packB16(bp[:], transB, b, ldb, pc, jc, kb, nb)
			for ic := 0; ic < m; ic += smc {
				mb := min(smc, m-ic)
				packA4(ap[:], transA, a, lda, ic, pc, mb, kb, alpha)
				for jr := 0; jr < nb; jr += snr {
					for ir := 0; ir < mb; ir += smr {
						micro4x16(kb, ap[ir*kb:], bp[jr*kb:], c, (ic+ir)*ldc+jc+jr, ldc, min(smr, mb-ir), min(snr, nb-jr))
					}
				}
			}
		}
	}
	return true
}

// packA4 copies alpha·op(A)[ic:ic+mb, pc:pc+kb] into panels of 4 rows,
// each laid out p-major (ap[panel·kb·4 + p·4 + r]), zero-padded.
func packA4(ap []float32, trans bool, a []float32, lda, ic, pc, mb, kb int, alpha float32) {
	for ir := 0; ir < mb; ir += smr {
		panel := ap[ir*kb : ir*kb+smr*kb]
		for r := 0; r < smr; r++ {
			if ir+r >= mb {
				for p := 0; p < kb; p++ {
					panel[p*smr+r] = 0
				}
				continue
			}
			i := ic + ir + r
			for p := 0; p < kb; p++ {
				var v float32
				if trans {
					v = a[(pc+p)*lda+i]
				} else {
					v = a[i*lda+pc+p]
				}
				panel[p*smr+r] = alpha * v
			}
		}
	}
}

// packB16 copies op(B)[pc:pc+kb, jc:jc+nb] into panels of 16 columns,
// each p-major (bp[panel·kb·16 + p·16 + j]), zero-padded.
func packB16(bp []float32, trans bool, b []float32, ldb, pc, jc, kb, nb int) {
	for jr := 0; jr < nb; jr += snr {
		panel := bp[jr*kb : jr*kb+snr*kb]
		w := min(snr, nb-jr)
		for p := 0; p < kb; p++ {
			dst := panel[p*snr : p*snr+snr]
			if trans {
				for j := 0; j < w; j++ {
					dst[j] = b[(jc+jr+j)*ldb+pc+p]
				}
			} else {
				copy(dst[:w], b[(pc+p)*ldb+jc+jr:(pc+p)*ldb+jc+jr+w])
			}
			clear(dst[w:])
		}
	}
}

// micro4x16 adds the 4×16 product of an A panel and a B panel to C at off
// (rows ldc apart); rows and cols say how much of the tile C has.
func micro4x16(kb int, ap, bp []float32, c []float32, off, ldc, rows, cols int) {
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x8
	ap = ap[:kb*smr]
	bp = bp[:kb*snr]
	for p := 0; p < kb; p++ {
		b0 := archsimd.LoadFloat32x8Slice(bp[p*snr:])
		b1 := archsimd.LoadFloat32x8Slice(bp[p*snr+8:])
		a := ap[p*smr : p*smr+smr]
		a0 := archsimd.BroadcastFloat32x8(a[0])
		c00 = a0.MulAdd(b0, c00)
		c01 = a0.MulAdd(b1, c01)
		a1 := archsimd.BroadcastFloat32x8(a[1])
		c10 = a1.MulAdd(b0, c10)
		c11 = a1.MulAdd(b1, c11)
		a2 := archsimd.BroadcastFloat32x8(a[2])
		c20 = a2.MulAdd(b0, c20)
		c21 = a2.MulAdd(b1, c21)
		a3 := archsimd.BroadcastFloat32x8(a[3])
		c30 = a3.MulAdd(b0, c30)
		c31 = a3.MulAdd(b1, c31)
	}
	acc := [smr][2]archsimd.Float32x8{{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}}
	if rows == smr && cols == snr {
		for r := 0; r < smr; r++ {
			row := c[off+r*ldc : off+r*ldc+snr]
			archsimd.LoadFloat32x8Slice(row).Add(acc[r][0]).StoreSlice(row)
			archsimd.LoadFloat32x8Slice(row[8:]).Add(acc[r][1]).StoreSlice(row[8:])
		}
		return
	}
	var tile [smr][snr]float32
	for r := 0; r < smr; r++ {
		acc[r][0].StoreSlice(tile[r][:8])
		acc[r][1].StoreSlice(tile[r][8:])
	}
	for r := 0; r < rows; r++ {
		row := c[off+r*ldc : off+r*ldc+cols]
		for j := range row {
			row[j] += tile[r][j]
		}
	}
}
