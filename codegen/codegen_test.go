package codegen_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/codegen"
	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/internal/golden"
	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/train"
)

// repoRoot is the nnc module's folder, which generated test modules
// replace github.com/nnc-go/nnc with.
func repoRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// module writes a Go module in a temporary folder holding the generated
// package "model" and the harness main.go, and returns the folder.
func module(t testing.TB, src []byte, weights []byte, harness string) string {
	t.Helper()
	dir := t.TempDir()
	root := repoRoot(t)
	gomod := fmt.Sprintf("module gentest\n\ngo 1.26\n\nrequire github.com/nnc-go/nnc v0.0.0\n\nreplace github.com/nnc-go/nnc => %s\n", root)
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "model/model.go": src, "main.go": []byte(harness)}
	if weights != nil {
		files["model/weights.safetensors"] = weights
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func goCmd(t testing.TB, dir string, env []string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// harness trains the generated model over a CSV in file order and prints,
// as JSON, the forward outputs of the first batch before training, every
// batch's loss, and the allocations per call of Forward and TrainStep.
const harness = `package main

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/ir"
	"gentest/model"
)

func main() {
	m, err := model.New()
	if err != nil {
		panic(err)
	}
	if len(os.Args) > 1 && os.Args[1] != "" {
		if err := m.Load(os.Args[1]); err != nil {
			panic(err)
		}
	}
	ds, err := data.LoadCSV(os.Args[2], data.CSVOptions{Target: "label", Header: true, Loss: ir.LOSS})
	if err != nil {
		panic(err)
	}
	var res struct {
		Forward []float64
		Losses  []float64
		ForwardAllocs, TrainAllocs float64
	}
	x := make([]ELEM, ds.N*model.InputSize)
	for i, v := range ds.X {
		x[i] = ELEM(v)
	}
	out := make([]ELEM, ds.N*model.OutputSize)
	if err := m.Forward(out, x, ds.N); err != nil {
		panic(err)
	}
	for _, v := range out {
		res.Forward = append(res.Forward, float64(v))
	}
	res.ForwardAllocs = testing.AllocsPerRun(5, func() { m.Forward(out, x, ds.N) })
	batch := BATCH
	for e := 0; e < EPOCHS; e++ {
		for i := 0; i < ds.N; i += batch {
			n := min(batch, ds.N-i)
			loss, _, err := m.TrainStep(x[i*model.InputSize:], TARGETS, n)
			if err != nil {
				panic(err)
			}
			res.Losses = append(res.Losses, loss)
		}
	}
	res.TrainAllocs = testing.AllocsPerRun(5, func() { m.TrainStep(x, TARGETS0, batch) })
	json.NewEncoder(os.Stdout).Encode(res)
}
`

type result struct {
	Forward                    []float64
	Losses                     []float64
	ForwardAllocs, TrainAllocs float64
}

func compileFile(t testing.TB, file string) *ir.Program {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := nnc.Compile(file, src, nnc.Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// interpRun computes with the interpreter what the harness computes with
// the generated code.
func interpRun[T interface{ ~float32 | ~float64 }](t *testing.T, p *ir.Program, dir string, ds *data.Dataset, epochs int) result {
	store := interp.NewStore[T]()
	if err := store.Init(p.TrainGraph, 0); err != nil {
		t.Fatal(err)
	}
	if err := train.LoadCheckpoint[T](store, p.TrainGraph, filepath.Join(dir, "init.safetensors")); err != nil {
		t.Fatal(err)
	}
	fwd, err := interp.New(p.Forward, store, 0)
	if err != nil {
		t.Fatal(err)
	}
	step, err := interp.New(p.TrainGraph, store, 0)
	if err != nil {
		t.Fatal(err)
	}
	var res result
	rows := fwd.Batch()
	feat := ds.Features
	for i := 0; i < ds.N; i += rows {
		n := min(rows, ds.N-i)
		for j, v := range ds.X[i*feat : (i+n)*feat] {
			fwd.Inputs()[0][j] = T(v)
		}
		if err := fwd.Run(n); err != nil {
			testenv.NoInternal(t, err)
			t.Fatal(err)
		}
		for _, v := range fwd.OutputTensor("out")[:n*(len(fwd.OutputTensor("out"))/rows)] {
			res.Forward = append(res.Forward, float64(v))
		}
	}
	loader := data.NewLoader(ds, p.Train.Batch, false, 0)
	labels, targets := step.Targets()
	for e := 0; e < epochs; e++ {
		for b := 0; b < loader.Batches(); b++ {
			stage := make([]float32, len(step.Inputs()[0]))
			var stageT []float32
			if targets != nil {
				stageT = make([]float32, len(targets))
			}
			n := loader.Batch(b, stage, labels, stageT)
			for j, v := range stage {
				step.Inputs()[0][j] = T(v)
			}
			for j, v := range stageT {
				targets[j] = T(v)
			}
			if err := step.Run(n); err != nil {
				testenv.NoInternal(t, err)
				t.Fatal(err)
			}
			l, _ := step.Output("loss")
			res.Losses = append(res.Losses, l)
		}
	}
	return res
}

// TestGeneratedMatchesInterp generates the code of parity models, trains
// it in a separate process for two epochs from PyTorch's initial weights,
// and requires the forward outputs and every batch's loss to equal the
// interpreter's bit for bit, and no allocation per Forward or TrainStep.
func TestGeneratedMatchesInterp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	for _, name := range []string{"sgd_relu_ce", "adam_wd_elementwise", "adamw_matmul", "nesterov_residual_mse", "adam_gelu_bce"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(repoRoot(t), "testdata", "parity", name)
			p := compileFile(t, filepath.Join(dir, "model.nn"))
			src, err := codegen.Generate(p, codegen.Options{Package: "model", Source: "model.nn", Train: true})
			if err != nil {
				t.Fatal(err)
			}
			loss, targets, targets0 := "CrossEntropy", "ds.Labels[i:]", "ds.Labels"
			switch p.Train.Loss {
			case ir.MSE:
				loss, targets, targets0 = "MSE", "yt[i*TW:]", "yt"
			case ir.BCEWithLogits:
				loss, targets, targets0 = "BCEWithLogits", "yt[i*TW:]", "yt"
			}
			elem := "float32"
			if p.Forward.Sources(ir.OpInput)[0].Type.DType == ir.F64 {
				elem = "float64"
			}
			h := strings.NewReplacer("LOSS", loss, "TARGETS0", targets0, "TARGETS", targets, "BATCH", fmt.Sprint(p.Train.Batch), "EPOCHS", "2", "ELEM", elem).Replace(harness)
			if p.Train.Loss != ir.CrossEntropy {
				h = strings.Replace(h, "\tbatch := ", "\tconst TW = model.OutputSize\n\tyt := make([]ELEMT, len(ds.Targets))\n\tfor i, v := range ds.Targets {\n\t\tyt[i] = ELEMT(v)\n\t}\n\tbatch := ", 1)
				h = strings.ReplaceAll(h, "ELEMT", elem)
			}
			mod := module(t, src, nil, h)
			out := goCmd(t, mod, []string{"GOFLAGS=-mod=mod"}, "run", ".", filepath.Join(dir, "init.safetensors"), filepath.Join(dir, "train.csv"))
			var got result
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("harness output: %v\n%s", err, out)
			}
			ds, err := train.Load(p.Train.Data, dir, p.Train.Loss, train.ShapeOf(p))
			if err != nil {
				t.Fatal(err)
			}
			var want result
			if elem == "float64" {
				want = interpRun[float64](t, p, dir, ds, 2)
			} else {
				want = interpRun[float32](t, p, dir, ds, 2)
			}
			if len(want.Forward) == 0 || len(want.Losses) != 2*((ds.N+p.Train.Batch-1)/p.Train.Batch) {
				t.Fatalf("the interpreter gave %d outputs and %d losses for %d rows, batch %d, two epochs", len(want.Forward), len(want.Losses), ds.N, p.Train.Batch)
			}
			if len(got.Forward) != len(want.Forward) || len(got.Losses) != len(want.Losses) {
				t.Fatalf("generated code gave %d outputs and %d losses, the interpreter %d and %d", len(got.Forward), len(got.Losses), len(want.Forward), len(want.Losses))
			}
			for i := range want.Forward {
				if got.Forward[i] != want.Forward[i] {
					t.Fatalf("forward output %d: generated %v, interpreter %v", i, got.Forward[i], want.Forward[i])
				}
			}
			for i := range want.Losses {
				if got.Losses[i] != want.Losses[i] && !(math.IsNaN(got.Losses[i]) && math.IsNaN(want.Losses[i])) {
					t.Fatalf("batch %d loss: generated %v, interpreter %v", i+1, got.Losses[i], want.Losses[i])
				}
			}
			if got.ForwardAllocs != 0 || got.TrainAllocs != 0 {
				t.Errorf("allocations per call: Forward %v, TrainStep %v", got.ForwardAllocs, got.TrainAllocs)
			}
		})
	}
}

