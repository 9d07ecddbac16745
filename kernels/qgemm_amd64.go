//go:build amd64 && !purego

package kernels

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// hasVNNI reports whether the int8 tiles may use AVX-512 VNNI
// (VPDPBUSD), with AVX-512 BW for the masked loads of the last bytes: the
// avx512 level of NNC_KERNELS.
var hasVNNI = hasAVX512 && cpu.X86.HasAVX512VNNI && cpu.X86.HasAVX512BW

//go:noescape
func quantizeAVX512(dst *uint8, x *float32, n int, inv, zp float32)

//go:noescape
func quantizeAVX2(dst *uint8, x *float32, n int, inv, zp float32)

// quantize32 quantizes x into dst with AVX-512, or the first len(x)/8·8
// with AVX2, and returns how many it did.
func quantize32(dst []uint8, x []float32, inv, zp float32) int {
	switch {
	case len(x) == 0:
		return 0
	case hasAVX512:
		_ = dst[len(x)-1]
		quantizeAVX512(&dst[0], &x[0], len(x), inv, zp)
		return len(x)
	case hasAVX2 && len(x) >= 8:
		n := len(x) / 8 * 8
		_ = dst[n-1]
		quantizeAVX2(&dst[0], &x[0], n, inv, zp)
		return n
	}
	return 0
}

//go:noescape
func qdot4x4VNNI(k int, a0, a1, a2, a3, b0, b1, b2, b3 unsafe.Pointer, acc *[qtile * qtile]int32)

//go:noescape
func qdot1x4VNNI(k int, a0, b0, b1, b2, b3 unsafe.Pointer, acc *[qtile * qtile]int32)

// qdotTileAsm runs the int8 tile with the assembly kernels when the CPU
// has them; it reports false otherwise. Rows and columns past the tile's
// are computed from its first ones, and dropped.
func qdotTileAsm(acc *[qtile * qtile]int32, k int, a []uint8, lda int, b []int8, ldb int, rows, cols int) bool {
	if !hasVNNI && hasAVX2 && k >= 16 {
		qdotTileAVX2(acc, k, a, lda, b, ldb, rows, cols)
		return true
	}
	if !hasVNNI || k == 0 {
		return false
	}
	var bp [qtile]unsafe.Pointer
	for jj := range qtile {
		if jj < cols {
			bp[jj] = unsafe.Pointer(&b[jj*ldb])
		} else {
			bp[jj] = unsafe.Pointer(&b[0])
		}
	}
	if rows == 1 {
		qdot1x4VNNI(k, unsafe.Pointer(&a[0]), bp[0], bp[1], bp[2], bp[3], acc)
		return true
	}
	var ap [qtile]unsafe.Pointer
	for ii := range qtile {
		if ii < rows {
			ap[ii] = unsafe.Pointer(&a[ii*lda])
		} else {
			ap[ii] = unsafe.Pointer(&a[0])
		}
	}
	qdot4x4VNNI(k, ap[0], ap[1], ap[2], ap[3], bp[0], bp[1], bp[2], bp[3], acc)
	return true
}

//go:noescape
func qdot2x4AVX2(k int, a0, a1, b0, b1, b2, b3 unsafe.Pointer, acc *[qtile * qtile]int32)

// qdotTileAVX2 is the tile with AVX2: two rows at a time over the first
// k/16·16 bytes, the rest in Go.
func qdotTileAVX2(acc *[qtile * qtile]int32, k int, a []uint8, lda int, b []int8, ldb int, rows, cols int) {
	k16 := k / 16 * 16
	var bp [qtile]unsafe.Pointer
	for jj := range qtile {
		bp[jj] = unsafe.Pointer(&b[min(jj, cols-1)*ldb])
	}
	var t [qtile * qtile]int32
	for ii := 0; ii < rows; ii += 2 {
		a0 := unsafe.Pointer(&a[ii*lda])
		a1 := unsafe.Pointer(&a[min(ii+1, rows-1)*lda])
		qdot2x4AVX2(k16, a0, a1, bp[0], bp[1], bp[2], bp[3], &t)
		copy(acc[ii*qtile:ii*qtile+qtile], t[:qtile])
		if ii+1 < rows {
			copy(acc[(ii+1)*qtile:(ii+1)*qtile+qtile], t[qtile:2*qtile])
		}
	}
	if k16 == k {
		return
	}
	for ii := range rows {
		ar := a[ii*lda+k16 : ii*lda+k]
		for jj := range cols {
			br := b[jj*ldb+k16 : jj*ldb+k]
			s := acc[ii*qtile+jj]
			for r, x := range ar {
				s += int32(x) * int32(br[r])
			}
			acc[ii*qtile+jj] = s
		}
	}
}

//go:noescape
func requantAVX512(dst *uint8, acc *int32, n int, bias int32, mult, zp, lo float32)

