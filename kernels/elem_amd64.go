//go:build amd64 && !purego

package kernels

import "unsafe"

//go:noescape
func sreluGrad(dx, dy, x unsafe.Pointer, n int)

//go:noescape
func srelu(dst, x unsafe.Pointer, n int)

// relu32 is Relu for float32 with AVX-512; it reports whether it ran.
func relu32(dst, x []float32) bool {
	if !hasAVX512 || len(dst) == 0 {
		return hasAVX512
	}
	srelu(unsafe.Pointer(&dst[0]), unsafe.Pointer(&x[0]), len(dst))
	return true
}

//go:noescape
func saxpy(dst, x, y unsafe.Pointer, n int, a float32)

//go:noescape
func scolSum(dst, src unsafe.Pointer, rows, w int)

// reluGrad32 is ReluBackward for float32 with AVX-512; it reports whether
// it ran. The lengths are checked.
func reluGrad32(dx, dy, x []float32) bool {
	if !hasAVX512 || len(dx) == 0 {
		return hasAVX512
	}
	sreluGrad(unsafe.Pointer(&dx[0]), unsafe.Pointer(&dy[0]), unsafe.Pointer(&x[0]), len(dx))
	return true
}

// axpy32 sets dst = x + a·y with AVX-512 and reports whether it ran. The
// lengths are checked.
func axpy32(dst, x, y []float32, a float32) bool {
	if !hasAVX512 || len(dst) == 0 {
		return hasAVX512
	}
	saxpy(unsafe.Pointer(&dst[0]), unsafe.Pointer(&x[0]), unsafe.Pointer(&y[0]), len(dst), a)
	return true
}

// colSum32 sets dst to the column sums of src, a rows×len(dst) matrix,
// with AVX-512 and reports whether it ran.
func colSum32(dst, src []float32) bool {
	if !hasAVX512 || len(src) == 0 {
		return hasAVX512
	}
	scolSum(unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0]), len(src)/len(dst), len(dst))
	return true
}
