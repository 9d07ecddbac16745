package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// int8Ops is the int8 forward graph nnc ir prints, each value reduced to
// its op, type, attributes and the ops of its arguments: what two graphs
// that compute the same thing with other value numbers and names share.
func int8Ops(t *testing.T, ir string) []string {
	t.Helper()
	def := regexp.MustCompile(`^\s*(v\d+) = (\S+) <([^>]*)>((?: v\d+)*)(?: \{([^}]*)\})?`)
	op := map[string]string{}
	var out []string
	for _, line := range strings.Split(ir, "\n") {
		m := def.FindStringSubmatch(line)
		if m == nil || m[2] == "Param" || m[2] == "Buffer" || m[2] == "Const" {
			if m != nil {
				op[m[1]] = m[2]
			}
			continue
		}
		op[m[1]] = m[2]
		var args []string
		for _, a := range strings.Fields(m[4]) {
			args = append(args, op[a])
		}
		out = append(out, fmt.Sprintf("%s <%s> (%s) {%s}", m[2], m[3], strings.Join(args, " "), m[5]))
	}
	return out
}

// TestImportQDQInt8RoundTrip exports the int8 checkpoints of
// testdata/int8 (an MLP, a CNN with max pooling, a flatten and float ops
// between int8 layers, a residual MLP with QAdd) in ONNX's QDQ form and
// imports the .onnx again: it compiles to the int8 ops the checkpoint
// runs, with the same attributes, and predicts the same outputs bit for
// bit, in the interpreter and in the Go package nnc build writes (which
// allocates nothing per Forward).
func TestImportQDQInt8RoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "..", "testdata", "int8")
	inputs := map[string]string{"mlp": "f32:7,13", "cnn": "f32:5,3,11,11", "res": "f32:6,2,3,3"}
	var harness strings.Builder
	for _, name := range []string{"mlp", "cnn", "res"} {
		file, q := filepath.Join(src, name+".nn"), filepath.Join(src, name+".int8.safetensors")
		model, x := filepath.Join(dir, name+".onnx"), filepath.Join(dir, name+".x.npy")
		nncOut(t, "export", file, "--format", "onnx", "--weights", q, "-o", model)
		want := int8Ops(t, nncOut(t, "ir", "--forward", file, "--weights", q))
		got := int8Ops(t, nncOut(t, "ir", model))
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: the imported .onnx compiles to\n%s\nthe int8 checkpoint to\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if !strings.Contains(strings.Join(got, "\n"), "QLinear <f32") {
			t.Errorf("%s: no int8 layer storing f32 in\n%s", name, strings.Join(got, "\n"))
		}
		writeInput(t, x, inputs[name])
		xs, ys := predictONNXAndInt8(t, dir, model, file, q, x)
		if len(xs) == 0 || len(xs) != len(ys) {
			t.Fatalf("%s: %d outputs from the .onnx, %d from the int8 checkpoint", name, len(xs), len(ys))
		}
		for i := range xs {
			if xs[i] != ys[i] {
				t.Fatalf("%s: output %d: the .onnx predicts %v, the int8 checkpoint %v", name, i, xs[i], ys[i])
			}
		}
		// Both as Go packages.
		for _, v := range []struct{ pkg, file string }{{name + "onnx", model}, {name + "nn", file}} {
			args := []string{"build", v.file, "--batch", "4", "--package", v.pkg, "-o", filepath.Join(dir, "mod", v.pkg)}
			if v.file == file {
				args = append(args, "--weights", q)
			}
			if out := nncOut(t, args...); !strings.Contains(out, "int8 forward pass") {
				t.Errorf("nnc build %s: %q", v.file, out)
			}
		}
		fmt.Fprintf(&harness, "\tres[%q] = run(%sonnx.New, %sonnx.InputSize, %sonnx.OutputSize)\n", name+".onnx", name, name, name)
		fmt.Fprintf(&harness, "\tres[%q] = run(%snn.New, %snn.InputSize, %snn.OutputSize)\n", name+".nn", name, name, name)
	}
	if testing.Short() {
		return
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	mod := filepath.Join(dir, "mod")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	var imports strings.Builder
	for _, name := range []string{"mlp", "cnn", "res"} {
		fmt.Fprintf(&imports, "\t\"gentest/%sonnx\"\n\t\"gentest/%snn\"\n", name, name)
	}
	main := strings.NewReplacer("IMPORTS", imports.String(), "RUNS", harness.String()).Replace(qdqHarness)
	files := map[string]string{
		"go.mod":  fmt.Sprintf("module gentest\n\ngo 1.26\n\nrequire github.com/nnc-go/nnc v0.0.0\n\nreplace github.com/nnc-go/nnc => %s\n", root),
		"go.sum":  string(sum),
		"main.go": main,
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(mod, name), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	var res map[string]struct {
		Forward []float64
		Allocs  float64
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, name := range []string{"mlp", "cnn", "res"} {
		a, b := res[name+".onnx"], res[name+".nn"]
		if len(a.Forward) == 0 || len(a.Forward) != len(b.Forward) {
			t.Fatalf("%s: %d outputs from the .onnx's package, %d from the int8 checkpoint's", name, len(a.Forward), len(b.Forward))
		}
		for i := range a.Forward {
			if a.Forward[i] != b.Forward[i] {
				t.Fatalf("%s: output %d: the .onnx's package gives %v, the int8 checkpoint's %v", name, i, a.Forward[i], b.Forward[i])
			}
		}
		if a.Allocs != 0 {
			t.Errorf("%s: the .onnx's package allocates %v times per Forward", name, a.Allocs)
		}
	}
}

// qdqHarness runs the Forward of each generated package over the same
// rows and prints the outputs and the allocations per call, as JSON.
const qdqHarness = `package main

import (
	"encoding/json"
	"math"
	"os"
	"testing"

IMPORTS)

type forwarder interface {
	Forward(out, x []float32, n int) error
}

func run[M forwarder](newModel func() (M, error), inSize, outSize int) map[string]any {
	m, err := newModel()
	if err != nil {
		panic(err)
	}
	const n = 11
	x := make([]float32, n*inSize)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*0.37) * 2)
	}
	out := make([]float32, n*outSize)
	var fwd []float64
	for _, k := range []int{1, 3, n} {
		if err := m.Forward(out[:k*outSize], x[:k*inSize], k); err != nil {
			panic(err)
		}
		for _, v := range out[:k*outSize] {
			fwd = append(fwd, float64(v))
		}
	}
	allocs := testing.AllocsPerRun(5, func() { m.Forward(out, x, n) })
	return map[string]any{"Forward": fwd, "Allocs": allocs}
}

func main() {
	res := map[string]any{}
RUNS	json.NewEncoder(os.Stdout).Encode(res)
}
`

// TestQDQOnnxCommands: predict, bench (both back ends), build and import
// of an ONNX Runtime-style QDQ model run its int8 graph: nnc import writes
// a .nn and the int8 checkpoint of its layers, which predicts what the
// .onnx does bit for bit and which nnc eval evaluates once a train block
// is added.
func TestQDQOnnxCommands(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "..", "testdata", "onnx")
	model, x := filepath.Join(src, "qdq_cnn_s8.onnx"), filepath.Join(src, "qdq_cnn.in.npy")
	for _, backend := range []string{"interp", "go"} {
		out := nncOut(t, "bench", model, "--backend", backend, "--batch", "2", "--json")
		var r struct {
			Backend       string  `json:"backend"`
			AllocsPerStep float64 `json:"allocs_per_step"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%s: %v\n%s", backend, err, out)
		}
		if r.Backend != backend || r.AllocsPerStep != 0 {
			t.Errorf("bench --backend %s of the QDQ .onnx: %+v", backend, r)
		}
	}
	nn := filepath.Join(dir, "cnn.nn")
	nncOut(t, "import", model, "-o", nn)
	ckpt := filepath.Join(dir, "cnn.safetensors")
	if ir := nncOut(t, "ir", "--forward", nn, "--weights", ckpt); !strings.Contains(ir, "QConv2d") || !strings.Contains(ir, "QLinear") {
		t.Errorf("the imported .nn with its checkpoint runs\n%s", ir)
	}
	xs, ys := predictONNXAndInt8(t, dir, model, nn, ckpt, x)
	if len(xs) != 15 || len(ys) != 15 {
		t.Fatalf("%d and %d outputs, want 15", len(xs), len(ys))
	}
	for i := range xs {
		if xs[i] != ys[i] {
			t.Fatalf("output %d: the .onnx predicts %v, the .nn and its int8 checkpoint %v", i, xs[i], ys[i])
		}
	}
	b, err := os.ReadFile(nn)
	if err != nil {
		t.Fatal(err)
	}
	train := "\ntrain qdq_cnn_s8 {\n    data = random(samples = 40, classes = 3, seed = 1)\n    loss = cross_entropy\n    optimizer = SGD(lr = 0.1)\n    epochs = 1\n    batch = 8\n}\n"
	if err := os.WriteFile(nn, append(b, train...), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := nncOut(t, "eval", nn, "--weights", ckpt); !strings.Contains(out, "accuracy") {
		t.Errorf("nnc eval of the imported .nn and its int8 checkpoint: %q", out)
	}
}