// requantRowAsm requantizes with AVX-512 and reports whether it did.
func requantRowAsm(dst []uint8, acc []int32, bias int32, mult, zp, lo float32) bool {
	if !hasAVX512 || len(acc) == 0 {
		return false
	}
	_ = dst[len(acc)-1]
	requantAVX512(&dst[0], &acc[0], len(acc), bias, mult, zp, lo)
	return true
}

//go:noescape
func qmk6VNNI(k4 int, a0, a1, a2, a3, a4, a5, w unsafe.Pointer, step, o1, o2, o3 int, acc *[qrows * qgroup]int32)

//go:noescape
func qmk1VNNI(k4 int, a0, w unsafe.Pointer, step, o1, o2, o3 int, acc *[qrows * qgroup]int32)

// qtileAsmPads reports whether qtileAsm reads the rows of x four bytes at
// a time, so that they must be padded to a multiple of four.
func qtileAsmPads() bool { return hasVNNI || hasAVX2 }

// qtileAsm is qlinTile with AVX-512 VNNI: one row against the group's up to
// four blocks of 16 outputs (a GEMV that streams the packed weights once),
// one row at a time up to two, else six rows at a time, the rows past the tile's computed from its first
// and dropped. It returns the rows it did, 0 when the CPU has no VNNI.
// The rows of x are readable to k4·4 bytes.
func qtileAsm(acc *[qrows * qgroup]int32, x []uint8, lda, rows, k4 int, wg []int8, c int) int {
	if !hasVNNI {
		if hasAVX2 {
			return qtileAVX2(acc, x, k4, wg, c)
		}
		return 0
	}
	// The group's blocks at offsets 0, o1, o2, o3 of each run of four
	// inputs, the missing ones read from the first.
	nb := c / 16
	o1, o2, o3 := min(1, nb-1)*64, min(2, nb-1)*64, min(3, nb-1)*64
	w := unsafe.Pointer(&wg[0])
	if rows <= 2 {
		qmk1VNNI(k4, unsafe.Pointer(&x[0]), w, c*4, o1, o2, o3, acc)
		return 1
	}
	var ap [qrows]unsafe.Pointer
	for ii := range qrows {
		ap[ii] = unsafe.Pointer(&x[min(ii, rows-1)*lda])
	}
	qmk6VNNI(k4, ap[0], ap[1], ap[2], ap[3], ap[4], ap[5], w, c*4, o1, o2, o3, acc)
	return rows
}

//go:noescape
func requantColsAVX512(dst *uint8, acc *int32, n int, bias *int32, mult *float32, zp, lo float32)

//go:noescape
func requantColsAVX2(dst *uint8, acc *int32, n int, bias *int32, mult *float32, zp, lo float32)

// requantColsAsm requantizes with AVX-512, or the first len(acc)/8·8 with
// AVX2, and returns how many it did.
func requantColsAsm(dst []uint8, acc, bias []int32, mult []float32, zp, lo float32) int {
	n := len(acc)
	if !hasAVX512 {
		n = n / 8 * 8
	}
	if n == 0 || !hasAVX512 && !hasAVX2 {
		return 0
	}
	_, _, _ = dst[n-1], bias[n-1], mult[n-1]
	if hasAVX512 {
		requantColsAVX512(&dst[0], &acc[0], n, &bias[0], &mult[0], zp, lo)
	} else {
		requantColsAVX2(&dst[0], &acc[0], n, &bias[0], &mult[0], zp, lo)
	}
	return n
}

//go:noescape
func qmultsAVX512(dst *float32, wscale *float32, n int, inScale, outScale float64)

// qmultsAsm sets dst[i] to float32(inScale·float64(wscale[i])/outScale)
// with AVX-512 for the first len(dst)/8·8 and returns how many it set.
func qmultsAsm(dst, wscale []float32, inScale, outScale float64) int {
	n := len(dst) / 8 * 8
	if !hasAVX512 || n == 0 {
		return 0
	}
	_ = wscale[n-1]
	qmultsAVX512(&dst[0], &wscale[0], n, inScale, outScale)
	return n
}

//go:noescape
func qmk1AVX2(k4 int, a0, w unsafe.Pointer, step, o0, o1 int, acc *[32]int32)

// qtileAVX2 is qtileAsm with AVX2: one row, two blocks of 16 outputs at a
// time (a missing second block read from the first, its sums landing past
// the group's outputs in acc, and dropped).
func qtileAVX2(acc *[qrows * qgroup]int32, x []uint8, k4 int, wg []int8, c int) int {
	nb := c / 16
	for b := 0; b < nb; b += 2 {
		qmk1AVX2(k4, unsafe.Pointer(&x[0]), unsafe.Pointer(&wg[0]), c*4, b*64, min(b+1, nb-1)*64, (*[32]int32)(acc[b*16:b*16+32]))
	}
	return 1
}
