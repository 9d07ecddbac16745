package kernels

import "fmt"

// Register and cache blocking of the packed GEMM. The micro-kernels, written
// out for mr = 2 and nr = 4, keep an mr×nr tile of C in registers; A is
// packed mc×kc and B kc×nc at a time, mc a multiple of mr and nc of nr. The
// packing buffers live on the stack, below the compiler's 128 KiB limit
// for a stack variable at float64.
const (
	mr = 2
	nr = 4
	kc = 256
	mc = 64
	nc = 64
)

// smallPack is the size of the buffer of gemmSmall: products whose op(B),
// padded to whole micro-panels, fits in it skip the cache blocking.
const smallPack = 2048

// Gemm computes C = alpha*op(A)*op(B) + beta*C on row-major matrices, like
// cblas_sgemm and cblas_dgemm with CblasRowMajor. op(X) is X, or Xᵀ when
// transX is set; op(A) is m×k, op(B) is k×n and C is m×n.
//
// A holds m rows of k elements (k rows of m when transA), each starting lda
// elements after the previous one; likewise B holds k rows of n (n rows of k
// when transB) with stride ldb, and C holds m rows of n with stride ldc.
// When beta is zero C is only written, never read, so it may hold garbage
// such as NaN. C must not overlap A or B.
//
// Gemm panics if m, n or k is negative, if a stride is smaller than its row
// length, or if a slice ends before its last row.
func Gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil, false)
}

// gemm is Gemm with an epilogue applied as each element of C is stored for
// the last time: bias[j] is added to column j when bias is not nil, then
// negative values are replaced by zero when relu is set.
func gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, bias []T, relu bool) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels.Gemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("a", a, ar, ac, lda)
	checkMatrix("b", b, br, bc, ldb)
	checkMatrix("c", c, m, n, ldc)
	if bias != nil {
		need("Gemm", "bias", len(bias), n)
	}
	if m == 0 || n == 0 {
		return
	}
	if a32, ok := any(a).([]float32); ok && (hasAVX512 || hasAVX2) && k > 0 && alpha != 0 {
		// The assembly kernels of amd64 machines that have AVX-512, else
		// AVX2 and FMA.
		b32, c32, bias32 := any(b).([]float32), any(c).([]float32), any(bias).([]float32)
		if sgemmAsm(transA, transB, m, n, k, float32(alpha), a32, lda, b32, ldb, float32(beta), c32, ldc, bias32, relu) {
			return
		}
	}
	switch {
	case k == 0 || alpha == 0:
		scaleC(m, n, beta, c, ldc, bias, relu)
	case !transA && transB && (m <= dotRows || n*k <= dotSmall):
		gemmDot(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu)
	case k*((n+nr-1)/nr*nr) <= smallPack:
		gemmSmall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu)
	default:
		gemmPacked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu)
	}
}

// checkMatrix panics unless x holds a rows×cols matrix with row stride ld.
func checkMatrix[T Float](name string, x []T, rows, cols, ld int) {
	if ld < max(cols, 1) {
		panic(fmt.Sprintf("kernels.Gemm: ld%s = %d, need at least %d", name, ld, max(cols, 1)))
	}
	if rows > 0 && cols > 0 {
		need("Gemm", name, len(x), (rows-1)*ld+cols)
	}
}

// scaleC sets C = beta*C, then applies the epilogue.
func scaleC[T Float](m, n int, beta T, c []T, ldc int, bias []T, relu bool) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
		} else if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
		epilogue(row, bias, relu)
	}
}

// epilogue adds bias (if not nil) to row and applies ReLU (if relu).
func epilogue[T Float](row, bias []T, relu bool) {
	if bias != nil {
		bias = bias[:len(row)]
		for j := range row {
			row[j] += bias[j]
		}
	}
	if relu {
		for j, v := range row {
			if v < 0 {
				row[j] = 0
			}
		}
	}
}

