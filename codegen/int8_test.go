package codegen_test

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/codegen"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/passes"
	"github.com/nnc-go/nnc/train"
)

// int8Harness runs the generated int8 model's Forward on the first 1, 3
// and ROWS rows of inputs int8Input makes (ROWS more than the package's
// Batch, so that Forward cuts them), and prints the outputs as JSON with
// the allocations per call of Forward.
const int8Harness = `package main

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"gentest/model"
)

func main() {
	m, err := model.New()
	if err != nil {
		panic(err)
	}
	const n = ROWS
	x := make([]float32, n*model.InputSize)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*0.37) * 2)
	}
	out := make([]float32, n*model.OutputSize)
	var res struct {
		Forward       []float64
		ForwardAllocs float64
	}
	for _, k := range []int{1, 3, n} {
		if err := m.Forward(out[:k*model.OutputSize], x[:k*model.InputSize], k); err != nil {
			panic(err)
		}
		for _, v := range out[:k*model.OutputSize] {
			res.Forward = append(res.Forward, float64(v))
		}
	}
	res.ForwardAllocs = testing.AllocsPerRun(5, func() { m.Forward(out, x, n) })
	json.NewEncoder(os.Stdout).Encode(res)
}
`

// int8Input is the harness's input element i.
func int8Input(i int) float32 { return float32(math.Sin(float64(i)*0.37) * 2) }

// int8Program compiles the model of file and rewrites its forward graph
// to run in int8 with the int8 checkpoint FILE.int8.safetensors, as nnc
// build does, returning the weights to embed and the checkpoint.
func int8Program(t *testing.T, file string) (*ir.Program, []byte, *checkpoint.File) {
	t.Helper()
	p := compileFile(t, file)
	q := strings.TrimSuffix(file, ".nn") + ".int8.safetensors"
	f, err := train.ReadInt8(q)
	if err != nil || f == nil {
		t.Fatalf("int8 checkpoint %v, %v", f, err)
	}
	var weights []byte
	if p.Forward, weights, err = train.Int8Embed(p.Forward, f, q); err != nil {
		t.Fatal(err)
	}
	return p, weights, f
}

// TestInt8GeneratedMatchesInterp builds the int8 models of testdata/int8,
// which reach every int8 op, into Go packages with their weights embedded
// and requires the outputs of Forward to equal the interpreter's bit for
// bit with every kernel path (NNC_KERNELS: AVX-512 VNNI, AVX2, portable
// Go), no allocation per Forward, and an embedded file no larger than
// int8 weights need.
func TestInt8GeneratedMatchesInterp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	for _, name := range []string{"mlp", "cnn", "res"} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(repoRoot(t), "testdata", "int8", name+".nn")
			p, weights, f := int8Program(t, file)
			src, err := codegen.Generate(p, codegen.Options{Package: "model", Source: name + ".nn", Weights: true})
			if err != nil {
				t.Fatal(err)
			}
			rows := p.Forward.Plan.Batch*2 + 5
			want := int8Interp(t, p.Forward, f, rows)
			mod := module(t, src, weights, strings.ReplaceAll(int8Harness, "ROWS", strconv.Itoa(rows)))
			goCmd(t, mod, []string{"GOFLAGS=-mod=mod"}, "build", "-o", filepath.Join(mod, "harness"), ".")
			for _, level := range []string{"", "avx2", "portable"} {
				cmd := exec.Command(filepath.Join(mod, "harness"))
				cmd.Env = append(os.Environ(), "NNC_KERNELS="+level)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("NNC_KERNELS=%s: %v\n%s", level, err, out)
				}
				var got result
				if err := json.Unmarshal(out, &got); err != nil {
					t.Fatalf("harness output: %v\n%s", err, out)
				}
				if len(got.Forward) != len(want) {
					t.Fatalf("NNC_KERNELS=%s: %d outputs, the interpreter %d", level, len(got.Forward), len(want))
				}
				for i := range want {
					if got.Forward[i] != want[i] {
						t.Fatalf("NNC_KERNELS=%s: output %d: generated %v, interpreter %v", level, i, got.Forward[i], want[i])
					}
				}
				if got.ForwardAllocs != 0 {
					t.Errorf("NNC_KERNELS=%s: %v allocations per Forward", level, got.ForwardAllocs)
				}
			}
			// One byte a weight, four a bias and a scale, and the header.
			need := 0
			for _, v := range p.Forward.Values {
				if v.Op == ir.OpParam {
					need += v.Type.Shape.Elems() * v.Type.DType.Size()
				}
			}
			if len(weights) > need+2048 {
				t.Errorf("embedded weights of %d bytes for %d bytes of tensors", len(weights), need)
			}
		})
	}
}

