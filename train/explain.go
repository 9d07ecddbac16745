package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
	"github.com/nnc-go/nnc/passes"
)

// The attribution methods of Explain, as Captum defines them by default.
const (
	// Saliency is |∂y/∂x|: the absolute gradient of the target's output
	// (captum.attr.Saliency, abs=True).
	Saliency = "saliency"
	// IntegratedGradients is (x − x′)·∫₀¹ ∂y/∂x(x′ + α(x − x′)) dα from the
	// zero baseline x′, the integral by Gauss–Legendre quadrature
	// (captum.attr.IntegratedGradients, method="gausslegendre").
	IntegratedGradients = "ig"
	// SmoothGrad is the mean saliency of noisy copies x + ε, ε ~ N(0,
	// stdev²) per element (captum.attr.NoiseTunnel over Saliency,
	// nt_type="smoothgrad").
	SmoothGrad = "smoothgrad"
)

// Methods lists the attribution methods.
var Methods = []string{Saliency, IntegratedGradients, SmoothGrad}

// ExplainOptions configure Explain.
type ExplainOptions struct {
	// Weights names the safetensors checkpoint of the model.
	Weights string
	// Method is Saliency, IntegratedGradients or SmoothGrad.
	Method string
	// Target is the output (class) whose gradient is taken, the same for
	// every row; -1 takes each row's predicted class (its highest score,
	// or class 0 of a single output).
	Target int
	// Steps is the number of Gauss–Legendre points of integrated
	// gradients (Captum's n_steps, default 50).
	Steps int
	// Samples and Stdev are SmoothGrad's number of noisy copies per row
	// and the standard deviation of their noise (Captum's nt_samples,
	// default 5, and stdevs, default 1.0); Seed seeds the noise.
	Samples int
	Stdev   float64
	Seed    uint64
	// Loss says how the outputs read (probabilities); NoLoss takes the
	// one the checkpoint records.
	Loss ir.Loss
}

// Explanation holds the attributions of each row of an input.
type Explanation struct {
	// N is the number of rows, Features the input values per row.
	N, Features int
	// Attr holds the attributions, N×Features, row-major, laid out as the
	// input.
	Attr []float64
	// Targets holds the output each row's attributions are of.
	Targets []int
	// Pred holds the model's outputs on the rows: their class scores,
	// logits or values, with the probabilities they give.
	Pred *Predictions
	// Delta holds, for integrated gradients, each row's completeness
	// error Σ attr − (y(x) − y(x′)), and Gap its y(x) − y(x′); nil for
	// the other methods.
	Delta, Gap []float64
}

// Prob returns the probability the model gives row i's target: the
// softmax of class scores, the sigmoid of a logit; NaN for values.
func (e *Explanation) Prob(i int) float64 {
	if e.Pred.Loss != ir.CrossEntropy && e.Pred.Loss != ir.BCEWithLogits {
		return math.NaN()
	}
	return e.Pred.Probabilities(i, nil)[e.Targets[i]]
}

// ExplainInput is the rows to explain: n rows of the model's input, in
// the model's feature order, as read from a file.
type ExplainInput struct {
	N int
	X []float64
	// Shape is the shape of the file's array ([N, features] for a CSV
	// file), which the attributions take.
	Shape []int
}

