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

// quantize32 quantizes x into dst with AVX-512 and reports whether it did.
func quantize32(dst []uint8, x []float32, inv, zp float32) bool {
	if !hasAVX512 || len(x) == 0 {
		return false
	}
	quantizeAVX512(&dst[0], &x[0], len(x), inv, zp)
	return true
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
func qbcastUS(k4 int, a0, a1, a2, a3, b0, b1 unsafe.Pointer, acc *[4 * 32]int32)

//go:noescape
func qbcastSU(k4 int, a0, a1, a2, a3, b0, b1 unsafe.Pointer, acc *[4 * 32]int32)

// qbcastTile computes acc[ii*32+c] = Σ_g Σ_t a[ii*lda + 4g + t]·B[4g+t, c]
// for the rows < rows of a (padded to k4·4 bytes each) and the one or two
// packed column blocks of bp (block stride k4·64 bytes); signedA says that
// a holds int8 weights and B uint8 activations, else the reverse.
func qbcastTile(acc *[4 * 32]int32, signedA bool, k4 int, a []byte, lda, rows int, bp []byte, blocks int) {
	var ap [4]unsafe.Pointer
	for ii := range 4 {
		ap[ii] = unsafe.Pointer(&a[min(ii, rows-1)*lda])
	}
	b0 := unsafe.Pointer(&bp[0])
	b1 := b0
	if blocks > 1 {
		b1 = unsafe.Pointer(&bp[k4*64])
	}
	if signedA {
		qbcastSU(k4, ap[0], ap[1], ap[2], ap[3], b0, b1, acc)
	} else {
		qbcastUS(k4, ap[0], ap[1], ap[2], ap[3], b0, b1, acc)
	}
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
