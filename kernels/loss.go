package kernels

import (
	"fmt"
	"math"
)

// CrossEntropy computes the mean cross-entropy loss of logits, an n×c matrix
// of unnormalised scores, against class indices target (n of them), like
// torch.nn.functional.cross_entropy with reduction "mean". It uses a stable
// log-softmax, accumulates the loss in float64 and returns it with the
// number of rows whose first maximal logit is the target (the predictions
// torch.argmax would make).
//
// When dlogits is not nil it receives the gradient of the loss with respect
// to logits, (softmax(logits) - onehot(target))/n; it may be the same slice
// as logits. CrossEntropy panics if a target is outside [0, c) (check them
// with CheckTargets first to report an error instead) or if a slice is
// shorter than its shape.
func CrossEntropy[T Float](dlogits, logits []T, target []int32, n, c int) (loss float64, correct int) {
	return crossEntropy("CrossEntropy", dlogits, logits, target, n, c)
}

// CrossEntropyInt64 is CrossEntropy with int64 class indices, the type of
// token ids: for logits of shape [N, T, C] and targets [N, T], n = N·T
// rows give the mean over all positions and the number of positions
// predicted right, as F.cross_entropy(logits.reshape(-1, C),
// y.reshape(-1)) and its argmax do. It panics as CrossEntropy does (check
// targets with CheckTargetsInt64).
func CrossEntropyInt64[T Float](dlogits, logits []T, target []int64, n, c int) (loss float64, correct int) {
	return crossEntropy("CrossEntropyInt64", dlogits, logits, target, n, c)
}

// crossEntropy is CrossEntropy for either type of class index; fn names
// the caller in panics.
func crossEntropy[T Float, I int32 | int64](fn string, dlogits, logits []T, target []I, n, c int) (loss float64, correct int) {
	need(fn, "logits", len(logits), n*c)
	need(fn, "target", len(target), n)
	if dlogits != nil {
		need(fn, "dlogits", len(dlogits), n*c)
	}
	invN := 1 / float64(n)
	total := 0.0
	_, f32 := any(logits).([]float32)
	// Σ_r log s_r is taken as the log of products of the s_r, each in
	// [1, c] (their largest term is 1), chunk rows at a time: the product
	// stays below 2^600, far from overflow, and one logarithm serves many
	// rows.
	chunk := max(1, int(600/math.Log2(float64(c)+1)))
	prod, inChunk := 1.0, 0
	for r := range n {
		row := logits[r*c : (r+1)*c]
		if target[r] < 0 || int64(target[r]) >= int64(c) {
			panic(fmt.Sprintf("kernels.%s: target[%d] = %d outside [0, %d)", fn, r, target[r], c))
		}
		t := int(target[r])
		best := argmax(row)
		if best == t {
			correct++
		}
		// Read before the loop below, which overwrites row when dlogits
		// is logits.
		m, lt := float64(row[best]), float64(row[t])
		var d []T
		if dlogits != nil {
			d = dlogits[r*c : (r+1)*c]
		}
		// Σ exp(v - m), each term kept in d for the gradient; in float32
		// models to float32's precision, with expNeg.
		s := 0.0
		for j, v := range row {
			var e float64
			switch {
			case j == best:
				e = 1 // exp(0), as both would give: the largest term costs nothing
			case f32:
				e = expNeg(float64(v) - m)
			default:
				e = math.Exp(float64(v) - m)
			}
			s += e
			if d != nil {
				d[j] = T(e)
			}
		}
		total += m - lt
		prod *= s
		if inChunk++; inChunk == chunk {
			total += math.Log(prod)
			prod, inChunk = 1, 0
		}
		if d == nil {
			continue
		}
		scale := T(invN / s)
		for j := range d {
			d[j] *= scale
		}
		d[t] = T(float64(d[t]) - invN)
	}
	total += math.Log(prod)
	return total * invN, correct
}

