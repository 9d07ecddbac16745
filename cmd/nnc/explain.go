package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/passes"
	"github.com/nnc-go/nnc/train"
)

var explainCmd = &command{
	name:    "explain",
	usage:   "nnc explain FILE --weights CKPT --input x.npy [--method saliency|ig|smoothgrad] [--target C] [--steps 50] [--samples 5] [--stdev 1.0] --output attr.npy [--png DIR]",
	summary: "attribute a trained model's predictions to its input values: saliency, integrated gradients or SmoothGrad, derived by the grad pass",
	run:     runExplain,
}

// explainVals holds the flags of nnc explain that no other command takes.
type explainVals struct {
	method  string
	target  int
	steps   int
	samples int
	stdev   float64
	png     string
}

func explainFlags(fs *flag.FlagSet, v *flagVals) {
	fs.StringVar(&v.model, "model", "", "the model to compile (default: the one the train block names, else the last)")
	fs.Var(&v.set, "set", "override a hyper-parameter, in the layers and the train block alike: --set p=v (repeatable)")
	fs.StringVar(&v.weights, "weights", "", "the safetensors checkpoint of the trained model (required)")
	fs.StringVar(&v.input, "input", "", "the rows to explain: a .npy array of shape (N, ...input row) or (N, features), a CSV file or an IDX file of images (required)")
	fs.StringVar(&v.out, "output", "", "write the attributions, shaped like the input, to this .npy file (required)")
	fs.StringVar(&v.explain.method, "method", train.Saliency, "saliency (|∂y/∂x|), ig (integrated gradients from a zero baseline) or smoothgrad (saliency averaged over noisy copies)")
	fs.IntVar(&v.explain.target, "target", -1, "the class (output) to explain, for every row (default: each row's predicted class)")
	fs.IntVar(&v.explain.steps, "steps", 50, "ig: the number of Gauss–Legendre points of the path integral (1 to 1000)")
	fs.IntVar(&v.explain.samples, "samples", 5, "smoothgrad: the number of noisy copies of each row")
	fs.Float64Var(&v.explain.stdev, "stdev", 1.0, "smoothgrad: the standard deviation of the Gaussian noise added to each input value")
	fs.Uint64Var(&v.seed, "seed", 0, "smoothgrad: seed the noise")
	fs.IntVar(&v.batch, "batch", 0, "rows per pass of the gradient graph (default 64)")
	fs.StringVar(&v.explain.png, "png", "", "write a heatmap of each row's attributions over its (grayscale) image to this folder, named after the row, the class and its probability")
}

// igTolerance bounds the completeness error of integrated gradients,
// |Σ attr − (y(x) − y(x′))|, as a share of the size of the output explained,
// max(|y(x) − y(x′)|, |y(x)|, |y(x′)|, igFloor): beyond it, more steps are
// needed, and nnc explain exits with status 1. (Relative to the gap alone,
// a row whose output barely moves along the path would fail on rounding.)
const (
	igTolerance = 0.01
	igFloor     = 1e-3
)

// explainBatch is the default batch of the gradient graph.
const explainBatch = 64

func runExplain(e *cmdEnv, args []string) int {
	var v flagVals
	file, code, ok := e.parseFile(args, &v)
	if !ok {
		return code
	}
	x := v.explain
	bad := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "nnc explain: "+format+"\n", a...)
		return exitModel
	}
	switch {
	case v.weights == "":
		return bad("--weights CKPT is required\nusage: %s", e.cmd.usage)
	case v.input == "":
		return bad("--input x.npy is required\nusage: %s", e.cmd.usage)
	case v.out == "":
		return bad("--output attr.npy is required\nusage: %s", e.cmd.usage)
	case !slices.Contains(train.Methods, x.method):
		return bad("--method %s: want saliency, ig or smoothgrad", x.method)
	case x.steps < 1 || x.steps > 1000:
		return bad("--steps must be 1 to 1000, got %d", x.steps)
	case x.samples < 1:
		return bad("--samples must be at least 1, got %d", x.samples)
	case !(x.stdev >= 0) || math.IsInf(x.stdev, 0):
		return bad("--stdev must be finite and ≥ 0, got %v", x.stdev)
	case x.target < -1:
		return bad("--target must be a class index ≥ 0, got %d", x.target)
	}
	batch := v.batch
	if batch == 0 {
		batch = explainBatch
	}
	// The forward graph as built, differentiated with respect to its
	// input by the grad pass; and the forward pass, for the predictions.
	p, code, ok := e.compile(file, nnc.Options{Options: irOptions(&v), After: "none"})
	if !ok {
		return code
	}
	g, err := passes.Explain(p.Forward)
	if err != nil {
		return bad("%s: %v", file, err)
	}
	for _, gr := range []*ir.Graph{g, p.Forward} {
		gr.Attrs = gr.Attrs.Set("batch", batch)
		if err := passes.Run(gr, passes.Options{}); err != nil {
			return e.report(err)
		}
	}
	width := p.Forward.Output("out").Type.Shape.Elems()
	if x.target >= width {
		return bad("--target %d is outside the model's %d outputs (0 to %d)", x.target, width, width-1)
	}
	if xin := p.Forward.Sources(ir.OpInput)[0]; x.png != "" && xin.Type.Shape.Rank() < 3 {
		return bad("--png: the rows of input %s (%s) are not images", xin.Name, xin.Type)
	}
	in, err := train.ReadExplainInput(v.input, p.Forward, v.weights)
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc explain: %v\n", err)
		return exitRuntime
	}
	opt := train.ExplainOptions{Weights: v.weights, Method: x.method, Target: x.target, Steps: x.steps, Samples: x.samples, Stdev: x.stdev, Seed: v.seed}
	if p.Train != nil {
		opt.Loss = p.Train.Loss
	}
	ex, err := train.Explain(p, g, in, opt)
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc explain: %v\n", err)
		debugStack(e.stderr, err)
		return exitRuntime
	}
	f64 := p.Forward.Sources(ir.OpInput)[0].Type.DType == ir.F64
	if err := train.WriteNPY(v.out, in.Shape, ex.Attr, f64); err != nil {
		fmt.Fprintf(e.stderr, "nnc explain: %v\n", err)
		return exitRuntime
	}
	if x.png != "" {
		if err := writeHeatmaps(x.png, p.Forward, in, ex); err != nil {
			fmt.Fprintf(e.stderr, "nnc explain: %v\n", err)
			return exitRuntime
		}
	}
	w := bufio.NewWriter(e.stdout)
	failed := printExplanation(w, ex, x.method)
	if names := ex.Pred.Data.Features; len(names) == ex.Features && len(in.Shape) == 2 {
		printRanking(w, names, ex)
	}
	what := x.method
	switch x.method {
	case train.IntegratedGradients:
		what += fmt.Sprintf(", %d steps", x.steps)
	case train.SmoothGrad:
		what += fmt.Sprintf(", %d samples of stdev %g", x.samples, x.stdev)
	}
	fmt.Fprintf(w, "wrote %s: %s of %d values (%s)\n", v.out, countOf(ex.N, "row"), ex.Features, what)
	if err := w.Flush(); err != nil {
		fmt.Fprintf(e.stderr, "nnc explain: %v\n", err)
		return exitRuntime
	}
	if failed > 0 {
		fmt.Fprintf(e.stderr, "nnc explain: integrated gradients: %s with a completeness error above %g%% of the output; use more --steps\n", countOf(failed, "row"), 100*igTolerance)
		return exitRuntime
	}
	return exitOK
}

