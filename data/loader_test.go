package data

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nnc-go/nnc/ir"
)

// indexed returns a data set of n samples whose features (two per sample),
// label and target all encode the sample's index, so that a batch shows
// which samples it holds and whether their parts stayed together.
func indexed(n int, loss ir.Loss) *Dataset {
	ds := &Dataset{Name: "indexed", N: n, Features: 2, X: make([]float32, 2*n)}
	for i := range n {
		ds.X[2*i], ds.X[2*i+1] = float32(i), float32(-i)
	}
	if loss == ir.CrossEntropy {
		ds.Classes = n
		ds.Labels = make([]int32, n)
		for i := range n {
			ds.Labels[i] = int32(i)
		}
	} else {
		ds.TargetWidth = 1
		ds.Targets = make([]float32, n)
		for i := range n {
			ds.Targets[i] = float32(i) + 0.5
		}
	}
	return ds
}

// epoch returns the sample indices of l's current epoch in order, checking
// that each sample's features and target travel together.
func epoch(t *testing.T, l *Loader) []int {
	t.Helper()
	ds := l.ds
	x := make([]float32, l.batch*ds.Features)
	labels := make([]int32, l.batch)
	targets := make([]float32, l.batch)
	var order []int
	for b := range l.Batches() {
		n := l.Batch(b, x, labels, targets)
		for r := range n {
			i := int(x[2*r])
			if x[2*r+1] != float32(-i) ||
				ds.Labels != nil && labels[r] != int32(i) ||
				ds.Targets != nil && targets[r] != float32(i)+0.5 {
				t.Fatalf("batch %d row %d: x = %v, label %d, target %v: parts of different samples",
					b, r, x[2*r:2*r+2], labels[r], targets[r])
			}
			order = append(order, i)
		}
	}
	return order
}

func isPermutation(order []int, n int) bool {
	s := slices.Sorted(slices.Values(order))
	for i, v := range s {
		if v != i {
			return false
		}
	}
	return len(s) == n
}

func TestLoaderShuffle(t *testing.T) {
	const n = 103
	ds := indexed(n, ir.CrossEntropy)
	a := NewLoader(ds, 10, true, 42)
	b := NewLoader(ds, 10, true, 42)
	c := NewLoader(ds, 10, true, 43)
	var prev []int
	for e := range 3 {
		oa, ob, oc := epoch(t, a), epoch(t, b), epoch(t, c)
		if !isPermutation(oa, n) || !isPermutation(oc, n) {
			t.Fatalf("epoch %d: order %v is not a permutation of 0..%d", e, oa, n-1)
		}
		if !slices.Equal(oa, ob) {
			t.Errorf("epoch %d: same seed, different orders:\n%v\n%v", e, oa, ob)
		}
		if slices.Equal(oa, oc) {
			t.Errorf("epoch %d: seeds 42 and 43 give the same order", e)
		}
		if slices.IsSorted(oa) {
			t.Errorf("epoch %d: shuffled order is sorted", e)
		}
		if slices.Equal(oa, prev) {
			t.Errorf("epoch %d has the order of the epoch before", e)
		}
		prev = oa
		a.Epoch()
		b.Epoch()
		c.Epoch()
	}
}

func TestLoaderNoShuffle(t *testing.T) {
	l := NewLoader(indexed(7, ir.MSE), 3, false, 42)
	want := []int{0, 1, 2, 3, 4, 5, 6}
	for e := range 2 {
		if got := epoch(t, l); !slices.Equal(got, want) {
			t.Errorf("epoch %d: order %v, want %v", e, got, want)
		}
		l.Epoch()
	}
}

func TestLoaderBatches(t *testing.T) {
	tests := []struct {
		n, batch int
		sizes    []int
	}{
		{10, 5, []int{5, 5}},
		{10, 3, []int{3, 3, 3, 1}},
		{10, 10, []int{10}},
		{10, 64, []int{10}},
		{1, 1, []int{1}},
	}
	for _, tt := range tests {
		ds := indexed(tt.n, ir.CrossEntropy)
		l := NewLoader(ds, tt.batch, true, 1)
		x := make([]float32, tt.batch*ds.Features)
		labels := make([]int32, tt.batch)
		var sizes []int
		for i := range l.Batches() {
			sizes = append(sizes, l.Batch(i, x, labels, nil))
		}
		if !slices.Equal(sizes, tt.sizes) {
			t.Errorf("%d samples in batches of %d: sizes %v, want %v", tt.n, tt.batch, sizes, tt.sizes)
		}
	}
}

// TestLoaderBatchContents checks a batch's exact contents, including that
// the buffers beyond a short last batch are left alone.
func TestLoaderBatchContents(t *testing.T) {
	l := NewLoader(indexed(5, ir.MSE), 3, false, 0)
	x := []float32{9, 9, 9, 9, 9, 9}
	targets := []float32{9, 9, 9}
	if n := l.Batch(1, x, nil, targets); n != 2 {
		t.Fatalf("Batch(1) = %d rows, want 2", n)
	}
	if diff := cmp.Diff([]float32{3, -3, 4, -4, 9, 9}, x); diff != "" {
		t.Errorf("x (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float32{3.5, 4.5, 9}, targets); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
}

func TestLoaderBatchAllocs(t *testing.T) {
	ds := indexed(100, ir.CrossEntropy)
	l := NewLoader(ds, 16, true, 3)
	x := make([]float32, 16*ds.Features)
	labels := make([]int32, 16)
	allocs := testing.AllocsPerRun(100, func() {
		for i := range l.Batches() {
			l.Batch(i, x, labels, nil)
		}
	})
	if allocs != 0 {
		t.Errorf("Batch allocates %v times per epoch, want 0", allocs)
	}
	allocs = testing.AllocsPerRun(100, l.Epoch)
	if allocs != 0 {
		t.Errorf("Epoch allocates %v times, want 0", allocs)
	}
}

func TestLoaderPanics(t *testing.T) {
	ds := indexed(10, ir.CrossEntropy)
	tests := []struct {
		name string
		f    func()
	}{
		{"batch size 0", func() { NewLoader(ds, 0, true, 0) }},
		{"batch -1", func() { NewLoader(ds, 4, true, 0).Batch(-1, make([]float32, 8), nil, nil) }},
		{"batch past the end", func() { NewLoader(ds, 4, true, 0).Batch(3, make([]float32, 8), nil, nil) }},
		{"short x", func() { NewLoader(ds, 4, true, 0).Batch(0, make([]float32, 7), nil, nil) }},
		{"short labels", func() { NewLoader(ds, 4, true, 0).Batch(0, make([]float32, 8), make([]int32, 3), nil) }},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tt.name)
				}
			}()
			tt.f()
		}()
	}
}
