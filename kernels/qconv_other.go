//go:build !amd64 || purego

package kernels

// qconvTile is never called: hasVNNI is false in this build.
func qconvTile(in []uint8, taps []int32, w []uint8, acc []int32, ldacc, nk, n int) {
	panic("kernels: qconvTile without AVX-512 VNNI")
}

// qconvTileRequant is never called: hasVNNI is false in this build.
func qconvTileRequant(in []uint8, taps []int32, w []uint8, out []uint8, ldout, nk, n int, bias, mults []int32, zp, lo float32) {
	panic("kernels: qconvTileRequant without AVX-512 VNNI")
}

// qmaxPool2x2Asm reports that it did nothing: the portable loop runs.
func qmaxPool2x2Asm(dst, x []uint8, rows, w, ow int) bool { return false }

// qconvWords is never called: hasVNNI is false in this build.
func qconvWords(dst, a, b, c, d []uint8, n int) {
	panic("kernels: qconvWords without AVX-512")
}