// printExplanation writes a line per row: the class explained, its
// probability and, for integrated gradients, y(x) − y(x′), Σ attr and
// their difference, the completeness error. It returns how many rows'
// errors exceed the tolerance.
func printExplanation(w *bufio.Writer, ex *train.Explanation, method string) (failed int) {
	ig := method == train.IntegratedGradients
	if ig {
		fmt.Fprintln(w, "row  class  p(class)  y(x)-y(0)  sum(attr)  error")
	} else {
		fmt.Fprintln(w, "row  class  p(class)")
	}
	for i := range ex.N {
		class := strconv.Itoa(ex.Targets[i])
		if l := ex.Pred.Label(ex.Targets[i]); l != "" {
			class = l
		}
		prob := "-"
		if p := ex.Prob(i); !math.IsNaN(p) {
			prob = strconv.FormatFloat(p, 'f', 4, 64)
		}
		if !ig {
			fmt.Fprintf(w, "%d  %s  %s\n", i+1, class, prob)
			continue
		}
		gap, d := ex.Gap[i], ex.Delta[i]
		y := ex.Pred.Row(i)[ex.Targets[i]]
		mark := ""
		if !(math.Abs(d) <= igTolerance*max(math.Abs(gap), math.Abs(y), math.Abs(y-gap), igFloor)) {
			failed++
			mark = "  (above tolerance)"
		}
		fmt.Fprintf(w, "%d  %s  %s  %.6g  %.6g  %.3g%s\n", i+1, class, prob, gap, gap+d, d, mark)
	}
	return failed
}

// printRanking writes the features ranked by their mean absolute
// attribution over the rows, with the mean signed attribution.
func printRanking(w *bufio.Writer, names []string, ex *train.Explanation) {
	abs := make([]float64, ex.Features)
	mean := make([]float64, ex.Features)
	for i := range ex.N {
		for j, a := range ex.Attr[i*ex.Features : (i+1)*ex.Features] {
			abs[j] += math.Abs(a) / float64(ex.N)
			mean[j] += a / float64(ex.N)
		}
	}
	order := make([]int, ex.Features)
	for j := range order {
		order[j] = j
	}
	sort.SliceStable(order, func(a, b int) bool { return abs[order[a]] > abs[order[b]] })
	wide := len("feature")
	for _, n := range names {
		wide = max(wide, len(n))
	}
	fmt.Fprintf(w, "%-4s  %-*s  %-11s  %s\n", "rank", wide, "feature", "mean |attr|", "mean attr")
	for r, j := range order {
		fmt.Fprintf(w, "%-4d  %-*s  %-11.4g  %.4g\n", r+1, wide, names[j], abs[j], mean[j])
	}
}

// heatmapName is the file name of row i's picture: the row, the class
// (its name when the checkpoint has one, made safe for a file name) and
// its probability.
func heatmapName(ex *train.Explanation, i int) string {
	class := strconv.Itoa(ex.Targets[i])
	if l := ex.Pred.Label(ex.Targets[i]); l != "" {
		class = strings.Map(func(r rune) rune {
			if r < 128 && (r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return r
			}
			return '_'
		}, l)
	}
	name := fmt.Sprintf("row%d_class%s", i+1, class)
	if p := ex.Prob(i); !math.IsNaN(p) {
		name += fmt.Sprintf("_p%.3f", p)
	}
	return filepath.Clean(name + ".png")
}

// ensureDir makes the folder of the pictures.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return nil
}

// countOf is "1 row", "2 rows".
func countOf(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}
