package train_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/passes"
	"github.com/nnc-go/nnc/train"
)

// explainGraphs compiles a model file for explaining: the explanation
// graph and the forward pass, both planned for batch rows.
func explainGraphs(t testing.TB, file string, batch int) (*ir.Program, *ir.Graph) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := nnc.Compile(file, src, nnc.Options{After: "none"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := passes.Explain(p.Forward)
	if err != nil {
		t.Fatal(err)
	}
	for _, gr := range []*ir.Graph{g, p.Forward} {
		gr.Attrs = gr.Attrs.Set("batch", batch)
		if err := passes.Run(gr, passes.Options{Verify: true}); err != nil {
			t.Fatal(err)
		}
	}
	return p, g
}

// TestExplainParity compares saliency and integrated gradients with
// torch.autograd's (testdata/explain/gen.py): the float64 models within
// 1e-10, the float32 ones within 1e-5 of the float64 computation on their
// values, relative to the largest attribution of the case.
func TestExplainParity(t *testing.T) {
	dir := filepath.Join("..", "testdata", "explain")
	for _, name := range []string{"mlp", "cnn", "mlp32", "cnn32"} {
		t.Run(name, func(t *testing.T) {
			tol := 1e-10
			if name[len(name)-2:] == "32" {
				tol = 1e-5
			}
			var ref struct {
				Targets []int
				Gap     []float64
			}
			b, err := os.ReadFile(filepath.Join(dir, name+".json"))
			if err == nil {
				err = json.Unmarshal(b, &ref)
			}
			if err != nil {
				t.Fatal(err)
			}
			// A batch smaller than the rows, and than the steps, so that
			// items cross batches.
			p, g := explainGraphs(t, filepath.Join(dir, name+".nn"), 3)
			in, err := train.ReadExplainInput(filepath.Join(dir, name+"_x.npy"), p.Forward, "")
			if err != nil {
				t.Fatal(err)
			}
			orig := slices.Clone(in.X)
			weights := filepath.Join(dir, name+".safetensors")
			for _, c := range []struct {
				method, want string
				target       int
			}{
				{train.Saliency, "saliency", -1},
				{train.IntegratedGradients, "ig", -1},
				{train.IntegratedGradients, "ig_t1", 1},
			} {
				ex, err := train.Explain(p, g, in, train.ExplainOptions{Weights: weights, Method: c.method, Target: c.target, Steps: 50})
				if err != nil {
					t.Fatalf("%s: %v", c.want, err)
				}
				shape, want, err := train.ReadNPY(filepath.Join(dir, name+"_"+c.want+".npy"))
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(shape, in.Shape) {
					t.Fatalf("%s: reference of shape %v, input %v", c.want, shape, in.Shape)
				}
				closeTo(t, c.want, ex.Attr, want, tol)
				if c.target < 0 && !slices.Equal(ex.Targets, ref.Targets) {
					t.Errorf("%s: targets %v, PyTorch's argmax %v", c.want, ex.Targets, ref.Targets)
				}
				if c.want == "ig" {
					closeTo(t, "y(x) - y(0)", ex.Gap, ref.Gap, tol)
					for i := range ex.N {
						sum := 0.0
						for _, a := range ex.Attr[i*ex.Features : (i+1)*ex.Features] {
							sum += a
						}
						if d := sum - ex.Gap[i]; math.Abs(d-ex.Delta[i]) > 1e-9*math.Max(1, math.Abs(sum)) {
							t.Errorf("row %d: completeness error %v, Σattr − gap is %v", i+1, ex.Delta[i], d)
						}
					}
				}
			}
			if !slices.Equal(in.X, orig) {
				t.Errorf("Explain modified its input")
			}
		})
	}
}

// TestExplainCompleteness holds integrated gradients of the CNN, whose
// path the 50 Gauss–Legendre points integrate well, to completeness
// within 1% of y(x) − y(x′), and checks that Σ attr − (y(x) − y(x′)) is
// what Delta reports.
func TestExplainCompleteness(t *testing.T) {
	dir := filepath.Join("..", "testdata", "explain")
	p, g := explainGraphs(t, filepath.Join(dir, "cnn.nn"), 64)
	in, err := train.ReadExplainInput(filepath.Join(dir, "cnn_x.npy"), p.Forward, "")
	if err != nil {
		t.Fatal(err)
	}
	ex, err := train.Explain(p, g, in, train.ExplainOptions{Weights: filepath.Join(dir, "cnn.safetensors"), Method: train.IntegratedGradients, Target: -1, Steps: 50})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ex.N {
		if math.Abs(ex.Delta[i]) > 0.01*math.Abs(ex.Gap[i]) {
			t.Errorf("row %d: completeness error %.3g of y(x) − y(0) = %.4g", i+1, ex.Delta[i], ex.Gap[i])
		}
	}
}

// TestSmoothGrad checks SmoothGrad against its definition: with no noise
// it is saliency; with noise, the same seed gives the same attributions,
// another seed others, and one sample of a seed is the saliency at the
// noisy point, which is no longer the plain saliency.
func TestSmoothGrad(t *testing.T) {
	dir := filepath.Join("..", "testdata", "explain")
	p, g := explainGraphs(t, filepath.Join(dir, "mlp.nn"), 4)
	in, err := train.ReadExplainInput(filepath.Join(dir, "mlp_x.npy"), p.Forward, "")
	if err != nil {
		t.Fatal(err)
	}
	run := func(opt train.ExplainOptions) []float64 {
		t.Helper()
		opt.Weights, opt.Target = filepath.Join(dir, "mlp.safetensors"), -1
		ex, err := train.Explain(p, g, in, opt)
		if err != nil {
			t.Fatal(err)
		}
		return ex.Attr
	}
	sal := run(train.ExplainOptions{Method: train.Saliency})
	closeTo(t, "stdev 0", run(train.ExplainOptions{Method: train.SmoothGrad, Samples: 3, Stdev: 0}), sal, 1e-15)
	a := run(train.ExplainOptions{Method: train.SmoothGrad, Samples: 5, Stdev: 0.5, Seed: 7})
	b := run(train.ExplainOptions{Method: train.SmoothGrad, Samples: 5, Stdev: 0.5, Seed: 7})
	c := run(train.ExplainOptions{Method: train.SmoothGrad, Samples: 5, Stdev: 0.5, Seed: 8})
	if !slices.Equal(a, b) {
		t.Errorf("the same seed gave different attributions")
	}
	if slices.Equal(a, c) || slices.Equal(a, sal) {
		t.Errorf("the noise changed nothing")
	}
	for i, v := range a {
		if !(v >= 0) {
			t.Fatalf("attribution %d is %v, want |∂y/∂x| ≥ 0", i, v)
		}
	}
}

// TestGaussLegendre checks the quadrature: weights summing to 1, points
// in (0, 1) in order, symmetric, and exact for x^k, k < 2n.
func TestGaussLegendre(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 50, 51} {
		alphas, weights := train.GaussLegendre(n)
		for k := 0; k < 2*n && k < 40; k++ {
			got := 0.0
			for i, a := range alphas {
				got += weights[i] * math.Pow(a, float64(k))
			}
			if want := 1 / float64(k+1); math.Abs(got-want) > 1e-13 {
				t.Errorf("n=%d: ∫x^%d = %.16g, want %.16g", n, k, got, want)
			}
		}
		for i := range n {
			if !(alphas[i] > 0 && alphas[i] < 1) || i > 0 && !(alphas[i] > alphas[i-1]) {
				t.Errorf("n=%d: points %v not increasing in (0, 1)", n, alphas)
				break
			}
			if math.Abs(alphas[i]+alphas[n-1-i]-1) > 1e-15 || math.Abs(weights[i]-weights[n-1-i]) > 1e-15 {
				t.Errorf("n=%d: point %d not symmetric", n, i)
			}
		}
	}
	// numpy.polynomial.legendre.leggauss(2) on [0, 1].
	a, w := train.GaussLegendre(2)
	if want := 0.5 - 0.5/math.Sqrt(3); math.Abs(a[0]-want) > 1e-16 || math.Abs(w[0]-0.5) > 1e-15 {
		t.Errorf("n=2: %v %v", a, w)
	}
}