// Explain computes attributions of the rows of in with the weights of a
// checkpoint. p's Forward graph must have been through the passes; g is
// passes.Explain of the forward graph as built, through the passes too
// (planned for any batch). Rows are given as the user's features: when
// the model was trained on standardised features (csv(..., normalize =
// true)) they are standardised as predicting does, and the attributions
// are of the raw features.
func Explain(p *ir.Program, g *ir.Graph, in *ExplainInput, opt ExplainOptions) (*Explanation, error) {
	x := g.Sources(ir.OpInput)[0]
	out := g.Output("out")
	if g.Plan == nil || p.Forward.Plan == nil || x.Name == passes.SeedInput || out == nil {
		return nil, fmt.Errorf("explain: the graphs are not planned explanation and forward graphs")
	}
	width, features := out.Type.Shape.Elems(), x.Type.Shape.Elems()
	switch {
	case opt.Target < -1 || opt.Target >= width:
		return nil, fmt.Errorf("target %d is outside the model's %d outputs (0 to %d)", opt.Target, width, width-1)
	case opt.Method == IntegratedGradients && (opt.Steps < 1 || opt.Steps > 1000):
		return nil, fmt.Errorf("integrated gradients needs 1 to 1000 steps, got %d", opt.Steps)
	case opt.Method == SmoothGrad && (opt.Samples < 1 || !(opt.Stdev >= 0) || math.IsInf(opt.Stdev, 0)):
		return nil, fmt.Errorf("smoothgrad needs at least 1 sample and a finite standard deviation ≥ 0, got %d and %v", opt.Samples, opt.Stdev)
	case opt.Method != Saliency && opt.Method != IntegratedGradients && opt.Method != SmoothGrad:
		return nil, fmt.Errorf("unknown method %q: want saliency, ig or smoothgrad", opt.Method)
	case len(in.X) != in.N*features:
		return nil, fmt.Errorf("%d rows need %d values, got %d", in.N, in.N*features, len(in.X))
	}
	f, err := checkpoint.Read(opt.Weights)
	if err != nil {
		return nil, err
	}
	info, err := dataInfo(f.Metadata)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", opt.Weights, err)
	}
	if opt.Loss != ir.NoLoss {
		info.Loss = opt.Loss
	}
	if info.Norm != nil {
		if err := info.Norm.Check(features); err != nil {
			return nil, fmt.Errorf("%s: %v", opt.Weights, err)
		}
	}
	if x.Type.DType == ir.F64 {
		return explain[float64](p, g, f, info, in, opt)
	}
	return explain[float32](p, g, f, info, in, opt)
}

// explainer runs the explanation graph in batches.
type explainer[T kernels.Float] struct {
	m               *interp.Machine[T]
	x, seed, grad   []T
	out             []T
	width, features int
	// mean and std standardise a row the model reads; nil without.
	mean, std []float64
}

