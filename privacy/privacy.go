// Package privacy is the accountant of DP-SGD (train key privacy = dp(...)):
// the Rényi differential privacy of the sampled Gaussian mechanism
// (Mironov, Talwar and Zhang 2019), composed over the training steps and
// converted to an (ε, δ) guarantee, as Opacus's RDP accountant computes it
// (opacus/accountants/analysis/rdp.py), over the same orders.
//
// The conversion from RDP to (ε, δ) is Balle et al. 2020's ("Hypothesis
// testing interpretations and Rényi differential privacy", Theorem 21),
// which Opacus and TensorFlow Privacy now use:
//
//	ε = min over α of RDP(α) + log((α−1)/α) − (log δ + log α)/(α−1)
//
// It is tighter than the classic ε = RDP(α) + log(1/δ)/(α−1) (Mironov
// 2017, Proposition 3), which ClassicEpsilon computes for comparison.
package privacy

import (
	"fmt"
	"math"
)

// Orders are the Rényi orders α the accountant minimises over: Opacus's
// DEFAULT_ALPHAS, 1.1, 1.2, ..., 10.9 and 12, 13, ..., 63.
var Orders = func() []float64 {
	var a []float64
	for x := 1; x < 100; x++ {
		a = append(a, 1+float64(x)/10)
	}
	for x := 12; x < 64; x++ {
		a = append(a, float64(x))
	}
	return a
}()

// RDP returns the Rényi divergence of order alpha of one step of the
// Gaussian mechanism with noise multiplier sigma over a batch drawn by
// Poisson sampling at rate q: log(A_α)/(α−1), A_α computed by Mironov et
// al.'s series (their Section 3.3) in log space. It is 0 for q = 0 and
// +Inf for sigma = 0.
func RDP(q, sigma, alpha float64) float64 {
	switch {
	case q == 0:
		return 0
	case sigma == 0:
		return math.Inf(1)
	case q == 1:
		return alpha / (2 * sigma * sigma)
	case math.IsInf(alpha, 1):
		return math.Inf(1)
	}
	var logA float64
	if alpha == math.Trunc(alpha) {
		logA = logAInt(q, sigma, int(alpha))
	} else {
		logA = logAFrac(q, sigma, alpha)
	}
	return logA / (alpha - 1)
}

// logAInt is log A_α for an integer α: log Σ_k C(α,k) (1−q)^(α−k) q^k
// exp((k²−k)/(2σ²)).
func logAInt(q, sigma float64, alpha int) float64 {
	logA := math.Inf(-1)
	for i := 0; i <= alpha; i++ {
		c := logBinom(alpha, i) + float64(i)*math.Log(q) + float64(alpha-i)*math.Log1p(-q)
		logA = logAdd(logA, c+float64(i*i-i)/(2*sigma*sigma))
	}
	return logA
}

// logAFrac is log A_α for a fractional α: the two series of Mironov et
// al.'s Section 3.3, summed until their terms fall below e^-30.
func logAFrac(q, sigma, alpha float64) float64 {
	logA0, logA1 := math.Inf(-1), math.Inf(-1)
	z0 := sigma*sigma*math.Log(1/q-1) + 0.5
	logCoef, positive := 0.0, true // log|C(α, i)| and its sign, for i = 0
	for i := 0; ; i++ {
		if i > 0 {
			f := (alpha - float64(i) + 1) / float64(i)
			logCoef += math.Log(math.Abs(f))
			if f < 0 {
				positive = !positive
			}
		}
		fi := float64(i)
		j := alpha - fi
		logT0 := logCoef + fi*math.Log(q) + j*math.Log1p(-q)
		logT1 := logCoef + j*math.Log(q) + fi*math.Log1p(-q)
		logE0 := math.Log(0.5) + logErfc((fi-z0)/(math.Sqrt2*sigma))
		logE1 := math.Log(0.5) + logErfc((z0-j)/(math.Sqrt2*sigma))
		logS0 := logT0 + (fi*fi-fi)/(2*sigma*sigma) + logE0
		logS1 := logT1 + (j*j-j)/(2*sigma*sigma) + logE1
		if positive {
			logA0, logA1 = logAdd(logA0, logS0), logAdd(logA1, logS1)
		} else {
			logA0, logA1 = logSub(logA0, logS0), logSub(logA1, logS1)
		}
		if math.Max(logS0, logS1) < -30 || i > 100000 {
			break
		}
	}
	return logAdd(logA0, logA1)
}