// gemmSmall multiplies without the cache blocking of gemmPacked, for an
// op(B) small enough to stay in cache: op(B) is packed whole and op(A) one
// micro-panel at a time, in buffers much smaller than gemmPacked's.
func gemmSmall[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, bias []T, relu bool) {
	var bp [smallPack]T
	var ap [mr * smallPack / nr]T
	var tile [mr * nr]T
	packB(bp[:], transB, b, ldb, 0, 0, k, n)
	for i := 0; i < m; i += mr {
		rows := min(mr, m-i)
		packA(ap[:], transA, a, lda, i, 0, rows, k)
		for j := 0; j < n; j += nr {
			cols := min(nr, n-j)
			microKernel(k, ap[:mr*k], bp[j*k:j*k+nr*k], &tile)
			var tb []T
			if bias != nil {
				tb = bias[j : j+cols]
			}
			storeTile(&tile, c[i*ldc+j:], ldc, rows, cols, alpha, beta, tb, relu)
		}
	}
}

// gemmPacked is the blocked GEMM: for each kc×nc block of op(B) and mc×kc
// block of op(A), both packed into contiguous micro-panels, the
// micro-kernel computes mr×nr tiles of C.
func gemmPacked[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, bias []T, relu bool) {
	var ap [mc * kc]T
	var bp [kc * nc]T
	var tile [mr * nr]T
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			packB(bp[:], transB, b, ldb, pc, jc, kb, nb)
			bet := beta
			if pc > 0 {
				bet = 1
			}
			last := pc+kb == k
			for ic := 0; ic < m; ic += mc {
				mb := min(mc, m-ic)
				packA(ap[:], transA, a, lda, ic, pc, mb, kb)
				for jr := 0; jr < nb; jr += nr {
					cols := min(nr, nb-jr)
					bpanel := bp[jr*kb : jr*kb+nr*kb]
					var tb []T
					if bias != nil && last {
						tb = bias[jc+jr : jc+jr+cols]
					}
					for ir := 0; ir < mb; ir += mr {
						rows := min(mr, mb-ir)
						microKernel(kb, ap[ir*kb:ir*kb+mr*kb], bpanel, &tile)
						storeTile(&tile, c[(ic+ir)*ldc+jc+jr:], ldc, rows, cols, alpha, bet, tb, relu && last)
					}
				}
			}
		}
	}
}

// packA copies rows ic..ic+mb and columns pc..pc+kb of op(A) into ap as
// micro-panels of mr rows, each stored column by column; rows past mb are
// zero.
func packA[T Float](ap []T, trans bool, a []T, lda, ic, pc, mb, kb int) {
	for ir := 0; ir < mb; ir += mr {
		panel := ap[ir*kb : ir*kb+mr*kb]
		rows := min(mr, mb-ir)
		if trans {
			// op(A)[i][p] = a[p*lda+i]: each column of the panel is contiguous.
			for p := range kb {
				src := a[(pc+p)*lda+ic+ir:]
				dst := panel[p*mr : p*mr+mr]
				copy(dst, src[:rows])
				clear(dst[rows:])
			}
			continue
		}
		for r := range rows {
			src := a[(ic+ir+r)*lda+pc : (ic+ir+r)*lda+pc+kb]
			for p, v := range src {
				panel[p*mr+r] = v
			}
		}
		for r := rows; r < mr; r++ {
			for p := range kb {
				panel[p*mr+r] = 0
			}
		}
	}
}