func explain[T kernels.Float](p *ir.Program, g *ir.Graph, f *checkpoint.File, info DataInfo, in *ExplainInput, opt ExplainOptions) (*Explanation, error) {
	store := interp.NewStore[T]()
	for _, gr := range []*ir.Graph{p.Forward, g} {
		if err := store.Init(gr, 0); err != nil {
			return nil, err
		}
	}
	if err := loadTensors[T](store, g, f, opt.Weights); err != nil {
		return nil, err
	}
	m, err := interp.New(g, store, 0)
	if err != nil {
		return nil, err
	}
	x := g.Sources(ir.OpInput)[0]
	e := &explainer[T]{m: m, x: m.Input(x.Name), seed: m.Input(passes.SeedInput), grad: m.OutputTensor("grad." + x.Name), out: m.OutputTensor("out"),
		width: g.Output("out").Type.Shape.Elems(), features: x.Type.Shape.Elems()}
	if info.Norm != nil {
		e.mean, e.std = info.Norm.Mean, info.Norm.Std
	}
	n := in.N
	pr := &Predictions{Loss: info.Loss, N: n, Width: e.width, Data: info, Out: make([]float64, n*e.width)}
	if pr.Loss == ir.CrossEntropy && pr.Width < 2 {
		pr.Loss = ir.NoLoss
	}
	ex := &Explanation{N: n, Features: e.features, Attr: make([]float64, n*e.features), Targets: make([]int, n), Pred: pr}
	row := func(i int) []float64 { return in.X[i*e.features : (i+1)*e.features] }

	// The outputs on the rows themselves, which give the predicted
	// classes: the forward pass alone.
	fm, err := interp.New(p.Forward, store, 0)
	if err != nil {
		return nil, err
	}
	fx, fy := fm.Input(x.Name), fm.OutputTensor("out")
	for start := 0; start < n; start += fm.Batch() {
		k := min(fm.Batch(), n-start)
		for r := range k {
			e.load(fx[r*e.features:(r+1)*e.features], row(start+r), 1, nil)
		}
		if err := fm.Run(k); err != nil {
			return nil, fmt.Errorf("rows %d to %d: %w", start+1, start+k, err)
		}
		copyFloats(pr.Out[start*e.width:(start+k)*e.width], fy[:k*e.width])
	}
	for i := range n {
		switch {
		case opt.Target >= 0:
			ex.Targets[i] = opt.Target
		case pr.Width > 1:
			ex.Targets[i] = pr.Class(i)
		}
	}
	target := func(j int) int { return ex.Targets[j] }
	switch opt.Method {
	case Saliency:
		err = e.run(n, func(j int, dst []T) { e.load(dst, row(j), 1, nil) }, target, func(j int, grad, _ []T) {
			e.accumulate(ex.Attr[j*e.features:(j+1)*e.features], grad, 1, true)
		})
	case SmoothGrad:
		rng := rand.New(rand.NewPCG(opt.Seed, 0x5e0d))
		noise := make([]float64, e.features)
		k := opt.Samples
		err = e.run(n*k, func(j int, dst []T) {
			for i := range noise {
				noise[i] = opt.Stdev * rng.NormFloat64()
			}
			e.load(dst, row(j/k), 1, noise)
		}, func(j int) int { return ex.Targets[j/k] }, func(j int, grad, _ []T) {
			e.accumulate(ex.Attr[j/k*e.features:(j/k+1)*e.features], grad, 1/float64(k), true)
		})
	case IntegratedGradients:
		alphas, weights := GaussLegendre(opt.Steps)
		k := opt.Steps
		err = e.run(n*k, func(j int, dst []T) { e.load(dst, row(j/k), alphas[j%k], nil) },
			func(j int) int { return ex.Targets[j/k] }, func(j int, grad, _ []T) {
				e.accumulate(ex.Attr[j/k*e.features:(j/k+1)*e.features], grad, weights[j%k], false)
			})
		if err != nil {
			break
		}
		// The outputs at the baseline, y(x′), for the completeness check.
		base := make([]float64, n*e.width)
		err = e.run(n, func(_ int, dst []T) { e.load(dst, nil, 0, nil) }, nil,
			func(j int, _, out []T) { copyFloats(base[j*e.width:(j+1)*e.width], out) })
		ex.Delta, ex.Gap = make([]float64, n), make([]float64, n)
		for i := range n {
			a := ex.Attr[i*e.features : (i+1)*e.features]
			sum := 0.0
			for j, xj := range row(i) {
				a[j] *= xj // (x − x′)·mean gradient, x′ = 0
				sum += a[j]
			}
			t := ex.Targets[i]
			ex.Gap[i] = pr.Out[i*e.width+t] - base[i*e.width+t]
			ex.Delta[i] = sum - ex.Gap[i]
		}
	}
	if err != nil {
		return nil, err
	}
	return ex, nil
}

// load writes the row the model reads for the user's features x·alpha +
// noise (x nil: zero) into dst, standardised when the model was trained so.
func (e *explainer[T]) load(dst []T, x []float64, alpha float64, noise []float64) {
	for j := range dst {
		v := 0.0
		if x != nil {
			v = alpha * x[j]
		}
		if noise != nil {
			v += noise[j]
		}
		if e.mean != nil {
			v = (v - e.mean[j]) / e.std[j]
		}
		dst[j] = T(v)
	}
}

// accumulate adds w times the gradient grad (|grad| when abs) of the
// model's row to attr, the gradient of the user's features.
func (e *explainer[T]) accumulate(attr []float64, grad []T, w float64, abs bool) {
	for j, d := range grad {
		v := float64(d)
		if e.std != nil {
			v /= e.std[j] // ∂z/∂x of z = (x − mean)/std
		}
		if abs {
			v = math.Abs(v)
		}
		attr[j] += w * v
	}
}

// run computes items rows of the explanation graph, a batch at a time:
// fill writes item j's input row, target gives its output to
// differentiate (nil: none, a zero seed), and done receives its gradient
// and outputs.
func (e *explainer[T]) run(items int, fill func(j int, dst []T), target func(j int) int, done func(j int, grad, out []T)) error {
	b := e.m.Batch()
	for start := 0; start < items; start += b {
		k := min(b, items-start)
		clear(e.seed[:k*e.width])
		for r := range k {
			fill(start+r, e.x[r*e.features:(r+1)*e.features])
			if target != nil {
				e.seed[r*e.width+target(start+r)] = 1
			}
		}
		if err := e.m.Run(k); err != nil {
			return fmt.Errorf("rows %d to %d: %w", start+1, start+k, err)
		}
		for r := range k {
			done(start+r, e.grad[r*e.features:(r+1)*e.features], e.out[r*e.width:(r+1)*e.width])
		}
	}
	return nil
}

