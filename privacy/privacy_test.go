package privacy

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// reference is testdata/accountant.json, written by testdata/gen.py: the
// RDP of each case at every order, with A_α integrated numerically from
// its definition (not by the series this package sums), and ε by both
// conversions.
type reference struct {
	Orders []float64
	Cases  []struct {
		Q, Sigma       float64
		Steps          int
		Delta          float64
		RDP            []float64
		Epsilon        float64
		ClassicEpsilon float64 `json:"classic_epsilon"`
	}
}

func TestAgainstIntegration(t *testing.T) {
	b, err := os.ReadFile("testdata/accountant.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Orders) != len(Orders) || len(ref.Cases) < 5 {
		t.Fatalf("%d orders and %d cases in the reference, %d orders here", len(ref.Orders), len(ref.Cases), len(Orders))
	}
	for i, a := range Orders {
		if ref.Orders[i] != a {
			t.Fatalf("order %d is %v, the reference's %v", i, a, ref.Orders[i])
		}
	}
	within := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 0.01*math.Abs(want) || math.IsNaN(got) {
			t.Errorf("%s = %v, want %v (1%%)", what, got, want)
		}
	}
	for _, c := range ref.Cases {
		for i, a := range Orders {
			within("RDP", RDP(c.Q, c.Sigma, a)*float64(c.Steps), c.RDP[i])
		}
		e, _ := Epsilon(c.Q, c.Sigma, c.Steps, c.Delta)
		within("epsilon", e, c.Epsilon)
		e, _ = ClassicEpsilon(c.Q, c.Sigma, c.Steps, c.Delta)
		within("classic epsilon", e, c.ClassicEpsilon)
	}
}

func TestEdges(t *testing.T) {
	if r := RDP(0, 1, 2); r != 0 {
		t.Errorf("RDP at q = 0: %v", r)
	}
	if e, _ := Epsilon(0.01, 0, 10, 1e-5); !math.IsInf(e, 1) {
		t.Errorf("epsilon without noise: %v", e)
	}
	// Without sampling, the Gaussian mechanism's RDP is α/(2σ²).
	if r := RDP(1, 2, 3); math.Abs(r-3.0/8) > 1e-12 {
		t.Errorf("RDP at q = 1: %v", r)
	}
	// More steps, more noise.
	e1, _ := Epsilon(0.01, 1, 100, 1e-5)
	e2, _ := Epsilon(0.01, 1, 200, 1e-5)
	e3, _ := Epsilon(0.01, 2, 200, 1e-5)
	if !(e1 < e2 && e3 < e2) {
		t.Errorf("epsilon %v, %v, %v: not monotone", e1, e2, e3)
	}
}

func TestNoiseFor(t *testing.T) {
	for _, target := range []float64{0.5, 1.2, 8} {
		s, err := NoiseFor(target, 0.004, 3750, 1e-5)
		if err != nil {
			t.Fatal(err)
		}
		e, _ := Epsilon(0.004, s, 3750, 1e-5)
		e2, _ := Epsilon(0.004, s*0.995, 3750, 1e-5)
		if e > target || e2 <= target {
			t.Errorf("target %v: sigma %v gives %v, 0.5%% less gives %v", target, s, e, e2)
		}
	}
	for _, bad := range []float64{0, -1, math.Inf(1), math.NaN()} {
		if _, err := NoiseFor(bad, 0.01, 100, 1e-5); err == nil {
			t.Errorf("target %v accepted", bad)
		}
	}
}
