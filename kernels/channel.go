package kernels

import "math"

// The per-channel kernels the training of convolutional layers needs
// beside Conv2dBackward, MaxPool2dBackward and BatchNormBackward: they let
// each gradient and each running statistic be its own value of the IR.
// Tensors are n×c×hw, as for BatchNormTrain.

// ChannelSum sets dst[ch] to the sum over n and hw of channel ch of x,
// accumulated in float64: the gradient of a per-channel bias.
func ChannelSum[T Float](dst, x []T, n, c, hw int) {
	checkBN("ChannelSum", "x", len(x), len(x), n, c, hw)
	need("ChannelSum", "dst", len(dst), c)
	for ch := range c {
		s := 0.0
		for i := range n {
			s += sum64(x[(i*c+ch)*hw : (i*c+ch+1)*hw])
		}
		dst[ch] = T(s)
	}
}

// batchStats returns the mean and the sum of squared deviations of channel
// ch, in float64, as BatchNormTrain computes them.
func batchStats[T Float](x []T, ch, n, c, hw int) (mu, ss float64) {
	s := 0.0
	for i := range n {
		s += sum64(x[(i*c+ch)*hw : (i*c+ch+1)*hw])
	}
	mu = s / float64(n*hw)
	for i := range n {
		ss += sumSqDev(x[(i*c+ch)*hw:(i*c+ch+1)*hw], mu)
	}
	return mu, ss
}

// sum64 returns Σ x in float64, in four interleaved partial sums (one
// chain of additions would wait on each).
func sum64[T Float](x []T) float64 {
	if x32, ok := any(x).([]float32); ok {
		if s, ok := sum64f32(x32); ok {
			return s
		}
	}
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		q := x[i : i+4 : i+4]
		s0 += float64(q[0])
		s1 += float64(q[1])
		s2 += float64(q[2])
		s3 += float64(q[3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// sumSqDev returns Σ (x - mu)² in float64, as sum64.
func sumSqDev[T Float](x []T, mu float64) float64 {
	if x32, ok := any(x).([]float32); ok {
		if s, ok := sumSqDev32(x32, mu); ok {
			return s
		}
	}
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		q := x[i : i+4 : i+4]
		d0, d1, d2, d3 := float64(q[0])-mu, float64(q[1])-mu, float64(q[2])-mu, float64(q[3])-mu
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := float64(x[i]) - mu
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// sumDyXhat returns Σ dy and Σ dy·(x - mu)·is in float64, as sum64.
func sumDyXhat[T Float](dy, x []T, mu, is float64) (sdy, sdyx float64) {
	dy = dy[:len(x)]
	if x32, ok := any(x).([]float32); ok {
		if a, b, ok := dyXhat32(any(dy).([]float32), x32, mu, is); ok {
			return a, b
		}
	}
	var a0, a1, b0, b1 float64
	i := 0
	for ; i+2 <= len(x); i += 2 {
		g0, g1 := float64(dy[i]), float64(dy[i+1])
		a0 += g0
		a1 += g1
		b0 += g0 * (float64(x[i]) - mu) * is
		b1 += g1 * (float64(x[i+1]) - mu) * is
	}
	if i < len(x) {
		g := float64(dy[i])
		a0 += g
		b0 += g * (float64(x[i]) - mu) * is
	}
	return a0 + a1, b0 + b1
}

// BatchStats sets mean and invStd to the batch statistics BatchNormTrain
// stores for BatchNormBackward: the mean and 1/sqrt(biased var + eps).
func BatchStats[T Float](mean, invStd, x []T, n, c, hw int, eps float64) {
	checkBN("BatchStats", "x", len(x), len(x), n, c, hw)
	need("BatchStats", "mean", len(mean), c)
	need("BatchStats", "invStd", len(invStd), c)
	for ch := range c {
		mu, ss := batchStats(x, ch, n, c, hw)
		mean[ch], invStd[ch] = T(mu), T(1/math.Sqrt(ss/float64(n*hw)+eps))
	}
}

// RunningMean writes BatchNorm's new running mean, momentum·mean +
// (1-momentum)·run, as BatchNormTrain updates it.
func RunningMean[T Float](dst, run, x []T, n, c, hw int, momentum float64) {
	checkBN("RunningMean", "x", len(x), len(x), n, c, hw)
	for ch := range c {
		mu, _ := batchStats(x, ch, n, c, hw)
		dst[ch] = T(momentum*mu + (1-momentum)*float64(run[ch]))
	}
}

// RunningVar writes BatchNorm's new running variance from the unbiased
// variance of the batch, as BatchNormTrain updates it.
func RunningVar[T Float](dst, run, x []T, n, c, hw int, momentum float64) {
	checkBN("RunningVar", "x", len(x), len(x), n, c, hw)
	count := n * hw
	for ch := range c {
		_, ss := batchStats(x, ch, n, c, hw)
		dst[ch] = T(momentum*ss/float64(count-1) + (1-momentum)*float64(run[ch]))
	}
}

// BNFoldWeight writes w scaled per output channel for batch norm folded
// into the layer before it: dst = w·γ/sqrt(var + eps), w holding c rows of
// per values (a Linear weight's in, a Conv2d weight's in·k·k).
func BNFoldWeight[T Float](dst, w, gamma, runVar []T, c, per int, eps float64) {
	need("BNFoldWeight", "w", len(w), c*per)
	need("BNFoldWeight", "dst", len(dst), c*per)
	for ch := range c {
		a := T(float64(gamma[ch]) / math.Sqrt(float64(runVar[ch])+eps))
		for i, v := range w[ch*per : (ch+1)*per] {
			dst[ch*per+i] = v * a
		}
	}
}

// BNFoldBias writes the bias of a layer with batch norm folded in:
// dst = (b - mean)·γ/sqrt(var + eps) + β. b holds c values, or one (a zero
// for a layer without bias).
func BNFoldBias[T Float](dst, b, gamma, beta, runMean, runVar []T, c int, eps float64) {
	for ch := range c {
		bias := 0.0
		if len(b) == c {
			bias = float64(b[ch])
		} else if len(b) == 1 {
			bias = float64(b[0])
		}
		alpha := float64(gamma[ch]) / math.Sqrt(float64(runVar[ch])+eps)
		dst[ch] = T((bias-float64(runMean[ch]))*alpha + float64(beta[ch]))
	}
}