// int8Interp runs the int8 forward graph g on the interpreter with the
// tensors of f, over the same inputs as the harness.
func int8Interp(t *testing.T, g *ir.Graph, f *checkpoint.File, rows int) []float64 {
	t.Helper()
	store := interp.NewStore[float32]()
	if err := store.Init(g, 0); err != nil {
		t.Fatal(err)
	}
	if err := train.LoadInt8(store, g, f, "int8"); err != nil {
		t.Fatal(err)
	}
	m, err := interp.New(g, store, 0)
	if err != nil {
		t.Fatal(err)
	}
	var res []float64
	for _, k := range []int{1, 3, rows} {
		for i := 0; i < k; i += m.Batch() {
			n := min(m.Batch(), k-i)
			x := m.Inputs()[0]
			per := len(x) / m.Batch()
			for j := range n * per {
				x[j] = int8Input(i*per + j)
			}
			if err := m.Run(n); err != nil {
				t.Fatal(err)
			}
			out := m.OutputTensor("out")
			for _, v := range out[:n*(len(out)/m.Batch())] {
				res = append(res, float64(v))
			}
		}
	}
	return res
}

// TestInt8CrossCompile builds the int8 MNIST MLP (examples/mnist_mlp.nn
// with an int8 checkpoint of its shapes) into a package and builds and
// vets it for linux/arm64 and js/wasm with cgo off: the portable int8
// kernels, weights embedded.
func TestInt8CrossCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	p := compileFile(t, filepath.Join(repoRoot(t), "examples", "mnist_mlp.nn"))
	f := syntheticInt8(p.Forward)
	var weights []byte
	var err error
	if p.Forward, weights, err = train.Int8Embed(p.Forward, f, "mnist_mlp.int8.safetensors"); err != nil {
		t.Fatal(err)
	}
	src, err := codegen.Generate(p, codegen.Options{Package: "model", Source: "mnist_mlp.nn", Weights: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "kernels.QLinear(") {
		t.Fatalf("the generated package runs no int8 layer:\n%s", src)
	}
	mod := module(t, src, weights, "package main\n\nimport _ \"gentest/model\"\n\nfunc main() {}\n")
	for _, target := range []string{"linux/arm64", "js/wasm"} {
		goos, goarch, _ := strings.Cut(target, "/")
		env := []string{"GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOOS=" + goos, "GOARCH=" + goarch}
		goCmd(t, mod, env, "vet", "./model")
		goCmd(t, mod, env, "build", "-o", os.DevNull, "./model")
	}
}

// syntheticInt8 is an int8 checkpoint of g's Linear and Conv2d layers
// with made-up weights, for tests about code rather than accuracy.
func syntheticInt8(g *ir.Graph) *checkpoint.File {
	f := &checkpoint.File{Metadata: map[string]string{train.Int8Key: "int8"}}
	for _, v := range g.Values {
		name, _, ok := passes.Int8Candidate(v)
		if !ok {
			continue
		}
		w := v.Args[1].Type.Shape
		out := w[0]
		q := make([]int8, w.Elems())
		for i := range q {
			q[i] = int8(i*7%255 - 127)
		}
		scales, bias := make([]float32, out), make([]int32, out)
		for i := range scales {
			scales[i], bias[i] = 0.01, int32(i)
		}
		f.Tensors = append(f.Tensors,
			&checkpoint.Tensor{Name: name + ".weight", Shape: []int(w), I8: q},
			&checkpoint.Tensor{Name: name + ".weight_scale", Shape: []int{out}, F32: scales},
			&checkpoint.Tensor{Name: name + ".bias", Shape: []int{out}, I32: bias},
			&checkpoint.Tensor{Name: name + ".input_scale", Shape: []int{}, F32: []float32{0.02}},
			&checkpoint.Tensor{Name: name + ".input_zero_point", Shape: []int{}, I64: []int64{3}},
			&checkpoint.Tensor{Name: name + ".output_scale", Shape: []int{}, F32: []float32{0.05}},
			&checkpoint.Tensor{Name: name + ".output_zero_point", Shape: []int{}, I64: []int64{0}},
		)
	}
	return f
}
