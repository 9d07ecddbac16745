package kernels

import (
	"fmt"
	"math"
)

// The tensors of the batch-norm kernels are n×c×hw: hw is 1 for
// BatchNorm1d on an n×c input and H·W for BatchNorm2d on n×c×H×W. weight,
// bias, the running statistics, mean and invStd have c elements.

// checkBN panics unless x, of length lx, and the operand named other, of
// length lo, hold n×c×hw tensors.
func checkBN(fn, other string, lo, lx, n, c, hw int) {
	if n < 0 || c < 0 || hw < 0 {
		panic(fmt.Sprintf("kernels.%s: negative size %d×%d×%d", fn, n, c, hw))
	}
	need(fn, "x", lx, n*c*hw)
	need(fn, other, lo, n*c*hw)
}

// BatchNormTrain normalises x per channel with the statistics of the batch,
// as torch.nn.BatchNorm1d and BatchNorm2d do in training mode:
// dst = (x - mean)·invStd·weight + bias, with invStd = 1/sqrt(var + eps)
// and var the biased variance. It stores the batch mean and invStd in mean
// and invStd for BatchNormBackward, and updates the running statistics
// with momentum as PyTorch does, using the unbiased variance:
// running = (1-momentum)·running + momentum·batch. Statistics are computed
// in float64. The caller increments num_batches_tracked.
//
// BatchNormTrain panics when a channel has fewer than 2 values (n·hw < 2),
// where PyTorch raises an error, and if a slice is shorter than its shape.
func BatchNormTrain[T Float](dst, x, weight, bias, runMean, runVar, mean, invStd []T, n, c, hw int, momentum, eps float64) {
	checkBN("BatchNormTrain", "dst", len(dst), len(x), n, c, hw)
	need("BatchNormTrain", "weight", len(weight), c)
	need("BatchNormTrain", "bias", len(bias), c)
	need("BatchNormTrain", "runMean", len(runMean), c)
	need("BatchNormTrain", "runVar", len(runVar), c)
	need("BatchNormTrain", "mean", len(mean), c)
	need("BatchNormTrain", "invStd", len(invStd), c)
	count := n * hw
	if count < 2 {
		panic(fmt.Sprintf("kernels.BatchNormTrain: %d value(s) per channel, need more than 1", count))
	}
	for ch := range c {
		// The statistics exactly as BatchStats, RunningMean and RunningVar
		// compute them for the split form of this kernel.
		mu, ss := batchStats(x, ch, n, c, hw)
		variance := ss / float64(count)
		is := 1 / math.Sqrt(variance+eps)
		mean[ch], invStd[ch] = T(mu), T(is)
		runMean[ch] = T(momentum*mu + (1-momentum)*float64(runMean[ch]))
		runVar[ch] = T(momentum*ss/float64(count-1) + (1-momentum)*float64(runVar[ch]))
		normalize(dst, x, ch, n, c, hw, mu, is, weight[ch], bias[ch])
	}
}

// BatchNormEval normalises x per channel with the running statistics, as
// BatchNorm does in evaluation mode: dst = (x - runMean)/sqrt(runVar + eps)
// ·weight + bias. It panics if a slice is shorter than its shape.
func BatchNormEval[T Float](dst, x, weight, bias, runMean, runVar []T, n, c, hw int, eps float64) {
	checkBN("BatchNormEval", "dst", len(dst), len(x), n, c, hw)
	need("BatchNormEval", "weight", len(weight), c)
	need("BatchNormEval", "bias", len(bias), c)
	need("BatchNormEval", "runMean", len(runMean), c)
	need("BatchNormEval", "runVar", len(runVar), c)
	for ch := range c {
		is := 1 / math.Sqrt(float64(runVar[ch])+eps)
		normalize(dst, x, ch, n, c, hw, float64(runMean[ch]), is, weight[ch], bias[ch])
	}
}

// normalize sets channel ch of dst to (x - mu)·is·w + b, computed as
// x·alpha + beta with alpha = is·w and beta = b - mu·alpha, as PyTorch does.
func normalize[T Float](dst, x []T, ch, n, c, hw int, mu, is float64, w, b T) {
	alpha := is * float64(w)
	a, beta := T(alpha), T(float64(b)-mu*alpha)
	for i := range n {
		out := dst[(i*c+ch)*hw : (i*c+ch+1)*hw]
		src := x[(i*c+ch)*hw : (i*c+ch+1)*hw]
		if o32, ok := any(out).([]float32); ok && affine32(o32, any(src).([]float32), float32(a), float32(beta)) {
			continue
		}
		for j, v := range src {
			out[j] = v*a + beta
		}
	}
}

// BatchNormBackward computes the gradients of BatchNormTrain from dy, the
// gradient of its output, given its input x, weight and the mean and
// invStd it stored. With x̂ = (x - mean)·invStd and m = n·hw values per
// channel:
//
//	dbias   = Σ dy
//	dweight = Σ dy·x̂
//	dx      = weight·invStd·(dy - dbias/m - x̂·dweight/m)
//
// Any of dx, dweight and dbias may be nil to skip it; the others are
// overwritten. Sums are accumulated in float64. BatchNormBackward panics if
// a slice is shorter than its shape.
func BatchNormBackward[T Float](dx, dweight, dbias, dy, x, weight, mean, invStd []T, n, c, hw int) {
	checkBN("BatchNormBackward", "dy", len(dy), len(x), n, c, hw)
	need("BatchNormBackward", "weight", len(weight), c)
	need("BatchNormBackward", "mean", len(mean), c)
	need("BatchNormBackward", "invStd", len(invStd), c)
	if dx != nil {
		need("BatchNormBackward", "dx", len(dx), n*c*hw)
	}
	if dweight != nil {
		need("BatchNormBackward", "dweight", len(dweight), c)
	}
	if dbias != nil {
		need("BatchNormBackward", "dbias", len(dbias), c)
	}
	m := float64(n * hw)
	for ch := range c {
		mu, is := float64(mean[ch]), float64(invStd[ch])
		sdy, sdyx := 0.0, 0.0
		for i := range n {
			a, b := sumDyXhat(dy[(i*c+ch)*hw:(i*c+ch+1)*hw], x[(i*c+ch)*hw:(i*c+ch+1)*hw], mu, is)
			sdy += a
			sdyx += b
		}
		if dbias != nil {
			dbias[ch] = T(sdy)
		}
		if dweight != nil {
			dweight[ch] = T(sdyx)
		}
		if dx == nil {
			continue
		}
		k := float64(weight[ch]) * is
		mdy, mdyx := sdy/m, sdyx/m
		for i := range n {
			g := dy[(i*c+ch)*hw : (i*c+ch+1)*hw]
			out := dx[(i*c+ch)*hw : (i*c+ch+1)*hw]
			xs := x[(i*c+ch)*hw : (i*c+ch+1)*hw]
			if o32, ok := any(out).([]float32); ok && bnGradX32(o32, any(g).([]float32), any(xs).([]float32), mu, is, mdy, mdyx, k) {
				continue
			}
			for j, v := range xs {
				xhat := (float64(v) - mu) * is
				out[j] = T(k * (float64(g[j]) - mdy - xhat*mdyx))
			}
		}
	}
}
