package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// TestQAddNearFloat: QAdd's integer arithmetic lands within one step of
// the real sum requantized (round half to even), and on it for all but a
// small share of the pairs, over scales several orders apart, with the
// fused ReLU clamping at the output's zero point.
func TestQAddNearFloat(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for c := range 200 {
		as, bs := math.Exp(rng.Float64()*6-8), math.Exp(rng.Float64()*6-8)
		os := (as*255 + bs*255) / 255 * (0.5 + rng.Float64())
		az, bz, oz := rng.Intn(256), rng.Intn(256), rng.Intn(256)
		relu := c%3 == 0
		n := 1 + rng.Intn(300)
		a, b, dst := make([]uint8, n), make([]uint8, n), make([]uint8, n)
		for i := range a {
			a[i], b[i] = uint8(rng.Intn(256)), uint8(rng.Intn(256))
		}
		QAdd(dst, a, b, as, az, bs, bz, os, oz, relu)
		off := 0
		for i := range dst {
			real := as*float64(int(a[i])-az) + bs*float64(int(b[i])-bz)
			lo := 0.0
			if relu {
				lo = float64(oz)
			}
			want := min(max(math.RoundToEven(real/os)+float64(oz), lo), 255)
			if d := math.Abs(float64(dst[i]) - want); d > 1 {
				t.Fatalf("case %d: %g·(%d−%d) + %g·(%d−%d) at scale %g, zp %d: got %d, want %v", c, as, a[i], az, bs, b[i], bz, os, oz, dst[i], want)
			} else if d == 1 {
				off++
			}
		}
		if off*20 > n+20 {
			t.Errorf("case %d: %d of %d sums one step off", c, off, n)
		}
	}
}

// TestQAddExact: sums on the output grid come out exactly, including the
// saturation at both ends and the ReLU's clamp.
func TestQAddExact(t *testing.T) {
	a := []uint8{0, 10, 128, 255, 110, 95, 100}
	b := []uint8{0, 20, 128, 255, 40, 61, 50}
	dst := make([]uint8, len(a))
	// a at 0.5, zp 100; b at 0.25, zp 50; out at 0.25, zp 128:
	// out = 128 + 2(a−100) + (b−50).
	QAdd(dst, a, b, 0.5, 100, 0.25, 50, 0.25, 128, false)
	want := []int{0, 0, 255, 255, 128 + 20 - 10, 128 - 10 + 11, 128}
	for i := range want {
		if int(dst[i]) != want[i] {
			t.Errorf("%d: got %d, want %d", i, dst[i], want[i])
		}
	}
	QAdd(dst[:1], []uint8{100}, []uint8{51}, 0.5, 100, 0.25, 50, 0.25, 128, true)
	if dst[0] != 129 {
		t.Errorf("relu, positive: got %d, want 129", dst[0])
	}
	QAdd(dst[:1], []uint8{99}, []uint8{50}, 0.5, 100, 0.25, 50, 0.25, 128, true)
	if dst[0] != 128 {
		t.Errorf("relu, negative: got %d, want 128 (the zero point)", dst[0])
	}
}
