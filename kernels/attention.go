package kernels

import (
	"fmt"
	"math"
)

// Scaled dot-product attention, like PyTorch's
// torch.nn.functional.scaled_dot_product_attention, over count independent
// leading indices (batch × heads): for each, q is L×E, k is S×E, v is S×Ev
// and the result L×Ev is softmax(q kᵀ/√E) v. With causal set, row i of the
// scores keeps only columns j ≤ i (PyTorch's mask, aligned at the top
// left): the kernels skip the others, no mask tensor exists. The softmax
// probabilities P, L×S per index, are the forward kernel's second output,
// which the backward kernels read.

// Attention sets out (count×L×Ev) to the attention of q (count×L×E) over
// k (count×S×E) and v (count×S×Ev), and p (count×L×S) to the softmax
// probabilities (0 where the causal mask hides a position). Exponentials
// and sums are computed in float64.
func Attention[T Float](out, p, q, k, v []T, count, l, s, e, ev int, causal bool) {
	attnCheck("Attention", count, l, s, e, ev)
	same("Attention", "out", len(out), count*l*ev)
	same("Attention", "p", len(p), count*l*s)
	same("Attention", "q", len(q), count*l*e)
	same("Attention", "k", len(k), count*s*e)
	same("Attention", "v", len(v), count*s*ev)
	scale := T(1 / math.Sqrt(float64(e)))
	for i := range count {
		pi := p[i*l*s : (i+1)*l*s]
		Gemm(false, true, l, s, e, scale, q[i*l*e:(i+1)*l*e], e, k[i*s*e:(i+1)*s*e], e, 0, pi, s)
		if p32, ok := any(pi).([]float32); !ok || !softmaxRows16(p32, l, s, causal) {
			for r := range l {
				softmaxRow(pi[r*s:(r+1)*s], attnWidth(r, s, causal))
			}
		}
		Gemm(false, false, l, ev, s, 1, pi, s, v[i*s*ev:(i+1)*s*ev], ev, 0, out[i*l*ev:(i+1)*l*ev], ev)
	}
}

// AttentionBackwardV sets dv (count×S×Ev) to Pᵀ dy, the gradient of
// Attention's v given the gradient dy (count×L×Ev) of its output and its
// probabilities p.
func AttentionBackwardV[T Float](dv, dy, p []T, count, l, s, ev int) {
	attnCheck("AttentionBackwardV", count, l, s, 1, ev)
	same("AttentionBackwardV", "dv", len(dv), count*s*ev)
	same("AttentionBackwardV", "dy", len(dy), count*l*ev)
	same("AttentionBackwardV", "p", len(p), count*l*s)
	for i := range count {
		Gemm(true, false, s, ev, l, 1, p[i*l*s:(i+1)*l*s], s, dy[i*l*ev:(i+1)*l*ev], ev, 0, dv[i*s*ev:(i+1)*s*ev], ev)
	}
}

// AttentionBackwardScores sets ds (count×L×S) to the gradient of the
// scores q kᵀ divided by √E, given the gradient dy (count×L×Ev) of
// Attention's output, its v (count×S×Ev) and probabilities p: with
// dP = dy vᵀ, ds = P ∘ (dP − rowsum(dP ∘ P)) / √E, so that dq = ds k and
// dk = dsᵀ q. Positions the causal mask hid have P = 0 and get 0. The row
// sums are accumulated in float64, rows of up to 16 by the tree of sum16
// (with AVX-512 in one vector for float32: attnGradRows16).
func AttentionBackwardScores[T Float](ds, dy, v, p []T, count, l, s, e, ev int) {
	attnCheck("AttentionBackwardScores", count, l, s, e, ev)
	same("AttentionBackwardScores", "ds", len(ds), count*l*s)
	same("AttentionBackwardScores", "dy", len(dy), count*l*ev)
	same("AttentionBackwardScores", "v", len(v), count*s*ev)
	same("AttentionBackwardScores", "p", len(p), count*l*s)
	scale := 1 / math.Sqrt(float64(e))
	for i := range count {
		di, pi := ds[i*l*s:(i+1)*l*s], p[i*l*s:(i+1)*l*s]
		Gemm(false, true, l, s, ev, 1, dy[i*l*ev:(i+1)*l*ev], ev, v[i*s*ev:(i+1)*s*ev], ev, 0, di, s)
		attnGradRows(di, pi, l, s, scale)
	}
}

