package kernels

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// randBroadcast returns a random output shape and a shape that broadcasts
// to it: some dimensions set to 1 and some leading ones dropped.
func randBroadcast(rng *rand.Rand, out []int) []int {
	sub := slices.Clone(out)
	for i := range sub {
		if rng.IntN(3) == 0 {
			sub[i] = 1
		}
	}
	return sub[rng.IntN(len(sub)+1):]
}

// refIndex returns the offset in an operand of shape sub of the element
// at multi-index idx of shape out.
func refIndex(idx, out, sub []int) int {
	off, st := 0, 1
	for i := len(sub) - 1; i >= 0; i-- {
		j := i + len(out) - len(sub)
		if sub[i] != 1 {
			off += idx[j] * st
		}
		st *= sub[i]
	}
	return off
}

// forEachIndex calls f with every multi-index of shape in row-major order.
func forEachIndex(shape []int, f func(idx []int)) {
	idx := make([]int, len(shape))
	n := 1
	for _, d := range shape {
		n *= d
	}
	for range n {
		f(idx)
		for k := len(shape) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func testBroadcast[T Float](t *testing.T) {
	rng := newRNG()
	ops := []Op{OpAdd, OpSub, OpMul, OpDiv}
	fixed := [][3][]int{
		{{4, 5}, {4, 5}, {4, 5}},
		{{4, 5}, {4, 5}, {}},
		{{4, 5}, {1}, {4, 5}},
		{{4, 5}, {4, 5}, {5}},
		{{4, 5}, {4, 1}, {1, 5}},
		{{2, 3, 4, 5}, {1, 3, 1, 1}, {2, 3, 4, 5}},
		{{3, 1, 4}, {3, 1, 1}, {4}},
		{{}, {}, {}},
		{{0, 3}, {3}, {0, 3}},
	}
	for trial := range 200 {
		var out, as, bs []int
		if trial < len(fixed) {
			out, as, bs = fixed[trial][0], fixed[trial][1], fixed[trial][2]
		} else {
			out = make([]int, 1+rng.IntN(5))
			for i := range out {
				out[i] = 1 + rng.IntN(4)
			}
			as, bs = randBroadcast(rng, out), randBroadcast(rng, out)
			if rng.IntN(2) == 0 {
				as, bs = bs, as
			}
		}
		op := ops[trial%4]
		a := randSlice[T](rng, prod(as), -2, 2)
		b := randSlice[T](rng, prod(bs), 0.5, 2)
		want := make([]float64, prod(out))
		k := 0
		forEachIndex(out, func(idx []int) {
			want[k] = float64(apply(op, a[refIndex(idx, out, as)], b[refIndex(idx, out, bs)]))
			k++
		})
		a0, b0 := clone(a), clone(b)
		dst := randSlice[T](rng, len(want), -1, 1)
		Broadcast(op, dst, out, a, as, b, bs)
		checkUnchanged(t, "a", a, a0)
		checkUnchanged(t, "b", b, b0)
		checkClose(t, "Broadcast "+op.String(), dst, want, 0)
		if len(a) == len(dst) { // in place
			Broadcast(op, a, out, a, as, b, bs)
			checkClose(t, "Broadcast in place", a, want, 0)
		}

		// ReduceTo sums over the broadcast dimensions.
		src := randSlice[T](rng, len(want), -1, 1)
		red := make([]float64, prod(as))
		k = 0
		forEachIndex(out, func(idx []int) {
			red[refIndex(idx, out, as)] += float64(src[k])
			k++
		})
		got := randSlice[T](rng, len(red), -1, 1)
		ReduceTo(got, as, src, out)
		checkClose(t, "ReduceTo", got, red, eps[T]()*10)
	}
	for name, f := range map[string]func(){
		"mismatch": func() { Broadcast(OpAdd, make([]T, 6), []int{2, 3}, make([]T, 2), []int{2}, make([]T, 1), nil) },
		"too long": func() { Broadcast(OpAdd, make([]T, 6), []int{2, 3}, make([]T, 6), []int{1, 2, 3}, make([]T, 1), nil) },
		"length":   func() { Broadcast(OpAdd, make([]T, 5), []int{2, 3}, make([]T, 6), []int{2, 3}, make([]T, 1), nil) },
		"unknown op": func() {
			Broadcast(Op(9), make([]T, 6), []int{2, 3}, make([]T, 6), []int{2, 3}, make([]T, 6), []int{2, 3})
		},
		"rank":   func() { Broadcast(OpAdd, make([]T, 1), make([]int, 9), make([]T, 1), nil, make([]T, 1), nil) },
		"reduce": func() { ReduceTo(make([]T, 2), []int{2}, make([]T, 6), []int{2, 3}) },
	} {
		mustPanic(t, name, f)
	}
}

func TestBroadcast(t *testing.T) { both(t, testBroadcast[float32], testBroadcast[float64]) }

// TestReduceToGradient checks ReduceTo as the gradient of broadcasting.
func TestReduceToGradient(t *testing.T) {
	rng := newRNG()
	out, sub := []int{3, 4, 2}, []int{4, 1}
	a := randSlice[float64](rng, prod(sub), -1, 1)
	zero := make([]float64, prod(out))
	dy := randSlice[float64](rng, len(zero), -1, 1)
	dy0 := clone(dy)
	got := make([]float64, len(a))
	ReduceTo(got, sub, dy, out)
	checkUnchanged(t, "dy", dy, dy0)
	want := numGrad(a, func(a []float64) float64 {
		y := make([]float64, len(zero))
		Broadcast(OpAdd, y, out, zero, out, a, sub)
		return dotWith(dy, y)
	})
	checkClose(t, "ReduceTo", got, want, 1e-7)
}

func TestBroadcastAllocs(t *testing.T) {
	a, b, dst := make([]float32, 60), make([]float32, 5), make([]float32, 60)
	out, as, bs := []int{3, 4, 5}, []int{3, 4, 5}, []int{1, 5}
	if n := testing.AllocsPerRun(10, func() {
		Broadcast(OpMul, dst, out, a, as, b, bs)
		ReduceTo(b, bs, dst, out)
	}); n != 0 {
		t.Errorf("Broadcast and ReduceTo: %v allocations, want 0", n)
	}
}
