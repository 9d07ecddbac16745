//go:build amd64 && !purego

package kernels

// qdotTileAsm runs the int8 tile with the assembly kernels when the CPU
// has them; it reports false otherwise.
func qdotTileAsm(acc *[qtile * qtile]int32, k int, a []uint8, lda int, b []int8, ldb int, rows, cols int) bool {
	return false
}
