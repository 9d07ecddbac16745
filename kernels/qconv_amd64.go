//go:build amd64 && !purego

package kernels

import "unsafe"

//go:noescape
func qconvTileVNNI(in unsafe.Pointer, taps *int32, ntaps int, w, out unsafe.Pointer, ldout, nk int, mask uint16, bias *int32, mults *int32, zp, lo float32)

// qconvTile runs the direct convolution's kernel for the n ≤ 16 output
// pixels from in's and the nk ≤ 16 output channels of the packed block w,
// into acc[k·ldacc + l]. The callers check that in holds the largest tap
// and a vector past it.
func qconvTile(in []uint8, taps []int32, w []uint8, acc []int32, ldacc, nk, n int) {
	_ = acc[(nk-1)*ldacc+n-1]
	qconvTileVNNI(unsafe.Pointer(&in[0]), &taps[0], len(taps), unsafe.Pointer(&w[0]), unsafe.Pointer(&acc[0]), ldacc, nk, uint16(1)<<n-1, nil, nil, 0, 0)
}

// qconvTileRequant is qconvTile storing requant(acc + bias[k], mults[k]
// (float32 bits), zp, lo) as bytes into out[k·ldout + l].
func qconvTileRequant(in []uint8, taps []int32, w []uint8, out []uint8, ldout, nk, n int, bias, mults []int32, zp, lo float32) {
	_ = out[(nk-1)*ldout+n-1]
	_, _ = bias[nk-1], mults[nk-1]
	qconvTileVNNI(unsafe.Pointer(&in[0]), &taps[0], len(taps), unsafe.Pointer(&w[0]), unsafe.Pointer(&out[0]), ldout, nk, uint16(1)<<n-1, &bias[0], &mults[0], zp, lo)
}

//go:noescape
func qmaxPool2x2AVX512(dst, x *uint8, rows, w, ow int)

// qmaxPool2x2Asm pools 2×2 windows at stride 2 of the rows pairs of rows
// of w bytes of x into rows rows of ow bytes of dst with AVX-512 BW, and
// reports whether it did.
func qmaxPool2x2Asm(dst, x []uint8, rows, w, ow int) bool {
	if !hasVNNI || rows == 0 || ow == 0 {
		return false
	}
	_ = x[(2*rows-1)*w+2*ow-1]
	_ = dst[rows*ow-1]
	qmaxPool2x2AVX512(&dst[0], &x[0], rows, w, ow)
	return true
}

//go:noescape
func qconvWordsAVX512(dst *uint32, a, b, c, d *uint8, n int)

// qconvWords sets the n words of dst (4n bytes) to a[i] | b[i]<<8 |
// c[i]<<16 | d[i]<<24; the direct path's layout, which runs only with
// AVX-512.
func qconvWords(dst, a, b, c, d []uint8, n int) {
	if n == 0 {
		return
	}
	_, _, _, _, _ = dst[4*n-1], a[n-1], b[n-1], c[n-1], d[n-1]
	qconvWordsAVX512((*uint32)(unsafe.Pointer(&dst[0])), &a[0], &b[0], &c[0], &d[0], n)
}
