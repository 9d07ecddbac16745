package codegen_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/codegen"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/passes"
	"github.com/nnc-go/nnc/train"
)

// explainHarness runs the generated Explain over the rows of a .npy file
// with target 2 for every row and prints, as JSON, |grad| and the outputs,
// the allocations per call, and the error of a target outside the outputs.
const explainHarness = `package main

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/nnc-go/nnc/train"

	"gentest/model"
)

func main() {
	_, xs, err := train.ReadNPY(os.Args[1])
	if err != nil {
		panic(err)
	}
	n := len(xs) / model.InputSize
	x := make([]ELEM, len(xs))
	for i, v := range xs {
		x[i] = ELEM(v)
	}
	grad := make([]ELEM, n*model.InputSize)
	out := make([]ELEM, n*model.OutputSize)
	target := make([]int32, n)
	for i := range target {
		target[i] = 2
	}
	m, err := model.New()
	if err != nil {
		panic(err)
	}
	if err := m.Explain(grad, out, x, target, n); err != nil {
		panic(err)
	}
	var res struct {
		Sal, Out []float64
		Allocs   float64
		Bad      string
	}
	for _, g := range grad {
		res.Sal = append(res.Sal, math.Abs(float64(g)))
	}
	for _, y := range out {
		res.Out = append(res.Out, float64(y))
	}
	res.Allocs = testing.AllocsPerRun(5, func() { m.Explain(grad, out, x, target, n) })
	target[1] = model.OutputSize
	if err := m.Explain(grad, out, x, target, n); err != nil {
		res.Bad = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(res)
}
`

// TestGeneratedExplain: nnc build --explain's Explain gives the saliency
// and outputs the interpreter gives, bit for bit (the same batch, so the
// same kernel calls), for a float32 CNN with batch norm and a float64
// MLP, allocates nothing, and refuses a target outside the outputs.
func TestGeneratedExplain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	dir := filepath.Join(repoRoot(t), "testdata", "explain")
	for _, name := range []string{"cnn32", "mlp", "mlp32/standardized"} {
		t.Run(name, func(t *testing.T) {
			name, standardized := strings.CutSuffix(name, "/standardized")
			file := filepath.Join(dir, name+".nn")
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := nnc.Compile(file, src, nnc.Options{Verify: true, Batch: 3, ForwardOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			q, err := nnc.Compile(file, src, nnc.Options{After: "none"})
			if err != nil {
				t.Fatal(err)
			}
			g, err := passes.Explain(q.Forward)
			if err != nil {
				t.Fatal(err)
			}
			g.Attrs = g.Attrs.Set("batch", 3)
			if err := passes.Run(g, passes.Options{Verify: true}); err != nil {
				t.Fatal(err)
			}
			weights, err := os.ReadFile(filepath.Join(dir, name+".safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			wfile := filepath.Join(dir, name+".safetensors")
			var mean, std []float64
			if standardized {
				// As a model trained with csv(..., normalize = true): the
				// statistics in the checkpoint's metadata for the
				// interpreter, in Options for the generated code.
				for j := range 12 {
					mean = append(mean, 0.1*float64(j)-0.5)
					std = append(std, 0.5+0.25*float64(j))
				}
				f, err := checkpoint.Decode(weights)
				if err != nil {
					t.Fatal(err)
				}
				m, _ := json.Marshal(mean)
				s, _ := json.Marshal(std)
				f.Metadata = map[string]string{"feature_mean": string(m), "feature_std": string(s)}
				if weights, err = checkpoint.Encode(f); err != nil {
					t.Fatal(err)
				}
				wfile = filepath.Join(t.TempDir(), "w.safetensors")
				if err := os.WriteFile(wfile, weights, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			gen, err := codegen.Generate(p, codegen.Options{Package: "model", Source: name + ".nn", Weights: true, Explain: g, Mean: mean, Std: std})
			if err != nil {
				t.Fatal(err)
			}
			elem := "float32"
			if p.Forward.Sources(ir.OpInput)[0].Type.DType == ir.F64 {
				elem = "float64"
			}
			xfile := filepath.Join(dir, name+"_x.npy")
			out := goCmd(t, module(t, gen, weights, strings.ReplaceAll(explainHarness, "ELEM", elem)), []string{"GOFLAGS=-mod=mod"}, "run", ".", xfile)
			var got struct {
				Sal, Out []float64
				Allocs   float64
				Bad      string
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			in, err := train.ReadExplainInput(xfile, p.Forward, "")
			if err != nil {
				t.Fatal(err)
			}
			ex, err := train.Explain(p, g, in, train.ExplainOptions{Weights: wfile, Method: train.Saliency, Target: 2})
			if err != nil {
				t.Fatal(err)
			}
			if standardized {
				// The interpreter divides by std in float64, the generated
				// code in the model's float32.
				for i, want := range ex.Attr {
					if math.Abs(got.Sal[i]-want) > 1e-6*math.Max(1, math.Abs(want)) {
						t.Fatalf("saliency %d: generated %v, interpreter %v", i, got.Sal[i], want)
					}
				}
			} else {
				same(t, "saliency", got.Sal, ex.Attr)
			}
			same(t, "outputs", got.Out, ex.Pred.Out)
			if got.Allocs != 0 {
				t.Errorf("Explain allocates %v times a call", got.Allocs)
			}
			if want := "Explain: target 3 of row 2 is outside the 3 outputs"; got.Bad != want {
				t.Errorf("a bad target: got %q, want %q", got.Bad, want)
			}
		})
	}
}

func same(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: generated %d values, interpreter %d", what, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			t.Fatalf("%s: value %d: generated %v, interpreter %v", what, i, got[i], want[i])
		}
	}
}
