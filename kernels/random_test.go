package kernels

import (
	"math"
	"testing"
)

func TestUniformNormal(t *testing.T) {
	u := make([]float32, 10000)
	Uniform(u, -0.5, 1.5, newRNG())
	sum := 0.0
	for _, v := range u {
		if v < -0.5 || v > 1.5 {
			t.Fatalf("Uniform value %v outside [-0.5, 1.5)", v)
		}
		sum += float64(v)
	}
	if m := sum / float64(len(u)); math.Abs(m-0.5) > 0.03 {
		t.Errorf("Uniform mean = %v, want about 0.5", m)
	}
	again := make([]float32, len(u))
	Uniform(again, -0.5, 1.5, newRNG())
	checkClose(t, "Uniform with the same seed", again, to64(u), 0)

	g := make([]float64, 10000)
	Normal(g, 2, 3, newRNG())
	mean, sq := 0.0, 0.0
	for _, v := range g {
		mean += v / float64(len(g))
	}
	for _, v := range g {
		sq += (v - mean) * (v - mean) / float64(len(g))
	}
	if math.Abs(mean-2) > 0.1 || math.Abs(math.Sqrt(sq)-3) > 0.1 {
		t.Errorf("Normal mean, std = %v, %v; want about 2, 3", mean, math.Sqrt(sq))
	}
}

func TestDropout(t *testing.T) {
	mask := make([]float32, 10000)
	DropoutMask(mask, 0.25, newRNG())
	zeros := 0
	for _, v := range mask {
		switch v {
		case 0:
			zeros++
		case float32(1 / 0.75):
		default:
			t.Fatalf("mask value %v, want 0 or 1/(1-p)", v)
		}
	}
	if f := float64(zeros) / float64(len(mask)); math.Abs(f-0.25) > 0.02 {
		t.Errorf("dropped fraction %v, want about 0.25", f)
	}
	x := randSlice[float32](newRNG(), len(mask), -1, 1)
	dst, dx := make([]float32, len(x)), make([]float32, len(x))
	Dropout(dst, x, mask)
	DropoutBackward(dx, x, mask)
	for i := range x {
		if want := x[i] * mask[i]; dst[i] != want || dx[i] != want {
			t.Fatalf("Dropout[%d] = %v, %v; want %v", i, dst[i], dx[i], want)
		}
	}
	DropoutMask(mask, 0, newRNG())
	DropoutMask(mask[:10], 1, newRNG())
	for i, v := range mask {
		if want := float32(1); i < 10 && v != 0 || i >= 10 && v != want {
			t.Fatalf("mask[%d] = %v after p = 0 then p = 1 on the first 10", i, v)
		}
	}
	mustPanic(t, "Dropout", func() { Dropout(dst, x[1:], mask) })
}