// expNeg returns e^x for x ≤ 0 (and NaN for NaN) with a relative error
// below 1e-8, well inside float32's rounding: x = k·ln2 + r with |r| ≤
// ln2/2, e^r by its Taylor polynomial of degree 8, times 2^k. It is a
// fraction of math.Exp's cost, which matters in a loss over few classes.
func expNeg(x float64) float64 {
	const (
		log2e = 1.4426950408889634
		ln2hi = 6.93147180369123816490e-01
		ln2lo = 1.90821492927058770002e-10
	)
	if !(x > -746) {
		if x != x {
			return x
		}
		return 0
	}
	k := math.Floor(x*log2e + 0.5)
	r := x - k*ln2hi - k*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040+r*(1.0/40320))))))))
	if k < -1022 {
		// Below the normal range of float64: no float32 can hold it.
		return 0
	}
	return p * math.Float64frombits(uint64(int64(k)+1023)<<52)
}

// CheckTargets returns the index of the first class index in target that
// is outside [0, c), or -1 if all are valid.
func CheckTargets(target []int32, c int) int {
	for i, t := range target {
		if t < 0 || int(t) >= c {
			return i
		}
	}
	return -1
}

// CheckTargetsInt64 is CheckTargets for int64 class indices.
func CheckTargetsInt64(target []int64, c int) int {
	for i, t := range target {
		if t < 0 || t >= int64(c) {
			return i
		}
	}
	return -1
}

// Argmax sets dst[r] to the index of the largest element of row r of x, an
// n×c matrix, for c > 0. Like torch.argmax, ties go to the lowest index and
// NaN counts as the largest value. Argmax panics if dst is shorter than n
// or x than n*c.
func Argmax[T Float](dst []int32, x []T, n, c int) {
	need("Argmax", "x", len(x), n*c)
	need("Argmax", "dst", len(dst), n)
	for r := range n {
		dst[r] = int32(argmax(x[r*c : (r+1)*c]))
	}
}

// argmax returns the index of the first maximal element of a non-empty x,
// or of its first NaN.
func argmax[T Float](x []T) int {
	best := 0
	for j, v := range x {
		if v != v {
			return j
		}
		if v > x[best] {
			best = j
		}
	}
	return best
}

// MSE returns the mean squared error between pred and target, which have
// the same length, like torch.nn.functional.mse_loss with reduction "mean",
// accumulated in float64. When dpred is not nil it receives the gradient
// with respect to pred, 2(pred - target)/len(pred); it may be pred. MSE
// panics unless target and a non-nil dpred have len(pred) elements.
func MSE[T Float](dpred, pred, target []T) float64 {
	same("MSE", "target", len(target), len(pred))
	if dpred != nil {
		same("MSE", "dpred", len(dpred), len(pred))
	}
	norm := 2 / float64(len(pred))
	total := 0.0
	for i, p := range pred {
		d := p - target[i]
		total += float64(d) * float64(d)
		if dpred != nil {
			dpred[i] = T(norm) * d
		}
	}
	return total / float64(len(pred))
}

// BCEWithLogits returns the mean binary cross-entropy of logits against
// target probabilities, which have the same length, like
// torch.nn.functional.binary_cross_entropy_with_logits with reduction
// "mean". Each term is computed in the stable form
// max(x, 0) - x·t + log1p(exp(-|x|)) and accumulated in float64. When
// dlogits is not nil it receives the gradient (sigmoid(x) - t)/len(logits);
// it may be logits. BCEWithLogits panics unless target and a non-nil
// dlogits have len(logits) elements.
func BCEWithLogits[T Float](dlogits, logits, target []T) float64 {
	same("BCEWithLogits", "target", len(target), len(logits))
	if dlogits != nil {
		same("BCEWithLogits", "dlogits", len(dlogits), len(logits))
	}
	invN := 1 / float64(len(logits))
	total := 0.0
	for i, v := range logits {
		x, t := float64(v), float64(target[i])
		total += max(x, 0) - x*t + math.Log1p(math.Exp(-math.Abs(x)))
		if dlogits != nil {
			dlogits[i] = T((sigmoid(x) - t) * invN)
		}
	}
	return total * invN
}