// packB copies rows pc..pc+kb and columns jc..jc+nb of op(B) into bp as
// micro-panels of nr columns, each stored row by row; columns past nb are
// zero.
func packB[T Float](bp []T, trans bool, b []T, ldb, pc, jc, kb, nb int) {
	for jr := 0; jr < nb; jr += nr {
		panel := bp[jr*kb : jr*kb+nr*kb]
		cols := min(nr, nb-jr)
		if !trans {
			for p := range kb {
				src := b[(pc+p)*ldb+jc+jr:]
				dst := panel[p*nr : p*nr+nr]
				copy(dst, src[:cols])
				clear(dst[cols:])
			}
			continue
		}
		// op(B)[p][j] = b[j*ldb+p]: each column of the panel is contiguous.
		for j := range cols {
			src := b[(jc+jr+j)*ldb+pc : (jc+jr+j)*ldb+pc+kb]
			for p, v := range src {
				panel[p*nr+j] = v
			}
		}
		for j := cols; j < nr; j++ {
			for p := range kb {
				panel[p*nr+j] = 0
			}
		}
	}
}

// microKernel computes the mr×nr product of a packed A micro-panel and a
// packed B micro-panel of depth kb, keeping the tile in registers.
func microKernel[T Float](kb int, a, b []T, tile *[mr * nr]T) {
	var c00, c01, c02, c03 T
	var c10, c11, c12, c13 T
	a = a[:kb*mr]
	b = b[:kb*nr]
	p := 0
	for ; p+8 <= kb; p += 8 {
		ap := a[p*mr : p*mr+8*mr : p*mr+8*mr]
		bp := b[p*nr : p*nr+8*nr : p*nr+8*nr]
		a0, a1 := ap[0], ap[1]
		c00 += a0 * bp[0]
		c10 += a1 * bp[0]
		c01 += a0 * bp[1]
		c11 += a1 * bp[1]
		c02 += a0 * bp[2]
		c12 += a1 * bp[2]
		c03 += a0 * bp[3]
		c13 += a1 * bp[3]

		a0, a1 = ap[2], ap[3]
		c00 += a0 * bp[4]
		c10 += a1 * bp[4]
		c01 += a0 * bp[5]
		c11 += a1 * bp[5]
		c02 += a0 * bp[6]
		c12 += a1 * bp[6]
		c03 += a0 * bp[7]
		c13 += a1 * bp[7]

		a0, a1 = ap[4], ap[5]
		c00 += a0 * bp[8]
		c10 += a1 * bp[8]
		c01 += a0 * bp[9]
		c11 += a1 * bp[9]
		c02 += a0 * bp[10]
		c12 += a1 * bp[10]
		c03 += a0 * bp[11]
		c13 += a1 * bp[11]

		a0, a1 = ap[6], ap[7]
		c00 += a0 * bp[12]
		c10 += a1 * bp[12]
		c01 += a0 * bp[13]
		c11 += a1 * bp[13]
		c02 += a0 * bp[14]
		c12 += a1 * bp[14]
		c03 += a0 * bp[15]
		c13 += a1 * bp[15]

		a0, a1 = ap[8], ap[9]
		c00 += a0 * bp[16]
		c10 += a1 * bp[16]
		c01 += a0 * bp[17]
		c11 += a1 * bp[17]
		c02 += a0 * bp[18]
		c12 += a1 * bp[18]
		c03 += a0 * bp[19]
		c13 += a1 * bp[19]

		a0, a1 = ap[10], ap[11]
		c00 += a0 * bp[20]
		c10 += a1 * bp[20]
		c01 += a0 * bp[21]
		c11 += a1 * bp[21]
		c02 += a0 * bp[22]
		c12 += a1 * bp[22]
		c03 += a0 * bp[23]
		c13 += a1 * bp[23]

		a0, a1 = ap[12], ap[13]
		c00 += a0 * bp[24]
		c10 += a1 * bp[24]
		c01 += a0 * bp[25]
		c11 += a1 * bp[25]
		c02 += a0 * bp[26]
		c12 += a1 * bp[26]
		c03 += a0 * bp[27]
		c13 += a1 * bp[27]

		a0, a1 = ap[14], ap[15]
		c00 += a0 * bp[28]
		c10 += a1 * bp[28]
		c01 += a0 * bp[29]
		c11 += a1 * bp[29]
		c02 += a0 * bp[30]
		c12 += a1 * bp[30]
		c03 += a0 * bp[31]
		c13 += a1 * bp[31]
	}
	for ; p < kb; p++ {
		ap := a[p*mr : p*mr+mr : p*mr+mr]
		bp := b[p*nr : p*nr+nr : p*nr+nr]
		a0, a1 := ap[0], ap[1]
		c00 += a0 * bp[0]
		c10 += a1 * bp[0]
		c01 += a0 * bp[1]
		c11 += a1 * bp[1]
		c02 += a0 * bp[2]
		c12 += a1 * bp[2]
		c03 += a0 * bp[3]
		c13 += a1 * bp[3]
	}
	*tile = [mr * nr]T{
		c00, c01, c02, c03,
		c10, c11, c12, c13,
	}
}