// TestCrossCompile builds a generated package, with embedded weights and
// the training step, for the targets nnc promises, with cgo off, and vets
// it.
func TestCrossCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	dir := filepath.Join(repoRoot(t), "testdata", "parity", "adamw_nested_bce")
	p := compileFile(t, filepath.Join(dir, "model.nn"))
	src, err := codegen.Generate(p, codegen.Options{Package: "model", Source: "model.nn", Train: true, Weights: true})
	if err != nil {
		t.Fatal(err)
	}
	weights, err := os.ReadFile(filepath.Join(dir, "init.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	mod := module(t, src, weights, "package main\n\nimport _ \"gentest/model\"\n\nfunc main() {}\n")
	goCmd(t, mod, []string{"GOFLAGS=-mod=mod"}, "vet", "./model")
	for _, target := range []string{"linux/amd64", "linux/arm64", "js/wasm", "wasip1/wasm"} {
		goos, goarch, _ := strings.Cut(target, "/")
		goCmd(t, mod, []string{"GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOOS=" + goos, "GOARCH=" + goarch}, "build", "-o", os.DevNull, "./model")
	}
}

// TestHostileNames: file, model, layer and package names that are Go
// keywords, hold quotes, line breaks or non-ASCII letters, or are very long,
// never break the generated code or reach it outside strings and comments.
func TestHostileNames(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	src := `model func(package = 3) {
    import = Linear(package, 2)
    type   = Linear(2, 2)
    forward(go: f32[N, package]) {
        defer = relu(import(go))
        return type(defer)
    }
}
`
	long := strings.Repeat("x", 300)
	for _, file := range []string{"evil\"*/\n}\nfunc init() { panic(1) }\n//.nn", "modèle-ü.nn", long + ".nn", "`back`.nn"} {
		p, err := nnc.Compile(file, []byte(src), nnc.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pkg := codegen.PackageName(file)
		out, err := codegen.Generate(p, codegen.Options{Package: pkg, Source: file})
		if err != nil {
			t.Fatalf("%q: %v", file, err)
		}
		if strings.Contains(string(out), "panic(1)\n") {
			t.Fatalf("%q: the file name reached the code:\n%s", file, out)
		}
		out = []byte(strings.Replace(string(out), "package "+pkg+"\n", "package model\n", 1))
		mod := module(t, out, nil, "package main\n\nimport \"gentest/model\"\n\nfunc main() {\n\tm, err := model.New()\n\tif err != nil {\n\t\tpanic(err)\n\t}\n\tout := make([]float32, 2)\n\tif err := m.Forward(out, []float32{1, 2, 3}, 1); err != nil {\n\t\tpanic(err)\n\t}\n}\n")
		goCmd(t, mod, []string{"GOFLAGS=-mod=mod"}, "run", ".")
	}
	for _, bad := range []string{"func", "a b", "ü", "", "_", "1x"} {
		if err := codegen.CheckPackageName(bad); err == nil {
			t.Errorf("package name %q accepted", bad)
		}
	}
}

// TestGoldenSource pins the generated source of a few models:
// testdata/*.txtar hold in.nn and out/go (NNC_UPDATE=1 rewrites them). A
// file whose in.nn has a train block is generated with --train.
func TestGoldenSource(t *testing.T) {
	golden.RunAtLeast(t, "testdata/*.txtar", 3, func(t *testing.T, a *txtar.Archive) map[string]string {
		src, _ := golden.Section(a, "in.nn")
		p0, err := nnc.Compile("in.nn", []byte(src), nnc.Options{After: "none"})
		if err != nil {
			t.Fatal(err)
		}
		trainStep := p0.Train != nil
		p, err := nnc.Compile("in.nn", []byte(src), nnc.Options{Verify: true, Batch: 16, ForwardOnly: !trainStep})
		if err != nil {
			t.Fatal(err)
		}
		out, err := codegen.Generate(p, codegen.Options{Package: "model", Source: "in.nn", Train: trainStep, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"out/go": string(out)}
	})
}

// TestGoldenCompiles: every golden's generated source compiles and passes
// go vet.
func TestGoldenCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	for _, f := range testenv.Glob(t, "testdata/*.txtar", 3) {
		a, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src, ok := golden.Section(a, "out/go")
		if !ok {
			t.Fatalf("%s has no out/go", f)
		}
		mod := module(t, []byte(src), nil, "package main\n\nimport _ \"gentest/model\"\n\nfunc main() {}\n")
		goCmd(t, mod, []string{"GOFLAGS=-mod=mod"}, "vet", "./model")
	}
}
