package data

import (
	"fmt"
	"math"
)

// Standardization is the per-feature scaling of csv(..., normalize =
// true): feature j becomes (x - Mean[j]) / Std[j], computed in float64 and
// rounded to float32, as scikit-learn's StandardScaler scales.
type Standardization struct {
	Mean, Std []float64
}

// Standardize returns the mean and the population standard deviation of
// each feature of d (dividing by N, as StandardScaler does). A constant
// feature gets standard deviation 1, so that it scales to 0 and divides by
// nothing small.
func Standardize(d *Dataset) *Standardization {
	s := &Standardization{Mean: make([]float64, d.Features), Std: make([]float64, d.Features)}
	lo := make([]float32, d.Features)
	hi := make([]float32, d.Features)
	for i := range d.N {
		for j, x := range d.Row(i) {
			s.Mean[j] += float64(x)
			if i == 0 || x < lo[j] {
				lo[j] = x
			}
			if i == 0 || x > hi[j] {
				hi[j] = x
			}
		}
	}
	for j := range s.Mean {
		s.Mean[j] /= float64(d.N)
	}
	for i := range d.N {
		for j, x := range d.Row(i) {
			dx := float64(x) - s.Mean[j]
			s.Std[j] += dx * dx
		}
	}
	for j := range s.Std {
		s.Std[j] = math.Sqrt(s.Std[j] / float64(d.N))
		if lo[j] == hi[j] || s.Std[j] == 0 {
			s.Std[j] = 1
		}
	}
	return s
}

// Check reports whether s fits data of features values per row, with
// finite means and positive, finite standard deviations.
func (s *Standardization) Check(features int) error {
	if len(s.Mean) != features || len(s.Std) != features {
		return fmt.Errorf("normalisation of %d and %d features, the data has %d", len(s.Mean), len(s.Std), features)
	}
	for j := range s.Mean {
		if m, sd := s.Mean[j], s.Std[j]; math.IsNaN(m) || math.IsInf(m, 0) || !(sd > 0) || math.IsInf(sd, 0) {
			return fmt.Errorf("normalisation of feature %d: mean %v, standard deviation %v", j+1, m, sd)
		}
	}
	return nil
}

// Apply scales the features of d in place (a data set held as Pixels is
// converted to X first). s must fit d (Check).
func (s *Standardization) Apply(d *Dataset) error {
	if err := s.Check(d.Features); err != nil {
		return fmt.Errorf("%s: %v", d.Name, err)
	}
	if d.Pixels != nil {
		x := make([]float32, 0, d.N*d.Features)
		for i := range d.N {
			x = append(x, d.Row(i)...)
		}
		d.X, d.Pixels = x, nil
	}
	for i := range d.N {
		row := d.X[i*d.Features : (i+1)*d.Features]
		for j, x := range row {
			row[j] = float32((float64(x) - s.Mean[j]) / s.Std[j])
		}
	}
	return nil
}