func logBinom(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// logAdd is log(e^a + e^b).
func logAdd(a, b float64) float64 {
	lo, hi := math.Min(a, b), math.Max(a, b)
	if math.IsInf(lo, -1) {
		return hi
	}
	return math.Log1p(math.Exp(lo-hi)) + hi
}

// logSub is log(e^a − e^b) for a ≥ b; −Inf when they are equal.
func logSub(a, b float64) float64 {
	switch {
	case math.IsInf(b, -1):
		return a
	case a <= b:
		return math.Inf(-1)
	}
	return math.Log(math.Expm1(a-b)) + b
}

// logErfc is log(erfc(x)), from its asymptotic series where erfc
// underflows.
func logErfc(x float64) float64 {
	if x < 25 {
		return math.Log(math.Erfc(x))
	}
	x2 := x * x
	// erfc(x) = e^-x²/(x√π) · (1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶) + ...)
	s := 1 - 1/(2*x2) + 3/(4*x2*x2) - 15/(8*x2*x2*x2) + 105/(16*x2*x2*x2*x2)
	return -x2 - math.Log(x) - 0.5*math.Log(math.Pi) + math.Log(s)
}

// Epsilon returns the ε of (ε, delta)-DP after steps steps of DP-SGD with
// sampling rate q and noise multiplier sigma, by Balle et al.'s
// conversion, and the order that attains it. σ = 0 gives +Inf.
func Epsilon(q, sigma float64, steps int, delta float64) (eps, order float64) {
	return minOver(q, sigma, steps, func(rdp, a float64) float64 {
		return rdp + math.Log((a-1)/a) - (math.Log(delta)+math.Log(a))/(a-1)
	})
}

// ClassicEpsilon is Epsilon with the classic conversion
// ε = RDP(α) + log(1/δ)/(α−1).
func ClassicEpsilon(q, sigma float64, steps int, delta float64) (eps, order float64) {
	return minOver(q, sigma, steps, func(rdp, a float64) float64 {
		return rdp - math.Log(delta)/(a-1)
	})
}

func minOver(q, sigma float64, steps int, conv func(rdp, a float64) float64) (eps, order float64) {
	eps, order = math.Inf(1), math.NaN()
	for _, a := range Orders {
		e := conv(RDP(q, sigma, a)*float64(steps), a)
		if e < eps {
			eps, order = e, a
		}
	}
	if eps < 0 {
		eps = 0
	}
	return eps, order
}

// NoiseFor returns the smallest noise multiplier σ (to within 0.1%) whose
// Epsilon after steps steps at rate q stays within target, as Opacus's
// get_noise_multiplier searches for it, or an error when target cannot be
// reached.
func NoiseFor(target, q float64, steps int, delta float64) (float64, error) {
	if !(target > 0) || math.IsInf(target, 0) {
		return 0, fmt.Errorf("target epsilon must be a positive number, got %v", target)
	}
	lo, hi := 0.0, 10.0
	for {
		if e, _ := Epsilon(q, hi, steps, delta); e <= target {
			break
		}
		if hi *= 2; hi > 1e6 {
			return 0, fmt.Errorf("epsilon %v is out of reach at sampling rate %.4g over %d steps", target, q, steps)
		}
	}
	for hi-lo > 1e-3*hi {
		mid := (lo + hi) / 2
		if e, _ := Epsilon(q, mid, steps, delta); e <= target {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, nil
}
