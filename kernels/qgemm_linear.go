package kernels

// The int8 Linear layer. Its weights are packed once, when a checkpoint is
// loaded (QPackLinear), into the layout the VNNI kernels read: a kernel
// broadcasts four input bytes of a row to every lane and multiplies them
// by 16 columns' four weights each with one VPDPBUSD, so that the weights
// stream in order and no horizontal sum is left at the end. The
// requantization runs on each tile of int32 sums while it is in the cache.

const (
	// qgroup is the columns (outputs) of a group of packed weights, four
	// blocks of 16: one tile of the kernels is as wide.
	qgroup = 64
	// qrows is the rows of activations the VNNI kernel computes at once.
	qrows = 6
)

// QPackedShape returns the shape of n×k int8 weights packed by
// QPackLinear: n rounded up to 16 rows, k to 4 columns.
func QPackedShape(n, k int) (rows, cols int) {
	return (n + 15) / 16 * 16, (k + 3) / 4 * 4
}

// QPackLinear packs w, the n×k int8 weights of a Linear layer (PyTorch's
// [out, in]), into dst, of QPackedShape's size: the outputs in groups of
// 64 (the last group the rest, rounded up to 16), and in a group of c
// outputs, for each run of four inputs t, the four weights of each output
// in turn: dst[g·k' + (t·c + j)·4 + u] = w[(g + j)·k + 4t + u], g the
// group's first output and k' = k rounded up to 4; zero past n and k. The
// layout is the same for every kernel path, so a packed checkpoint runs on
// any CPU.
func QPackLinear(dst, w []int8, n, k int) {
	np, kp := QPackedShape(n, k)
	same("QPackLinear", "dst", len(dst), np*kp)
	need("QPackLinear", "w", len(w), n*k)
	clear(dst)
	for g := 0; g < np; g += qgroup {
		c := min(qgroup, np-g)
		grp := dst[g*kp : (g+c)*kp]
		for j := range min(c, n-g) {
			for r, v := range w[(g+j)*k : (g+j+1)*k] {
				grp[((r/4)*c+j)*4+r%4] = v
			}
		}
	}
}

// QUnpackLinear is QPackLinear's inverse: it sets w, n×k, to the weights
// packed in src.
func QUnpackLinear(w, src []int8, n, k int) {
	np, kp := QPackedShape(n, k)
	same("QUnpackLinear", "src", len(src), np*kp)
	need("QUnpackLinear", "w", len(w), n*k)
	for g := 0; g < n; g += qgroup {
		c := min(qgroup, np-g)
		grp := src[g*kp : (g+c)*kp]
		for j := range min(c, n-g) {
			row := w[(g+j)*k : (g+j+1)*k]
			for r := range row {
				row[r] = grp[((r/4)*c+j)*4+r%4]
			}
		}
	}
}

// QLinearScratch returns the bytes of QLinear's scratch for m rows of k
// inputs: the rows padded to a multiple of four bytes, which the assembly
// kernels read four at a time, when k is not one.
func QLinearScratch(m, k int) int {
	if k%4 == 0 {
		return 0
	}
	return m * ((k + 3) / 4 * 4)
}

// qlin is the output stage of an int8 Linear layer: requantized to u8,
// or dequantized to floats (f) when toFloat.
type qlin[T Float] struct {
	toFloat           bool
	u8                []uint8
	f                 []T
	bias              []int32
	wscale            []T
	inScale, outScale float64
	zp, lo            float32
	relu              bool
	// The multipliers (u8) or scales (f) of the group's outputs.
	mults  [qgroup]float32
	scales [qgroup]float64
}

// group sets the multipliers of outputs j0 to j0+cols.
func (q *qlin[T]) group(j0, cols int) {
	if !q.toFloat {
		c := 0
		if ws, ok := any(q.wscale).([]float32); ok {
			c = qmultsAsm(q.mults[:cols], ws[j0:j0+cols], q.inScale, q.outScale)
		}
		for ; c < cols; c++ {
			q.mults[c] = float32(q.inScale * float64(q.wscale[j0+c]) / q.outScale)
		}
		return
	}
	for c := range cols {
		q.scales[c] = q.inScale * float64(q.wscale[j0+c])
	}
}

// store writes outputs j0 to j0+len(acc) of row i from their sums.
func (q *qlin[T]) store(i, n, j0 int, acc []int32) {
	bias := q.bias[j0 : j0+len(acc)]
	if !q.toFloat {
		requantCols(q.u8[i*n+j0:i*n+j0+len(acc)], acc, bias, q.mults[:len(acc)], q.zp, q.lo)
		return
	}
	out := q.f[i*n+j0 : i*n+j0+len(acc)]
	for c, a := range acc {
		y := T(float64(a+bias[c]) * q.scales[c])
		if q.relu && y < 0 {
			y = 0
		}
		out[c] = y
	}
}

