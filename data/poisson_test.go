package data

import (
	"math"
	"slices"
	"testing"
)

// TestPoissonLoader: each sample joins each batch with probability rate,
// independently: batch sizes average rate·N with the binomial's spread,
// every sample is drawn about as often as the others, a batch holds a
// sample at most once, no batch is empty or larger than the maximum, and
// equal seeds give equal batches.
func TestPoissonLoader(t *testing.T) {
	const n, rate, steps, epochs = 1000, 0.03, 40, 25
	ds := &Dataset{N: n, Features: 1, X: make([]float32, n), Labels: make([]int32, n), Classes: 2}
	for i := range ds.X {
		ds.X[i] = float32(i)
	}
	l := NewPoissonLoader(ds, rate, steps, 60, 7)
	if l.Batches() != steps || l.Rate() != rate {
		t.Fatalf("%d batches at rate %v", l.Batches(), l.Rate())
	}
	x := make([]float32, 60)
	var sizes []float64
	count := make([]int, n)
	for range epochs {
		for b := range steps {
			r := l.Batch(b, x, nil, nil)
			if r < 1 || r > 60 {
				t.Fatalf("batch of %d rows", r)
			}
			rows := slices.Clone(x[:r])
			if !slices.IsSorted(rows) || len(slices.Compact(rows)) != r {
				t.Fatalf("batch %v holds a sample twice", rows)
			}
			for _, v := range rows {
				count[int(v)]++
			}
			sizes = append(sizes, float64(r))
		}
		l.Epoch()
	}
	mean, sq := 0.0, 0.0
	for _, s := range sizes {
		mean += s
	}
	mean /= float64(len(sizes))
	for _, s := range sizes {
		sq += (s - mean) * (s - mean)
	}
	sd := math.Sqrt(sq / float64(len(sizes)-1))
	if want := rate * n; math.Abs(mean-want) > 0.5 {
		t.Errorf("mean batch %v, want %v", mean, want)
	}
	if want := math.Sqrt(rate * (1 - rate) * n); math.Abs(sd-want) > 0.6 {
		t.Errorf("batch sizes spread %v, want %v", sd, want)
	}
	// Each sample is drawn Binomial(epochs·steps, rate) times: 30 ± 5.4.
	lo, hi := slices.Min(count), slices.Max(count)
	if lo < 8 || hi > 55 {
		t.Errorf("samples drawn between %d and %d times, want about 30", lo, hi)
	}
	a, b := NewPoissonLoader(ds, rate, steps, 60, 3), NewPoissonLoader(ds, rate, steps, 60, 3)
	ya, yb := make([]float32, 60), make([]float32, 60)
	for i := range steps {
		ra, rb := a.Batch(i, ya, nil, nil), b.Batch(i, yb, nil, nil)
		if !slices.Equal(ya[:ra], yb[:rb]) {
			t.Fatal("equal seeds, different batches")
		}
	}
}
