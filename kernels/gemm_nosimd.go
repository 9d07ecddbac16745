//go:build !(goexperiment.simd && amd64)

package kernels

// hasSIMD is false: this build has the portable kernels only.
const hasSIMD = false

// gemmSIMD reports that it did nothing: the portable GEMM runs.
func gemmSIMD(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	return false
}
