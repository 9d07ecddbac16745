package kernels

import (
	"fmt"
	"math"
)

// Kernels of the one-position step graph that sampling derives from a
// causal model's forward pass (passes.KVStep): the keys and values of the
// positions already seen stay in a cache, count×S×E for each attention
// (batch × heads leading indices, S the model's context), and a step
// writes the new position's row into it and attends from that position's
// query over the rows up to it.

// KVCacheWrite sets out (count×S×E) to cache with row pos[0] of each of
// the count matrices replaced by the row of x (count×1×E) of the same
// index. At position 0, which starts a sequence, the other rows are set
// to 0 rather than copied, so that nothing of an earlier sequence stays.
// It panics when pos[0] is outside [0, S).
func KVCacheWrite[T Float](out, cache, x []T, pos []int64, count, s, e int) {
	same("KVCacheWrite", "out", len(out), count*s*e)
	same("KVCacheWrite", "cache", len(cache), count*s*e)
	same("KVCacheWrite", "x", len(x), count*e)
	p := stepPos("KVCacheWrite", pos, s)
	if p == 0 {
		clear(out)
	} else {
		copy(out, cache)
	}
	for i := range count {
		copy(out[(i*s+p)*e:(i*s+p+1)*e], x[i*e:(i+1)*e])
	}
}

// AttentionStep sets out (count×1×Ev) to the attention of the one query
// row q (count×1×E) over rows 0 to pos[0] of k (count×S×E) and v
// (count×S×Ev): row pos[0] of Attention's causal result for the same
// rows, its softmax computed as Attention computes it (float64
// exponentials and sums), the products over rows 0 to pos[0] alone: the
// rows past it are not read. p (count×S) receives the probabilities,
// zero past pos[0].
func AttentionStep[T Float](out, p, q, k, v []T, pos []int64, count, s, e, ev int) {
	attnCheck("AttentionStep", count, 1, s, e, ev)
	same("AttentionStep", "out", len(out), count*ev)
	same("AttentionStep", "p", len(p), count*s)
	same("AttentionStep", "q", len(q), count*e)
	same("AttentionStep", "k", len(k), count*s*e)
	same("AttentionStep", "v", len(v), count*s*ev)
	width := stepPos("AttentionStep", pos, s) + 1
	scale := T(1 / math.Sqrt(float64(e)))
	if attentionStepAsm(out, p, q, k, v, count, s, e, ev, width, scale) {
		return
	}
	for i := range count {
		pi := p[i*s : (i+1)*s]
		Gemm(false, true, 1, width, e, scale, q[i*e:(i+1)*e], e, k[i*s*e:i*s*e+width*e], e, 0, pi, s)
		softmaxRow(pi, width)
		Gemm(false, false, 1, ev, width, 1, pi, s, v[i*s*ev:i*s*ev+width*ev], ev, 0, out[i*ev:(i+1)*ev], ev)
	}
}

// stepPos returns pos[0], the position a step computes, or panics when it
// is outside [0, s).
func stepPos(fn string, pos []int64, s int) int {
	need(fn, "pos", len(pos), 1)
	if pos[0] < 0 || pos[0] >= int64(s) {
		panic(fmt.Sprintf("kernels.%s: position %d outside the context [0, %d)", fn, pos[0], s))
	}
	return int(pos[0])
}