// storeTile writes the top-left rows×cols corner of tile into C as
// alpha*tile + beta*C (C unread when beta is zero), then applies the
// epilogue when bias is not nil or relu is set.
func storeTile[T Float](tile *[mr * nr]T, c []T, ldc, rows, cols int, alpha, beta T, bias []T, relu bool) {
	for r := range rows {
		row := c[r*ldc : r*ldc+cols]
		t := tile[r*nr : r*nr+cols]
		switch beta {
		case 0:
			for j, v := range t {
				row[j] = alpha * v
			}
		case 1:
			for j, v := range t {
				row[j] += alpha * v
			}
		default:
			for j, v := range t {
				row[j] = alpha*v + beta*row[j]
			}
		}
		epilogue(row, bias, relu)
	}
}

// dotRows is the largest m for which A·Bᵀ runs as dot products: a few rows
// (batch-1 inference) against a weight matrix read once, row by row, with
// no packing, which would cost more than the product.
const dotRows = 4

// dotSmall is the largest B (n·k elements) that A·Bᵀ multiplies as dot
// products whatever m is: a small weight matrix stays in cache, and packing
// it costs more than it saves.
const dotSmall = 1024

// gemmDot computes C = alpha·A·Bᵀ + beta·C (A is m×k, B is n×k, both
// row-major) as dot products of rows, four rows of B at a time so that
// each element of A is loaded once for four of them.
func gemmDot[T Float](m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, bias []T, relu bool) {
	for i := 0; i < m; i++ {
		x := a[i*lda : i*lda+k]
		row := c[i*ldc : i*ldc+n]
		j := 0
		for ; j+4 <= n; j += 4 {
			b0 := b[j*ldb : j*ldb+k]
			b1 := b[(j+1)*ldb : (j+1)*ldb+k]
			b2 := b[(j+2)*ldb : (j+2)*ldb+k]
			b3 := b[(j+3)*ldb : (j+3)*ldb+k]
			var s0, s1, s2, s3 T
			for p, v := range x {
				s0 += v * b0[p]
				s1 += v * b1[p]
				s2 += v * b2[p]
				s3 += v * b3[p]
			}
			row[j] = finish(alpha*s0, beta, row[j], bias, j, relu)
			row[j+1] = finish(alpha*s1, beta, row[j+1], bias, j+1, relu)
			row[j+2] = finish(alpha*s2, beta, row[j+2], bias, j+2, relu)
			row[j+3] = finish(alpha*s3, beta, row[j+3], bias, j+3, relu)
		}
		for ; j < n; j++ {
			bj := b[j*ldb : j*ldb+k]
			var s T
			for p, v := range x {
				s += v * bj[p]
			}
			row[j] = finish(alpha*s, beta, row[j], bias, j, relu)
		}
	}
}

// finish finishes one element of C: beta·old added unless beta is 0
// (old is then not read: it may be garbage), the bias, then ReLU.
func finish[T Float](v, beta, old T, bias []T, j int, relu bool) T {
	if beta != 0 {
		v += beta * old
	}
	if bias != nil {
		v += bias[j]
	}
	if relu && v < 0 {
		v = 0 // NaN stays NaN, as torch.relu keeps it
	}
	return v
}
