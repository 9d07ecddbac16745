// Package kernels holds the numeric kernels that both nnc back ends call: the
// IR interpreter and the Go code that nnc generates. It knows nothing about
// graphs; every function works on plain slices.
//
// Conventions:
//
//   - A tensor is a contiguous row-major slice; its sizes are passed as int
//     arguments, and each function documents the length every slice needs.
//     A slice that is too short makes the function panic with a message
//     naming it; elements past the documented length are left alone.
//     Element-wise kernels work on len(dst) elements, and they and the
//     kernels along an axis (Softmax, Sum, ...) need exact lengths.
//   - Outputs come first (dst, dx, dw, ...), then inputs, then sizes, as in
//     copy. Backward kernels overwrite their outputs; use AddTo or Axpy to
//     accumulate gradients.
//   - Element-wise kernels allow dst to be the same slice as an input. Other
//     kernels need outputs that do not overlap their inputs unless their
//     documentation says otherwise.
//   - No kernel allocates or keeps a slice after it returns: scratch space,
//     such as the im2col buffer of Conv2d, comes from the caller.
//   - Kernels are generic over Float, so the same code serves float32 and
//     float64. Transcendental functions are evaluated in float64 and rounded
//     to T. Losses return their value as a float64 accumulated in float64.
//   - Kernels run on the calling goroutine; callers may run kernels on
//     disjoint data in parallel.
//   - Layouts, initialisation and optimizer updates follow PyTorch, so a
//     model trained by nnc and by PyTorch from the same start follows the
//     same trajectory up to rounding.
package kernels

import "fmt"

// Float is the element type of the kernels: float32, float64 or a type
// defined on one of them.
type Float interface {
	~float32 | ~float64
}

// need panics unless a slice of length got holds at least want elements.
func need(fn, name string, got, want int) {
	if got < want {
		panic(fmt.Sprintf("kernels.%s: len(%s) = %d, need %d", fn, name, got, want))
	}
}

// same panics unless a slice of length got holds exactly want elements.
func same(fn, name string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("kernels.%s: len(%s) = %d, want %d", fn, name, got, want))
	}
}