// closeTo fails unless |got − want| ≤ tol·max(1, max|want|) elementwise.
func closeTo(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 1.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	worst, at := 0.0, 0
	for i := range got {
		if d := math.Abs(got[i] - want[i]); !(d <= worst) {
			worst, at = d, i
		}
	}
	if !(worst <= tol*scale) {
		t.Errorf("%s: value %d is %.12g, want %.12g (largest difference %.3g > %.3g)", what, at, got[at], want[at], worst, tol*scale)
	} else {
		t.Logf("%s: largest difference %.3g (scale %.3g)", what, worst, scale)
	}
}

// TestNPY round-trips arrays through WriteNPY and ReadNPY, and checks
// that a truncated file, values of another type and Fortran order are
// errors.
func TestNPY(t *testing.T) {
	dir := t.TempDir()
	x := []float64{1, -2.5, 3, 4, 5, 6.25}
	for _, f64 := range []bool{false, true} {
		path := filepath.Join(dir, "a.npy")
		if err := train.WriteNPY(path, []int{1, 2, 3}, x, f64); err != nil {
			t.Fatal(err)
		}
		shape, got, err := train.ReadNPY(path)
		if err != nil || !slices.Equal(shape, []int{1, 2, 3}) || !slices.Equal(got, x) {
			t.Fatalf("f64=%v: got %v %v %v", f64, shape, got, err)
		}
		b, _ := os.ReadFile(path)
		os.WriteFile(path, b[:len(b)-1], 0o644)
		if _, _, err := train.ReadNPY(path); err == nil || !strings.Contains(err.Error(), "the file has") {
			t.Errorf("f64=%v: truncated file: %v", f64, err)
		}
	}
	header := func(descr string) []byte {
		h := "{'descr': '" + descr + "', 'fortran_order': " + map[bool]string{true: "True", false: "False"}[descr == "<f8"] + ", 'shape': (2, 2), }"
		for (10+len(h)+1)%64 != 0 {
			h += " "
		}
		b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)+1), 0)
		return append(append(b, h...), '\n')
	}
	for descr, want := range map[string]string{"<i4": "values of type <i4", "<f8": "Fortran order"} {
		path := filepath.Join(dir, "b.npy")
		size := map[string]int{"<i4": 4, "<f8": 8}[descr]
		os.WriteFile(path, append(header(descr), make([]byte, 4*size)...), 0o644)
		if _, _, err := train.ReadNPY(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", descr, err, want)
		}
	}
	if err := train.WriteNPY(filepath.Join(dir, "c.npy"), []int{2, 2}, x, true); err == nil {
		t.Errorf("6 values of shape (2, 2) written")
	}
}

// FuzzReadNPY: no file makes ReadNPY panic, and what it accepts has as
// many values as its shape says.
func FuzzReadNPY(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.npy")
	if err := train.WriteNPY(path, []int{2, 3}, []float64{1, 2, 3, 4, 5, 6}, false); err != nil {
		f.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	f.Add(b)
	f.Add([]byte("\x93NUMPY\x01\x00\x10\x00{'descr': '|O'}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "f.npy")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		shape, x, err := train.ReadNPY(p)
		if err != nil {
			return
		}
		n := 1
		for _, k := range shape {
			n *= k
		}
		if n != len(x) {
			t.Fatalf("shape %v with %d values", shape, len(x))
		}
	})
}
