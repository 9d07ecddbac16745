package kernels

// Int8 inference (nnc quantize). The scheme is TFLite's and PyTorch's
// fbgemm's: weights are int8, symmetric per output channel (zero point 0,
// values in [-127, 127]); activations are uint8, asymmetric per tensor
// (real = scale·(q − zero_point)); a layer's bias is int32 with scale
// input_scale·weight_scale[o]. A product accumulates u8×s8 in int32, which
// is exact, so every path (AVX-512 VNNI, AVX2, portable Go) computes the
// same accumulators; the requantization that follows is the same Go code
// for all of them, so their outputs agree bit for bit.
//
// The product is in the "NT" form: out[i, j] = Σ_r a[i, r]·b[j, r], a the
// uint8 activations (rows i) and b the int8 weights (rows j, PyTorch's
// [out, in] layout), both contiguous along r.

// qtile is the largest tile of accumulators a kernel computes at once.
const qtile = 4

// qdotTile sets acc[ii*4+jj] to Σ_r a_ii[r]·b_jj[r] for ii < rows, jj <
// cols, over k elements, a_ii = a[ii*lda:] and b_jj = b[jj*ldb:]; the
// portable form of the assembly kernels, which qdotTileAsm runs when the
// CPU has them.
func qdotTile(acc *[qtile * qtile]int32, k int, a []uint8, lda int, b []int8, ldb int, rows, cols int) {
	if qdotTileAsm(acc, k, a, lda, b, ldb, rows, cols) {
		return
	}
	qdotTileGo(acc, k, a, lda, b, ldb, rows, cols)
}

func qdotTileGo(acc *[qtile * qtile]int32, k int, a []uint8, lda int, b []int8, ldb int, rows, cols int) {
	for ii := range rows {
		ar := a[ii*lda : ii*lda+k]
		for jj := range cols {
			br := b[jj*ldb : jj*ldb+k]
			var s int32
			for r, x := range ar {
				s += int32(x) * int32(br[r])
			}
			acc[ii*qtile+jj] = s
		}
	}
}

// requant is the output stage of an int8 layer, in float32: the
// accumulator (with the bias) scaled by mult and shifted by the output
// zero point zp, clamped to [lo, 255] (lo is the zero point after a ReLU)
// and rounded half to even (adding and taking away 2²³). requantRow's
// assembly computes the same.
func requant(acc int32, mult, zp, lo float32) uint8 {
	f := float32(float32(acc)*mult) + zp
	f = min(max(f, lo), 255)
	return uint8(int32(float32(f+0x1p23)) - 0x800000)
}

// requantRow sets dst[i] to requant(acc[i]+bias, ...).
func requantRow(dst []uint8, acc []int32, bias int32, mult, zp, lo float32) {
	if requantRowAsm(dst, acc, bias, mult, zp, lo) {
		return
	}
	for i, a := range acc {
		dst[i] = requant(a+bias, mult, zp, lo)
	}
}

// Quantize sets dst to x quantized to uint8 with scale and zero point zp:
// clamp(x/scale + zp, 0, 255) rounded half to even, in float32 (the
// rounding adds and takes away 2²³, whose float32 neighbours are 1 apart).
func Quantize[T Float](dst []uint8, x []T, scale float64, zp int) {
	same("Quantize", "x", len(x), len(dst))
	inv, z := float32(1/scale), float32(zp)
	done := 0
	if x32, ok := any(x).([]float32); ok {
		done = quantize32(dst, x32, inv, z)
	}
	for i := done; i < len(x); i++ {
		f := float32(float32(x[i])*inv) + z
		f = min(max(f, 0), 255)
		dst[i] = uint8(int32(float32(f+0x1p23)) - 0x800000)
	}
}

// Dequantize sets dst to scale·(x − zp).
func Dequantize[T Float](dst []T, x []uint8, scale float64, zp int) {
	same("Dequantize", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] = T(scale * float64(int(v)-zp))
	}
}

// CopyBytes copies x into dst: the reshape of a uint8 value.
func CopyBytes(dst, x []uint8) {
	same("CopyBytes", "x", len(x), len(dst))
	copy(dst, x)
}

// QBias sets dst to the int32 bias of an int8 layer corrected for its
// input's zero point: bias[j] − zp·Σ_r w[j, r] over the k weights of each
// of the len(dst) outputs, so that the product may run on the stored uint8
// activations. The loader runs it once per checkpoint, not per call.
func QBias(dst, bias []int32, w []int8, k, zp int) {
	need("QBias", "w", len(w), len(dst)*k)
	for j := range dst {
		var s int32
		for _, v := range w[j*k : (j+1)*k] {
			s += int32(v)
		}
		var b int32
		if bias != nil {
			b = bias[j]
		}
		dst[j] = b - int32(zp)*s
	}
}
