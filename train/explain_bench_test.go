package train_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/train"
)

// BenchmarkExplain times attributions of 64 MNIST rows by the MNIST
// examples (random weights: the cost does not depend on them), in the
// interpreter, and reports the time per row. bench/explain_torch.py times
// the PyTorch peer on the same shapes.
func BenchmarkExplain(b *testing.B) {
	const rows = 64
	for _, model := range []string{"mnist_mlp", "mnist_cnn"} {
		p, g := explainGraphs(b, filepath.Join("..", "examples", model+".nn"), rows)
		weights := randomWeights(b, p.Forward)
		rng := rand.New(rand.NewPCG(1, 2))
		in := &train.ExplainInput{N: rows, X: make([]float64, rows*784), Shape: []int{rows, 1, 28, 28}}
		for i := range in.X {
			in.X[i] = rng.Float64()
		}
		for _, method := range []string{train.Saliency, train.IntegratedGradients} {
			b.Run(fmt.Sprintf("%s/%s", model, method), func(b *testing.B) {
				opt := train.ExplainOptions{Weights: weights, Method: method, Target: -1, Steps: 50}
				for b.Loop() {
					if _, err := train.Explain(p, g, in, opt); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows)/1e3, "µs/row")
			})
		}
	}
}

// randomWeights writes a checkpoint of g's parameters and buffers, drawn
// at random (running variances positive), and returns its path.
func randomWeights(b testing.TB, g *ir.Graph) string {
	rng := rand.New(rand.NewPCG(3, 4))
	f := &checkpoint.File{Metadata: map[string]string{}}
	for _, v := range g.Values {
		if v.Op != ir.OpParam && v.Op != ir.OpBuffer {
			continue
		}
		t := &checkpoint.Tensor{Name: v.Name, Shape: v.Type.Shape}
		if v.Type.DType == ir.I64 {
			t.I64 = make([]int64, v.Type.Shape.Elems())
		} else {
			t.F32 = make([]float32, v.Type.Shape.Elems())
			for i := range t.F32 {
				t.F32[i] = float32(0.1 * rng.NormFloat64())
				if v.Op == ir.OpBuffer {
					t.F32[i] = 1 + t.F32[i]
				}
			}
		}
		f.Tensors = append(f.Tensors, t)
	}
	data, err := checkpoint.Encode(f)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "w.safetensors")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}