// requantCols sets dst[c] to requant(acc[c]+bias[c], mult[c], zp, lo).
func requantCols(dst []uint8, acc, bias []int32, mult []float32, zp, lo float32) {
	for c := requantColsAsm(dst, acc, bias, mult, zp, lo); c < len(acc); c++ {
		dst[c] = requant(acc[c]+bias[c], mult[c], zp, lo)
	}
}

// run computes x (m×k) times the packed weights wp, a group of outputs at
// a time and in it a tile of rows, and stores each tile.
func (q *qlin[T]) run(x []uint8, wp []int8, xpad []uint8, m, k, n int) {
	np, kp := QPackedShape(n, k)
	lda := k
	if k%4 != 0 && qtileAsmPads() {
		// The assembly kernels read four bytes at a time.
		lda = kp
		for i := range m {
			row := xpad[i*kp : (i+1)*kp]
			copy(row, x[i*k:(i+1)*k])
			clear(row[k:])
		}
		x = xpad[:m*kp]
	}
	var acc [qrows * qgroup]int32
	for g := 0; g < n; g += qgroup {
		c := min(qgroup, np-g)
		cols := min(c, n-g)
		wg := wp[g*kp : (g+c)*kp]
		q.group(g, cols)
		for i := 0; i < m; {
			rows := min(qrows, m-i)
			rows = qlinTile(&acc, x[i*lda:], lda, rows, k, wg, c)
			for ii := range rows {
				q.store(i+ii, n, g, acc[ii*qgroup:ii*qgroup+cols])
			}
			i += rows
		}
	}
}

// qlinTile sets acc[ii·64 + j] to Σ_r x[ii·lda + r]·W[j, r] for up to rows
// rows and the c outputs of the group wg; it returns the rows it did.
func qlinTile(acc *[qrows * qgroup]int32, x []uint8, lda, rows, k int, wg []int8, c int) int {
	if k > 0 {
		if done := qtileAsm(acc, x, lda, rows, (k+3)/4, wg, c); done > 0 {
			return done
		}
	}
	qtileGo(acc, x, lda, rows, k, wg, c)
	return rows
}

// qtileGo is the portable qlinTile.
func qtileGo(acc *[qrows * qgroup]int32, x []uint8, lda, rows, k int, wg []int8, c int) {
	for ii := range rows {
		a := acc[ii*qgroup : ii*qgroup+c]
		clear(a)
		row := x[ii*lda : ii*lda+k]
		for t := range (k + 3) / 4 {
			wt := wg[t*c*4 : (t+1)*c*4]
			for u := range min(4, k-4*t) {
				xv := int32(row[4*t+u])
				if xv == 0 {
					continue
				}
				for j := range a {
					a[j] += xv * int32(wt[j*4+u])
				}
			}
		}
	}
}

func qlinearCheck(fn string, dst int, x []uint8, wp []int8, bias []int32, wscale int, xpad []uint8, m, k, n int) {
	np, kp := QPackedShape(n, k)
	need(fn, "x", len(x), m*k)
	need(fn, "wp", len(wp), np*kp)
	need(fn, "bias", len(bias), n)
	need(fn, "wscale", wscale, n)
	need(fn, "dst", dst, m*n)
	need(fn, "xpad", len(xpad), QLinearScratch(m, k))
}

// QLinear computes an int8 Linear layer into dst (m×n uint8): x is m×k
// uint8, wp the n×k int8 weights packed by QPackLinear, bias holds n int32
// sums already corrected for the input's zero point (bias −
// inZP·Σ_r w[j, r]: QBias), wscale the n weight scales. The output is
// requantized to outScale and outZP; relu clamps it at the zero point.
// xpad is scratch of QLinearScratch bytes.
func QLinear[T Float](dst, x []uint8, wp []int8, bias []int32, wscale []T, xpad []uint8, m, k, n int, inScale, outScale float64, outZP int, relu bool) {
	qlinearCheck("QLinear", len(dst), x, wp, bias, len(wscale), xpad, m, k, n)
	q := qlin[T]{u8: dst[:m*n], bias: bias, wscale: wscale, inScale: inScale, outScale: outScale, zp: float32(outZP)}
	if relu {
		q.lo = q.zp
	}
	q.run(x, wp, xpad, m, k, n)
}

// QLinearFloat is QLinear with a float output: the dequantized sums
// (acc + bias)·inScale·wscale[j], clamped at 0 by relu. It ends the int8
// part of a model, with no separate dequantization.
func QLinearFloat[T Float](dst []T, x []uint8, wp []int8, bias []int32, wscale []T, xpad []uint8, m, k, n int, inScale float64, relu bool) {
	qlinearCheck("QLinearFloat", len(dst), x, wp, bias, len(wscale), xpad, m, k, n)
	q := qlin[T]{toFloat: true, f: dst[:m*n], bias: bias, wscale: wscale, inScale: inScale, relu: relu}
	q.run(x, wp, xpad, m, k, n)
}
