//go:build amd64 && !purego

package kernels

import "unsafe"

//go:noescape
func sgeluTanh(dst, x unsafe.Pointer, n int)

//go:noescape
func sgeluTanhGrad(dx, dy, x unsafe.Pointer, n int)

// geluTanhAsm runs geluTanh32's loop with AVX-512 and returns how many
// elements it did: all, or none without AVX-512.
func geluTanhAsm(dst, x []float32) int {
	if !hasAVX512 || len(dst) == 0 {
		return 0
	}
	sgeluTanh(unsafe.Pointer(&dst[0]), unsafe.Pointer(&x[0]), len(dst))
	return len(dst)
}

// geluTanhGradAsm runs geluTanhBackward32's loop with AVX-512 and returns
// how many elements it did: all, or none without AVX-512.
func geluTanhGradAsm(dx, dy, x []float32) int {
	if !hasAVX512 || len(dx) == 0 {
		return 0
	}
	sgeluTanhGrad(unsafe.Pointer(&dx[0]), unsafe.Pointer(&dy[0]), unsafe.Pointer(&x[0]), len(dx))
	return len(dx)
}
