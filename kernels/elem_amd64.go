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
func smaxPool2x2(dst, idx, r0, r1 unsafe.Pointer, masks uint64, base, w int32)

// maxPool2x2Rows32 pools one row of 2×2 windows (ow of them, rows r0 and
// r1 of a plane w wide starting at index base) with AVX-512, sixteen at a
// time, and reports whether it ran.
func maxPool2x2Rows32(dst []float32, idx []int32, r0, r1 []float32, ow, base, w int) bool {
	if !hasAVX512 {
		return false
	}
	for j := 0; j < ow; j += 16 {
		n := min(16, ow-j)
		masks := lanes(n) | lanes(2*n)<<16 | lanes(2*n-16)<<32
		var ip unsafe.Pointer
		if idx != nil {
			ip = unsafe.Pointer(&idx[j])
		}
		smaxPool2x2(unsafe.Pointer(&dst[j]), ip, unsafe.Pointer(&r0[2*j]), unsafe.Pointer(&r1[2*j]), masks, int32(base+2*j), int32(w))
	}
	return true
}

//go:noescape
func saxpy(dst, x, y unsafe.Pointer, n int, a float32)

//go:noescape
func scolSum(dst, src unsafe.Pointer, rows, w int)

// reluGrad32 does ReluBackward for float32 with AVX-512 (all of it) or
// AVX2 (a multiple of 8) and returns how many elements it did; the caller's
// loop does the rest. The lengths are checked.
func reluGrad32(dx, dy, x []float32) (done int) {
	switch n := len(dx); {
	case n > 0 && hasAVX512:
		sreluGrad(unsafe.Pointer(&dx[0]), unsafe.Pointer(&dy[0]), unsafe.Pointer(&x[0]), n)
		return n
	case n >= 8 && hasAVX2:
		reluGradAVX2(unsafe.Pointer(&dx[0]), unsafe.Pointer(&dy[0]), unsafe.Pointer(&x[0]), n/8*8)
		return n / 8 * 8
	}
	return 0
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

//go:noescape
func sadamM(dst, m, grad unsafe.Pointer, n int, weight float32)

//go:noescape
func sadamV(dst, v, grad unsafe.Pointer, n int, b2, one float32)

//go:noescape
func ssoftmaxRows16(p unsafe.Pointer, rows, s int, causal bool, c *[12]float32)

//go:noescape
func sattnGradRows16(ds, p unsafe.Pointer, rows, s int, scale float64)

//go:noescape
func sadamStep(dst, p, m, v unsafe.Pointer, n int, negStep, bc2Sqrt, eps, decay float32)

// adamM32, adamV32 and adamStep32 do AdamM, AdamV and AdamStep for
// float32 without weight decay in the moments (AdamStep's decoupled decay,
// AdamW's, is its factor decay), with AVX-512 (all of it) or AVX2. The
// lengths are checked.
// With AVX2 alone, the first multiple of 8 runs in assembly; each returns
// how many elements it did, and the caller's loop does the rest with the
// same operations.
func adamM32(dst, m, g []float32, weight float32) (done int) {
	switch n := len(dst); {
	case n > 0 && hasAVX512:
		sadamM(unsafe.Pointer(&dst[0]), unsafe.Pointer(&m[0]), unsafe.Pointer(&g[0]), n, weight)
		return n
	case n >= 8 && hasAVX2:
		adamMAVX2(unsafe.Pointer(&dst[0]), unsafe.Pointer(&m[0]), unsafe.Pointer(&g[0]), n/8*8, weight)
		return n / 8 * 8
	}
	return 0
}

func adamV32(dst, v, g []float32, b2, one float32) (done int) {
	switch n := len(dst); {
	case n > 0 && hasAVX512:
		sadamV(unsafe.Pointer(&dst[0]), unsafe.Pointer(&v[0]), unsafe.Pointer(&g[0]), n, b2, one)
		return n
	case n >= 8 && hasAVX2:
		adamVAVX2(unsafe.Pointer(&dst[0]), unsafe.Pointer(&v[0]), unsafe.Pointer(&g[0]), n/8*8, b2, one)
		return n / 8 * 8
	}
	return 0
}

func adamStep32(dst, p, m, v []float32, negStep, bc2Sqrt, eps, decay float32) (done int) {
	switch n := len(dst); {
	case n > 0 && hasAVX512:
		sadamStep(unsafe.Pointer(&dst[0]), unsafe.Pointer(&p[0]), unsafe.Pointer(&m[0]), unsafe.Pointer(&v[0]), n, negStep, bc2Sqrt, eps, decay)
		return n
	case n >= 8 && hasAVX2:
		adamStepAVX2(unsafe.Pointer(&dst[0]), unsafe.Pointer(&p[0]), unsafe.Pointer(&m[0]), unsafe.Pointer(&v[0]), n/8*8, negStep, bc2Sqrt, eps, decay)
		return n / 8 * 8
	}
	return 0
}

//go:noescape
func reluGradAVX2(dx, dy, x unsafe.Pointer, n int)

//go:noescape
func finiteAVX2(x unsafe.Pointer, n int) bool

//go:noescape
func adamMAVX2(dst, m, grad unsafe.Pointer, n int, weight float32)

//go:noescape
func adamVAVX2(dst, v, grad unsafe.Pointer, n int, b2, one float32)

//go:noescape
func adamStepAVX2(dst, p, m, v unsafe.Pointer, n int, negStep, bc2Sqrt, eps, decay float32)

//go:noescape
func ssum64(x unsafe.Pointer, n int) float64

//go:noescape
func ssumSqDev64(x unsafe.Pointer, n int, mu float64) float64

//go:noescape
func sdyXhat64(dy, x unsafe.Pointer, n int, mu, is float64) (sdy, sdyx float64)

// sum64f32, sumSqDev32 and dyXhat32 are sum64, sumSqDev and sumDyXhat for
// float32 with AVX-512 (sums in float64 in another order); ok reports
// whether they ran.
func sum64f32(x []float32) (s float64, ok bool) {
	if !hasAVX512 || len(x) == 0 {
		return 0, hasAVX512
	}
	return ssum64(unsafe.Pointer(&x[0]), len(x)), true
}

func sumSqDev32(x []float32, mu float64) (s float64, ok bool) {
	if !hasAVX512 || len(x) == 0 {
		return 0, hasAVX512
	}
	return ssumSqDev64(unsafe.Pointer(&x[0]), len(x), mu), true
}

func dyXhat32(dy, x []float32, mu, is float64) (sdy, sdyx float64, ok bool) {
	if !hasAVX512 || len(x) == 0 {
		return 0, 0, hasAVX512
	}
	sdy, sdyx = sdyXhat64(unsafe.Pointer(&dy[0]), unsafe.Pointer(&x[0]), len(x), mu, is)
	return sdy, sdyx, true
}

//go:noescape
func sim2colBlock(out, plane unsafe.Pointer, oh, ilo, ihi, srcOff, srcStride, ow, whole int, masks uint64)

// im2colBlock32 writes one block of im2col (kernel offset kh, kw) at
// stride 1 with AVX-512 when the output rows have at most 32 columns, and
// reports whether it did. out holds oh·ow floats; plane is the h×w input
// channel.
func im2colBlock32(out, plane []float32, oh, ow, h, w, kh, kw, pad int) bool {
	if !hasAVX512 || ow > 32 || ow == 0 || oh == 0 {
		return false
	}
	lo, hi := validCols(ow, w, 1, kw-pad)
	// Rows i with 0 ≤ i + kh - pad < h.
	ilo := min(max(pad-kh, 0), oh)
	ihi := max(min(h+pad-kh, oh), ilo)
	load := lanes(hi)&^lanes(lo) | (lanes(hi-16)&^lanes(lo-16))<<16
	store := lanes(ow) | lanes(ow-16)<<16
	// The first valid row's first loaded lane (lo) reads plane[(ilo+kh-pad)·w
	// + lo + kw - pad]; srcOff is where lane 0 would be, in bytes.
	srcOff := ((ilo+kh-pad)*w + kw - pad) * 4
	if ihi == ilo {
		srcOff = 0
	}
	// Row i may be stored as 32 floats when i·ow + 32 ≤ oh·ow.
	whole := 0
	if oh*ow >= 32 {
		whole = min(oh, (oh*ow-32)/ow+1)
	}
	sim2colBlock(unsafe.Pointer(&out[0]), unsafe.Pointer(&plane[0]), oh, ilo, ihi, srcOff, w*4, ow, whole, store|load<<32)
	return true
}

//go:noescape
func scol2imRow(dst, cols unsafe.Pointer, off, khlo, khhi, step int, tapOff *int64, tapMask *uint32, kw int, dmask uint32)

// col2imPlane32 adds the columns of one channel (kh·kw blocks of oh·ow
// floats) back into the h×w plane at stride 1 with AVX-512, row by row,
// when w ≤ 16 and kw ≤ 16, and reports whether it did.
func col2imPlane32(plane, cols []float32, oh, ow, h, w, kh, kw, pad int) bool {
	if !hasAVX512 || w > 16 || kw > 16 || oh == 0 || ow == 0 {
		return false
	}
	need("col2im", "cols", len(cols), kh*kw*oh*ow)
	// Tap (r, s) adds row i = y + pad - r of its block, shifted s - pad
	// lanes: lane x reads element x - s + pad of the block row, at byte
	// ((r·kw + s)·oh·ow + (y + pad - r)·ow + pad - s)·4 from cols =
	// (y + pad)·ow·4 + r·step + tapOff[s].
	var tapOff [16]int64
	var tapMask [16]uint32
	for s := range kw {
		tapOff[s] = int64((s*oh*ow + pad - s) * 4)
		lo, hi := max(0, s-pad), min(w, ow+s-pad)
		if lo < hi {
			tapMask[s] = uint32(lanes(hi) &^ lanes(lo))
		}
	}
	step := (kw*oh*ow - ow) * 4
	dmask := uint32(lanes(w))
	// Rows two apart (at most 16 floats a row, 32 apart): a row's load
	// never meets the store of the one before.
	for start := range 2 {
		for y := start; y < h; y += 2 {
			// Taps with 0 ≤ y + pad - r < oh.
			rlo, rhi := max(0, y+pad-oh+1), min(kh, y+pad+1)
			if rlo >= rhi {
				continue
			}
			scol2imRow(unsafe.Pointer(&plane[y*w]), unsafe.Pointer(&cols[0]), (y+pad)*ow*4, rlo, rhi, step, &tapOff[0], &tapMask[0], kw, dmask)
		}
	}
	return true
}

//go:noescape
func scol2imBlock(plane, cols unsafe.Pointer, ilo, ihi, dstOff, dstStride, ow, step int, masks uint64)

// col2imBlock32 adds one block of the columns g (kernel offset kh, kw; oh
// rows of ow) back into the h×w channel plane at stride 1 with AVX-512
// when ow is at most 32, and reports whether it did.
func col2imBlock32(plane, g []float32, oh, ow, h, w, kh, kw, pad int) bool {
	if !hasAVX512 || ow > 32 || ow == 0 || oh == 0 {
		return false
	}
	lo, hi := validCols(ow, w, 1, kw-pad)
	ilo := min(max(pad-kh, 0), oh)
	ihi := max(min(h+pad-kh, oh), ilo)
	if ihi == ilo || hi == lo {
		return true
	}
	masks := lanes(hi)&^lanes(lo) | (lanes(hi-16)&^lanes(lo-16))<<16
	span := 16
	if hi > 16 {
		span = 32
	}
	step := (span + w - 1) / w // rows apart enough that spans do not meet
	// Lane j of row ilo adds into plane[(ilo+kh-pad)·w + j + kw - pad],
	// and lanes before lo are masked: dstOff is where lane 0 would be.
	dstOff := ((ilo+kh-pad)*w + kw - pad) * 4
	scol2imBlock(unsafe.Pointer(&plane[0]), unsafe.Pointer(&g[0]), ilo, ihi, dstOff, w*4, ow, step, masks)
	return true
}

//go:noescape
func saffine(dst, x unsafe.Pointer, n int, a, b float32)

//go:noescape
func sbnGradX(dx, dy, x unsafe.Pointer, n int, mu, is, mdy, mdyx, k float64)

// affine32 sets dst = x·a + b with AVX-512 and reports whether it ran.
func affine32(dst, x []float32, a, b float32) bool {
	if !hasAVX512 || len(dst) == 0 {
		return hasAVX512
	}
	saffine(unsafe.Pointer(&dst[0]), unsafe.Pointer(&x[0]), len(dst), a, b)
	return true
}

// bnGradX32 is the dx loop of BatchNormBackward for float32 with AVX-512
// (the same float64 operations); it reports whether it ran.
func bnGradX32(dx, dy, x []float32, mu, is, mdy, mdyx, k float64) bool {
	if !hasAVX512 || len(dx) == 0 {
		return hasAVX512
	}
	sbnGradX(unsafe.Pointer(&dx[0]), unsafe.Pointer(&dy[0]), unsafe.Pointer(&x[0]), len(dx), mu, is, mdy, mdyx, k)
	return true
}

//go:noescape
func slnOut(dst, x, w, b unsafe.Pointer, n int, mu, r float64)

//go:noescape
func slnGradRow(dx, dy, x, w unsafe.Pointer, n int, mu, r, invD float64)

//go:noescape
func slnGradW(dw, dy, x, mean, rstd unsafe.Pointer, rows, d int)

// lnOut32 is LayerNorm's output loop for one row with a weight and a bias,
// for float32 with AVX-512 (the same float64 operations); it reports
// whether it ran.
func lnOut32(dst, x, w, b []float32, mu, r float64) bool {
	if !hasAVX512 || len(dst) == 0 {
		return hasAVX512
	}
	slnOut(unsafe.Pointer(&dst[0]), unsafe.Pointer(&x[0]), unsafe.Pointer(&w[0]), unsafe.Pointer(&b[0]), len(dst), mu, r)
	return true
}

// lnGradRow32 is LayerNormBackward's input gradient for one row with a
// weight, for float32 with AVX-512 (the same float64 operations, the sums
// in another order); it reports whether it ran.
func lnGradRow32(dx, dy, x, w []float32, mu, r, invD float64) bool {
	if !hasAVX512 || len(dx) == 0 {
		return hasAVX512
	}
	slnGradRow(unsafe.Pointer(&dx[0]), unsafe.Pointer(&dy[0]), unsafe.Pointer(&x[0]), unsafe.Pointer(&w[0]), len(dx), mu, r, invD)
	return true
}

// lnGradW32 is LayerNormBackward's weight gradient for float32 with
// AVX-512, bit for bit its loop's (each column summed in row order in
// float64); it reports whether it ran.
func lnGradW32(dw, dy, x, mean, rstd []float32, rows, d int) bool {
	if !hasAVX512 || rows == 0 {
		return false // no rows: the caller's loop writes the zeros
	}
	slnGradW(unsafe.Pointer(&dw[0]), unsafe.Pointer(&dy[0]), unsafe.Pointer(&x[0]), unsafe.Pointer(&mean[0]), unsafe.Pointer(&rstd[0]), rows, d)
	return true
}

// softmaxRows16 is softmaxRow32 on each row of p (rows×s, s at most 16:
// an attention head's scores), the first min(r+1, s) of row r when causal,
// with AVX-512, bit for bit the Go loop's; it reports whether it ran.
func softmaxRows16(p []float32, rows, s int, causal bool) bool {
	if !hasAVX512 || s < 1 || s > 16 || rows < 1 {
		return false
	}
	_ = p[rows*s-1]
	ssoftmaxRows16(unsafe.Pointer(&p[0]), rows, s, causal, &expNeg32Consts)
	return true
}

// attnGradRows16 is the row loop of AttentionBackwardScores for float32
// rows of at most 16 with AVX-512, bit for bit the Go loop's; it reports
// whether it ran.
func attnGradRows16(ds, p []float32, rows, s int, scale float64) bool {
	if !hasAVX512 || s < 1 || s > 16 || rows < 1 {
		return false
	}
	_, _ = ds[rows*s-1], p[rows*s-1]
	sattnGradRows16(unsafe.Pointer(&ds[0]), unsafe.Pointer(&p[0]), rows, s, scale)
	return true
}
