package kernels

import (
	"math"
	"testing"
)

func TestExpNeg32(t *testing.T) {
	// Every 97th float32 from 0 down to the cut, and the edges.
	worst := 0.0
	for b := uint32(0x80000000); ; b += 331 {
		x := math.Float32frombits(b)
		if !(x > -87.3) {
			break
		}
		got := expNeg32(x)
		want := math.Exp(float64(x))
		ulp := float64(math.Nextafter32(float32(want), 2)) - float64(float32(want))
		if e := math.Abs(float64(got)-want) / ulp; e > worst {
			worst = e
		}
	}
	if worst > 2 {
		t.Errorf("expNeg32: error up to %.2f ulp, want at most 2", worst)
	}
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {-87.4, 0}, {-1000, 0}, {float32(math.Inf(-1)), 0},
	} {
		if got := expNeg32(c.x); got != c.want {
			t.Errorf("expNeg32(%g) = %g, want %g", c.x, got, c.want)
		}
	}
	if got := expNeg32(float32(math.NaN())); got == got {
		t.Errorf("expNeg32(NaN) = %g, want NaN", got)
	}
}
