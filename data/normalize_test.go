package data

import (
	"math"
	"strings"
	"testing"
)

// TestStandardize holds the statistics and the scaled values to those of
// scikit-learn's StandardScaler (population standard deviation; a constant
// column scaled by 1), for a feature of ordinary size, one near 55,000 and
// a constant one.
func TestStandardize(t *testing.T) {
	d := &Dataset{Name: "t.csv", N: 4, Features: 3, X: []float32{
		1, 55000, 5,
		2, 55010, 5,
		3, 54990, 5,
		4, 55000, 5,
	}}
	s := Standardize(d)
	wantMean := []float64{2.5, 55000, 5}
	wantStd := []float64{math.Sqrt(1.25), math.Sqrt(50), 1}
	for j := range 3 {
		if math.Abs(s.Mean[j]-wantMean[j]) > 1e-12 || math.Abs(s.Std[j]-wantStd[j]) > 1e-12 {
			t.Errorf("feature %d: mean %v std %v, want %v and %v", j, s.Mean[j], s.Std[j], wantMean[j], wantStd[j])
		}
	}
	if err := s.Apply(d); err != nil {
		t.Fatal(err)
	}
	// StandardScaler().fit_transform of the columns above.
	want := []float64{
		-1.3416407864998738, 0, 0,
		-0.4472135954999579, 1.4142135623730951, 0,
		0.4472135954999579, -1.4142135623730951, 0,
		1.3416407864998738, 0, 0,
	}
	for i, x := range d.X {
		if math.Abs(float64(x)-want[i]) > 1e-6 {
			t.Errorf("X[%d] = %v, want %v", i, x, want[i])
		}
	}
}

// TestStandardizePixels scales images held as bytes, which become floats.
func TestStandardizePixels(t *testing.T) {
	d := &Dataset{Name: "img", N: 2, Features: 2, Pixels: []uint8{0, 255, 255, 255}}
	s := Standardize(d)
	if s.Mean[0] != 0.5 || s.Std[0] != 0.5 || s.Mean[1] != 1 || s.Std[1] != 1 {
		t.Fatalf("got mean %v std %v", s.Mean, s.Std)
	}
	if err := s.Apply(d); err != nil {
		t.Fatal(err)
	}
	if d.Pixels != nil || len(d.X) != 4 || d.X[0] != -1 || d.X[2] != 1 || d.X[1] != 0 {
		t.Errorf("got X %v, Pixels %v", d.X, d.Pixels)
	}
}

func TestStandardizationCheck(t *testing.T) {
	d := &Dataset{Name: "t.csv", N: 1, Features: 2, X: []float32{1, 2}}
	for _, tt := range []struct {
		s    Standardization
		want string
	}{
		{Standardization{Mean: []float64{0}, Std: []float64{1}}, "t.csv: normalisation of 1 and 1 features, the data has 2"},
		{Standardization{Mean: []float64{0, 0}, Std: []float64{1, 0}}, "t.csv: normalisation of feature 2: mean 0, standard deviation 0"},
		{Standardization{Mean: []float64{math.NaN(), 0}, Std: []float64{1, 1}}, "t.csv: normalisation of feature 1: mean NaN"},
	} {
		if err := tt.s.Apply(d); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("got %v, want %s", err, tt.want)
		}
	}
	if d.X[0] != 1 || d.X[1] != 2 {
		t.Errorf("a refused normalisation changed the data: %v", d.X)
	}
}
