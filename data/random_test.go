package data

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nnc-go/nnc/ir"
)

func TestRandom(t *testing.T) {
	for _, kind := range []ir.Loss{ir.CrossEntropy, ir.MSE, ir.BCEWithLogits} {
		t.Run(kind.String(), func(t *testing.T) {
			ds, err := Random(1000, 10, 3, kind, 7)
			if err != nil {
				t.Fatal(err)
			}
			checkDataset(t, ds)
			if ds.Name != "random(samples=1000)" || ds.N != 1000 || ds.Features != 10 {
				t.Errorf("Name %q, N %d, Features %d", ds.Name, ds.N, ds.Features)
			}
			mean, sd := meanSD(ds.X)
			if math.Abs(mean) > 0.05 || math.Abs(sd-1) > 0.05 {
				t.Errorf("features: mean %.3f, standard deviation %.3f, want about 0 and 1", mean, sd)
			}

			switch kind {
			case ir.CrossEntropy:
				if ds.Classes != 3 || ds.Targets != nil {
					t.Errorf("Classes %d, Targets %v", ds.Classes, ds.Targets)
				}
				var count [3]int
				for _, l := range ds.Labels {
					count[l]++
				}
				for c, n := range count {
					if n < 250 || n > 420 {
						t.Errorf("%d labels of class %d in 1000, want about 333", n, c)
					}
				}
			case ir.MSE:
				if ds.TargetWidth != 3 || ds.Labels != nil || ds.Classes != 0 {
					t.Errorf("TargetWidth %d, Labels %v, Classes %d", ds.TargetWidth, ds.Labels, ds.Classes)
				}
				mean, sd := meanSD(ds.Targets)
				if math.Abs(mean) > 0.1 || math.Abs(sd-1) > 0.1 {
					t.Errorf("targets: mean %.3f, standard deviation %.3f, want about 0 and 1", mean, sd)
				}
			case ir.BCEWithLogits:
				if ds.TargetWidth != 3 || ds.Labels != nil || ds.Classes != 0 {
					t.Errorf("TargetWidth %d, Labels %v, Classes %d", ds.TargetWidth, ds.Labels, ds.Classes)
				}
				ones := 0
				for _, v := range ds.Targets {
					switch v {
					case 1:
						ones++
					case 0:
					default:
						t.Fatalf("binary target %v", v)
					}
				}
				if ones < 1350 || ones > 1650 {
					t.Errorf("%d ones in 3000 binary targets, want about 1500", ones)
				}
			}
		})
	}
}

func meanSD(x []float32) (mean, sd float64) {
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	for _, v := range x {
		sd += (float64(v) - mean) * (float64(v) - mean)
	}
	return mean, math.Sqrt(sd / float64(len(x)))
}

func TestRandomDeterministic(t *testing.T) {
	a, _ := Random(50, 4, 5, ir.CrossEntropy, 1)
	b, _ := Random(50, 4, 5, ir.CrossEntropy, 1)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different data (-first +second):\n%s", diff)
	}
	c, _ := Random(50, 4, 5, ir.CrossEntropy, 2)
	if cmp.Equal(a.X, c.X) || cmp.Equal(a.Labels, c.Labels) {
		t.Error("seeds 1 and 2 give the same data")
	}
	// The features do not depend on the kind of target.
	v, _ := Random(50, 4, 1, ir.MSE, 1)
	if !cmp.Equal(a.X, v.X) {
		t.Error("features change with the kind of target")
	}
}

// TestRandomPinned pins the first values of a seed, so that a change to
// the generator, which would change every training run, is noticed.
func TestRandomPinned(t *testing.T) {
	ds, err := Random(2, 2, 10, ir.CrossEntropy, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := &Dataset{
		Name: "random(samples=2)", N: 2, Features: 2, Classes: 10,
		X:      []float32{-0.7217237, 0.19964454, 0.2875588, -0.009591448},
		Labels: []int32{2, 6},
	}
	if diff := cmp.Diff(want, ds); diff != "" {
		t.Errorf("Random(2, 2, 10, ir.CrossEntropy, 0) changed (-want +got):\n%s", diff)
	}
}

func TestRandomErrors(t *testing.T) {
	tests := []struct {
		samples, features, classes int
		kind                       ir.Loss
		want                       string
	}{
		{0, 10, 2, ir.CrossEntropy, "random: samples = 0, want at least 1"},
		{10, 0, 2, ir.CrossEntropy, "random: features = 0, want at least 1"},
		{10, 10, 0, ir.CrossEntropy, "random: classes = 0, want at least 1"},
		{10, 10, 0, ir.MSE, "random: 0 targets per sample, want at least 1"},
		{10, 10, 1, 7, "random: unknown loss Loss(7)"},
		{10, 10, 1, ir.NoLoss, "random: unknown loss none"},
		{1 << 20, 1 << 20, 2, ir.CrossEntropy, "random: 1048576 samples of 1048576 features is too large"},
		{1 << 20, 1, 1 << 20, ir.BCEWithLogits, "random: 1048576 samples of 1048576 targets is too large"},
	}
	for _, tt := range tests {
		_, err := Random(tt.samples, tt.features, tt.classes, tt.kind, 0)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Random(%d, %d, %d, %v): error %v, want %s", tt.samples, tt.features, tt.classes, tt.kind, err, tt.want)
		}
	}
}
