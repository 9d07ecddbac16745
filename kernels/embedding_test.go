package kernels

import (
	"errors"
	"slices"
	"testing"
)

func testEmbedding[T Float](t *testing.T) {
	rng := newRNG()
	num, dim := 5, 3
	w := randSlice[T](rng, num*dim, -1, 1)
	ids := []int64{4, 0, 0, 2, 4, 4, 1}
	out := make([]T, len(ids)*dim+2)
	out[len(out)-2], out[len(out)-1] = 7, 7
	w0, ids0 := clone(w), clone(ids)
	if err := EmbeddingForward(out, w, ids, num, dim); err != nil {
		t.Fatal(err)
	}
	checkUnchanged(t, "weight", w, w0)
	if !slices.Equal(ids, ids0) {
		t.Fatalf("ids modified: %v", ids)
	}
	for i, id := range ids {
		if got, want := out[i*dim:(i+1)*dim], w[int(id)*dim:(int(id)+1)*dim]; !slices.Equal(got, want) {
			t.Fatalf("row %d = %v, want row %d of weight %v", i, got, id, want)
		}
	}
	if out[len(out)-2] != 7 || out[len(out)-1] != 7 {
		t.Errorf("elements past n×dim written: %v", out[len(out)-2:])
	}

	// Every row of dw is the sum of the rows of dy that selected it, added
	// in order; rows nobody selected (3) are zero, whatever dw held.
	dy := randSlice[T](rng, len(ids)*dim, -1, 1)
	dw := randSlice[T](rng, num*dim, -1, 1)
	dy0 := clone(dy)
	EmbeddingBackward(dw, dy, ids, num, dim)
	checkUnchanged(t, "dy", dy, dy0)
	want := make([]T, num*dim)
	for i, id := range ids {
		for j := range dim {
			want[int(id)*dim+j] += dy[i*dim+j]
		}
	}
	if !slices.Equal(dw, want) {
		t.Errorf("EmbeddingBackward = %v, want %v", dw, want)
	}
	for j := range dim {
		if dw[3*dim+j] != 0 {
			t.Errorf("row 3, selected by no id, has %v", dw[3*dim:4*dim])
		}
	}
	mustPanic(t, "short weight", func() { _ = EmbeddingForward(out, w[1:], ids, num, dim) })
	mustPanic(t, "short out", func() { _ = EmbeddingForward(out[:dim], w, ids, num, dim) })
	mustPanic(t, "short dy", func() { EmbeddingBackward(dw, dy[1:], ids, num, dim) })
	mustPanic(t, "bad id in backward", func() { EmbeddingBackward(dw, dy, []int64{0, 5, 0, 0, 0, 0, 0}, num, dim) })
}

func TestEmbedding(t *testing.T) { both(t, testEmbedding[float32], testEmbedding[float64]) }

func TestEmbeddingBadID(t *testing.T) {
	w := []float32{1, 2, 3, 4, 5, 6}
	out := make([]float32, 6)
	for _, tc := range []struct {
		ids  []int64
		want IDError
	}{
		{[]int64{0, 3, 1}, IDError{Pos: 1, ID: 3, Num: 3}},
		{[]int64{-1, 0, 1}, IDError{Pos: 0, ID: -1, Num: 3}},
		{[]int64{2, 1, 1 << 40}, IDError{Pos: 2, ID: 1 << 40, Num: 3}},
		// Converted to int, 1<<32 + 1 would be a valid id on a 32-bit machine.
		{[]int64{0, 1<<32 + 1, 0}, IDError{Pos: 1, ID: 1<<32 + 1, Num: 3}},
	} {
		err := EmbeddingForward(out, w, tc.ids, 3, 2)
		var e *IDError
		if !errors.As(err, &e) || *e != tc.want {
			t.Errorf("EmbeddingForward(ids %v) = %v, want %+v", tc.ids, err, tc.want)
		}
	}
	err := EmbeddingForward(out, w, []int64{0, 3, 1}, 3, 2)
	if got, want := err.Error(), "id 3 at index 1 is outside [0, 3)"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	if err := EmbeddingForward(out[:0], w, nil, 3, 2); err != nil {
		t.Errorf("no ids: %v", err)
	}
}

func TestEmbeddingBackwardGradient(t *testing.T) {
	rng := newRNG()
	num, dim := 4, 3
	ids := []int64{1, 3, 1, 0, 1}
	w := randSlice[float64](rng, num*dim, -1, 1)
	dy := randSlice[float64](rng, len(ids)*dim, -1, 1)
	dw := make([]float64, num*dim)
	EmbeddingBackward(dw, dy, ids, num, dim)
	want := numGrad(w, func(w []float64) float64 {
		out := make([]float64, len(ids)*dim)
		if err := EmbeddingForward(out, w, ids, num, dim); err != nil {
			t.Fatal(err)
		}
		return dotWith(dy, out)
	})
	checkClose(t, "dweight", dw, want, 1e-8)
}

func TestEmbeddingAllocs(t *testing.T) {
	w := make([]float32, 12*16)
	ids := []int64{0, 11, 5, 5}
	out, dy := make([]float32, 4*16), make([]float32, 4*16)
	if n := testing.AllocsPerRun(10, func() {
		if err := EmbeddingForward(out, w, ids, 12, 16); err != nil {
			t.Fatal(err)
		}
		EmbeddingBackward(w, dy, ids, 12, 16)
	}); n != 0 {
		t.Errorf("%v allocations per forward and backward", n)
	}
}