func copyFloats[T kernels.Float](dst []float64, src []T) {
	for i, v := range src {
		dst[i] = float64(v)
	}
}

// GaussLegendre returns the n points of Gauss–Legendre quadrature on
// [0, 1] in increasing order and their weights (which sum to 1), as
// Captum's "gausslegendre" method takes them from numpy's leggauss.
func GaussLegendre(n int) (alphas, weights []float64) {
	alphas, weights = make([]float64, n), make([]float64, n)
	for i := range (n + 1) / 2 {
		// Newton's method on Pₙ from the Chebyshev-like first guess, for
		// the i-th largest root on [−1, 1].
		z := math.Cos(math.Pi * (float64(i) + 0.75) / (float64(n) + 0.5))
		var dp float64
		for range 100 {
			p0, p1 := 1.0, z
			for k := 2; k <= n; k++ {
				p0, p1 = p1, ((2*float64(k)-1)*z*p1-(float64(k)-1)*p0)/float64(k)
			}
			// p1 = Pₙ(z), p0 = Pₙ₋₁(z).
			dp = float64(n) * (z*p1 - p0) / (z*z - 1)
			dz := p1 / dp
			z -= dz
			if math.Abs(dz) < 1e-16 {
				break
			}
		}
		w := 2 / ((1 - z*z) * dp * dp)
		// On [0, 1]: α = (1 + z)/2, weight w/2.
		alphas[n-1-i], weights[n-1-i] = (1+z)/2, w/2
		alphas[i], weights[i] = (1-z)/2, w/2
	}
	return alphas, weights
}

// ReadExplainInput reads the rows to explain for the model whose forward
// graph is fwd, with the checkpoint weights: a .npy array of shape (N,
// ...the input's row shape) or (N, features), or, as Predict reads them,
// a CSV file (matched to the training columns by name when the checkpoint
// records them) or an IDX file of images.
func ReadExplainInput(path string, fwd *ir.Graph, weights string) (*ExplainInput, error) {
	x := fwd.Sources(ir.OpInput)[0]
	row := x.Type.Shape[1:]
	features := x.Type.Shape.Elems()
	if strings.HasSuffix(strings.ToLower(path), ".npy") {
		shape, v, err := ReadNPY(path)
		if err != nil {
			return nil, err
		}
		fits := len(shape) == 2 && shape[1] == features || len(shape) == len(row)+1 && ir.Shape(shape[1:]).Equal(row)
		if !fits {
			return nil, fmt.Errorf("%s: an array of shape %s does not fit input %s %s: want %s or (N, %d)", path, pyShape(shape), x.Name, x.Type, pyShape(append([]int{-1}, row...)), features)
		}
		if shape[0] == 0 {
			return nil, fmt.Errorf("%s holds no rows", path)
		}
		return &ExplainInput{N: shape[0], X: v, Shape: shape}, nil
	}
	f, err := checkpoint.Read(weights)
	if err != nil {
		return nil, err
	}
	info, err := dataInfo(f.Metadata)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", weights, err)
	}
	out := fwd.Output("out")
	ds, err := loadInputs(path, features, info, info.Loss, out.Type.Shape.Elems())
	if err != nil {
		return nil, err
	}
	if ds.N == 0 {
		return nil, fmt.Errorf("%s holds no rows", path)
	}
	in := &ExplainInput{N: ds.N, X: make([]float64, 0, ds.N*features), Shape: []int{ds.N, features}}
	for i := range ds.N {
		for _, v := range ds.Row(i) {
			in.X = append(in.X, float64(v))
		}
	}
	return in, nil
}

// pyShape formats a shape as NumPy prints it, N for -1: (N, 1, 28, 28).
func pyShape(s []int) string {
	parts := make([]string, len(s))
	for i, k := range s {
		parts[i] = strconv.Itoa(k)
		if k < 0 {
			parts[i] = "N"
		}
	}
	if len(s) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