// attnGradRows turns rows of dP (ds, rows×s) into the gradient of the
// scaled scores given the probabilities p: ds = p∘(dP − rowsum(dP∘p))·scale.
func attnGradRows[T Float](ds, p []T, rows, s int, scale float64) {
	if d32, ok := any(ds).([]float32); ok && attnGradRows16(d32, any(p).([]float32), rows, s, scale) {
		return
	}
	for r := range rows {
		dr, pr := ds[r*s:(r+1)*s], p[r*s:(r+1)*s]
		dot := 0.0
		if s <= 16 {
			// The order of attnGradRows16's vector sum.
			var e [16]float64
			for j, x := range dr {
				e[j] = float64(x) * float64(pr[j])
			}
			dot = sum16(&e)
		} else {
			for j, x := range dr {
				dot += float64(x) * float64(pr[j])
			}
		}
		for j, x := range dr {
			dr[j] = T(float64(pr[j]) * (float64(x) - dot) * scale)
		}
	}
}

// attnWidth is the number of columns of score row r that the softmax
// covers: all s, or r+1 (at most s) under the causal mask.
func attnWidth(r, s int, causal bool) int {
	if causal && r+1 < s {
		return r + 1
	}
	return s
}

// softmaxRow replaces row[:n] by its softmax, computed from its maximum,
// and row[n:] by 0: in float64, or in float32 by softmaxRow32, with
// AVX-512 for a row of up to 16 (softmaxRows16, bit for bit the same:
// the one query of the KV-cached sampler's AttentionStep).
func softmaxRow[T Float](row []T, n int) {
	if r32, ok := any(row).([]float32); ok {
		if len(r32) <= 16 && softmaxRows16(r32[:n], 1, n, false) {
			clear(r32[n:])
			return
		}
		softmaxRow32(r32, n)
		return
	}
	m := maxAlong(row, 0, n, 1)
	sum := 0.0
	for j, x := range row[:n] {
		ex := math.Exp(float64(x) - m)
		row[j] = T(ex)
		sum += ex
	}
	inv := 1 / sum
	for j, x := range row[:n] {
		row[j] = T(float64(x) * inv)
	}
	clear(row[n:])
}

// softmaxRow32 is softmaxRow in float32: the exponentials are expNeg32's,
// summed in float64, for rows of up to 16 by the tree of sum16, as
// softmaxRows16 sums an attention head's rows with AVX-512.
func softmaxRow32(row []float32, n int) {
	m := float32(maxAlong(row, 0, n, 1))
	var e [16]float64
	sum := 0.0
	for j, x := range row[:n] {
		ex := expNeg32(x - m)
		row[j] = ex
		if len(row) <= 16 {
			e[j] = float64(ex)
		} else {
			sum += float64(ex)
		}
	}
	if len(row) <= 16 {
		sum = sum16(&e)
	}
	inv := 1 / sum
	for j, x := range row[:n] {
		row[j] = float32(float64(x) * inv)
	}
	clear(row[n:])
}

// sum16 returns the sum of e in the order of the vector reduction of
// ssoftmaxRows16: lanes j and j+8, then j and j+4, j and j+2, and the last two.
func sum16(e *[16]float64) float64 {
	var a [8]float64
	for j := range a {
		a[j] = e[j] + e[j+8]
	}
	b0, b1, b2, b3 := a[0]+a[4], a[1]+a[5], a[2]+a[6], a[3]+a[7]
	return (b0 + b2) + (b1 + b3)
}

// attnCheck panics on a negative size.
func attnCheck(fn string, count, l, s, e, ev int) {
	if count < 0 || l < 0 || s < 0 || e < 1 || ev < 0 {
		panic(fmt.Sprintf("kernels.%s: bad sizes count=%d l=%d s=%d e=%d ev=%d", fn, count, l, s, e, ev))
	}
}
