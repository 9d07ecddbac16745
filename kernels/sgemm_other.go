//go:build !amd64 || purego

package kernels

// hasAVX512 is false: this build has no AVX-512 kernels.
var hasAVX512 = false

// hasAVX2 is false: this build has no AVX2 kernels.
var hasAVX2 = false

// sgemmAsm reports that it did nothing: the portable GEMM runs.
func sgemmAsm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, relu bool) bool {
	return false
}

// finite32 checks nothing: the portable loop runs.
func finite32(x []float32) (finite bool, done int) { return true, 0 }

// The vector loops of elem_amd64.go report that they did not run.

func relu32(dst, x []float32) bool               { return false }
func reluGrad32(dx, dy, x []float32) int         { return 0 }
func axpy32(dst, x, y []float32, a float32) bool { return false }
func colSum32(dst, src []float32) bool           { return false }

func adamM32(dst, m, g []float32, weight float32) int                             { return 0 }
func adamV32(dst, v, g []float32, b2, one float32) int                            { return 0 }
func adamStep32(dst, p, m, v []float32, negStep, bc2Sqrt, eps, decay float32) int { return 0 }

func softmaxRows16(p []float32, rows, s int, causal bool) bool { return false }

func attnGradRows16(ds, p []float32, rows, s int, scale float64) bool { return false }

func sum64f32(x []float32) (float64, bool)                             { return 0, false }
func sumSqDev32(x []float32, mu float64) (float64, bool)               { return 0, false }
func dyXhat32(dy, x []float32, mu, is float64) (a, b float64, ok bool) { return 0, 0, false }

func lnOut32(dst, x, w, b []float32, mu, r float64) bool           { return false }
func lnGradRow32(dx, dy, x, w []float32, mu, r, invD float64) bool { return false }
func lnGradW32(dw, dy, x, mean, rstd []float32, rows, d int) bool  { return false }

func im2colBlock32(out, plane []float32, oh, ow, h, w, kh, kw, pad int) bool { return false }

func col2imBlock32(plane, g []float32, oh, ow, h, w, kh, kw, pad int) bool { return false }

func col2imPlane32(plane, cols []float32, oh, ow, h, w, kh, kw, pad int) bool { return false }

func affine32(dst, x []float32, a, b float32) bool                     { return false }
func bnGradX32(dx, dy, x []float32, mu, is, mdy, mdyx, k float64) bool { return false }

func maxPool2x2Rows32(dst []float32, idx []int32, r0, r1 []float32, ow, base, w int) bool {
	return false
}

// sgemmCols is never called: no product is split without the assembly
// kernels.
func sgemmCols(small, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, relu bool) {
	panic("kernels: sgemmCols without the assembly kernels")
}

// qdotTileAsm reports that it did nothing: the portable int8 tile runs.
func qdotTileAsm(acc *[qtile * qtile]int32, k int, a []uint8, lda int, b []int8, ldb int, rows, cols int) bool {
	return false
}

// hasVNNI is false: this build has no int8 assembly kernels.
var hasVNNI = false

// quantize32 does nothing: Quantize's loop runs.
func quantize32(dst []uint8, x []float32, inv, zp float32) int { return 0 }

// requantRowAsm reports that it did nothing: requantRow's loop runs.
func requantRowAsm(dst []uint8, acc []int32, bias int32, mult, zp, lo float32) bool { return false }

// qtileAsmPads reports false: the portable int8 tile reads the rows as
// they are.
func qtileAsmPads() bool { return false }

// qtileAsm reports that it did nothing: the portable int8 tile runs.
func qtileAsm(acc *[qrows * qgroup]int32, x []uint8, lda, rows, k4 int, wg []int8, c int) int {
	return 0
}

// requantColsAsm does nothing: requantCols's loop runs.
func requantColsAsm(dst []uint8, acc, bias []int32, mult []float32, zp, lo float32) int {
	return 0
}

// qmultsAsm sets nothing: the group's loop computes every multiplier.
func qmultsAsm(dst, wscale []float32, inScale, outScale float64) int { return 0 }
