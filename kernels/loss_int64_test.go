package kernels

import (
	"math"
	"testing"
)

// testCrossEntropyInt64 checks the loss of a token model: logits [N, T, C]
// against int64 targets [N, T] are N·T rows of C, the mean taken over all
// positions, as F.cross_entropy(logits.reshape(-1, C), y.reshape(-1)).
func testCrossEntropyInt64[T Float](t *testing.T) {
	rng := newRNG()
	N, seq, c := 3, 4, 5
	n := N * seq
	logits := randSlice[T](rng, n*c, -3, 3)
	target := make([]int64, n)
	target32 := make([]int32, n)
	for i := range target {
		target[i] = int64(rng.IntN(c))
		target32[i] = int32(target[i])
	}
	wantLoss, wantCorrect := 0.0, 0
	wantGrad := make([]float64, n*c)
	for b := range N {
		for p := range seq {
			r := b*seq + p
			row := to64(logits[r*c : (r+1)*c])
			sm := refSoftmax(row)
			wantLoss -= math.Log(sm[target[r]]) / float64(n)
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			if best == int(target[r]) {
				wantCorrect++
			}
			for j := range sm {
				if j == int(target[r]) {
					sm[j]--
				}
				wantGrad[r*c+j] = sm[j] / float64(n)
			}
		}
	}
	l0, t0 := clone(logits), clone(target)
	d := make([]T, n*c)
	loss, correct := CrossEntropyInt64(d, logits, target, n, c)
	checkUnchanged(t, "logits", logits, l0)
	for i := range target {
		if target[i] != t0[i] {
			t.Fatalf("target modified at %d", i)
		}
	}
	if !closeTo(loss, wantLoss, eps[T]()) || correct != wantCorrect {
		t.Errorf("CrossEntropyInt64 = %v, %d; want %v, %d", loss, correct, wantLoss, wantCorrect)
	}
	checkClose(t, "dlogits", d, wantGrad, eps[T]())

	// The same bits as CrossEntropy with the same targets as int32.
	d32 := make([]T, n*c)
	loss32, correct32 := CrossEntropy(d32, logits, target32, n, c)
	if loss != loss32 || correct != correct32 {
		t.Errorf("CrossEntropyInt64 = %v, %d; CrossEntropy = %v, %d", loss, correct, loss32, correct32)
	}
	checkUnchanged(t, "dlogits of CrossEntropy", d32, d)

	// In place (dlogits = logits): the same loss, count and gradient.
	in := clone(logits)
	lossIn, correctIn := CrossEntropyInt64(in, in, target, n, c)
	if lossIn != loss || correctIn != correct {
		t.Errorf("in place: %v, %d; want %v, %d", lossIn, correctIn, loss, correct)
	}
	checkUnchanged(t, "dlogits in place", in, d)
	in = clone(logits)
	if l, k := CrossEntropy(in, in, target32, n, c); l != loss || k != correct {
		t.Errorf("CrossEntropy in place: %v, %d; want %v, %d", l, k, loss, correct)
	}

	bad := clone(target)
	bad[n-1] = 1<<32 + 1 // 1 as an int32
	mustPanic(t, "target past int32", func() { CrossEntropyInt64(nil, logits, bad, n, c) })
	mustPanic(t, "short target", func() { CrossEntropyInt64(nil, logits, target[1:], n, c) })
}

func TestCrossEntropyInt64(t *testing.T) {
	both(t, testCrossEntropyInt64[float32], testCrossEntropyInt64[float64])
}

func TestCheckTargetsInt64(t *testing.T) {
	for _, c := range []struct {
		target []int64
		want   int
	}{
		{[]int64{0, 1, 2}, -1},
		{[]int64{0, 3, -1}, 1},
		{[]int64{-1}, 0},
		{[]int64{2, 1<<32 + 1}, 1},
		{nil, -1},
	} {
		if got := CheckTargetsInt64(c.target, 3); got != c.want {
			t.Errorf("CheckTargetsInt64(%v, 3) = %d, want %d", c.target, got, c.want)
		}
	}
}
