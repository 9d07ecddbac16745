package kernels

// Linear computes dst = x·wᵀ + b, the forward pass of torch.nn.Linear, and
// replaces negative results by zero when relu is set (the ReLU is applied as
// each element is stored). x is n×in, w is out×in (PyTorch's layout), b has
// out elements or is nil for no bias, and dst is n×out. Linear panics if a
// slice is shorter than that.
func Linear[T Float](dst, x, w, b []T, n, in, out int, relu bool) {
	need("Linear", "x", len(x), n*in)
	need("Linear", "w", len(w), out*in)
	need("Linear", "dst", len(dst), n*out)
	if b != nil {
		need("Linear", "b", len(b), out)
	}
	if n == 0 || out == 0 {
		return
	}
	gemm(false, true, n, out, in, 1, x, max(in, 1), w, max(in, 1), 0, dst, out, b, relu)
}

// LinearBackward computes the gradients of Linear without ReLU from dy, the
// n×out gradient of its output: dx = dy·w (n×in), dw = dyᵀ·x (out×in) and
// db = the column sums of dy (out). Any of dx, dw and db may be nil to skip
// it. The outputs are overwritten; fold a ReLU into dy first with
// ReluBackward. LinearBackward panics if a slice is shorter than its shape.
func LinearBackward[T Float](dx, dw, db, dy, x, w []T, n, in, out int) {
	need("LinearBackward", "dy", len(dy), n*out)
	if dx != nil {
		need("LinearBackward", "w", len(w), out*in)
		need("LinearBackward", "dx", len(dx), n*in)
		Gemm(false, false, n, in, out, 1, dy, max(out, 1), w, max(in, 1), 0, dx, max(in, 1))
	}
	if dw != nil {
		need("LinearBackward", "x", len(x), n*in)
		need("LinearBackward", "dw", len(dw), out*in)
		Gemm(true, false, out, in, n, 1, dy, max(out, 1), x, max(in, 1), 0, dw, max(in, 1))
	}
	if db != nil {
		Sum(db, dy, 1, n, out)
	}
}
