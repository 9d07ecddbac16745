package train_test

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/native"
	"github.com/nnc-go/nnc/train"
)

// parityCases is how many cases testdata/parity holds: the README counts
// them, and together they use every op, layer, loss and optimizer.
const parityCases = 19

// expected is testdata/parity/CASE/expected.json, written by gen.py from
// PyTorch.
type expected struct {
	Epochs []struct {
		Epoch    int
		Loss     float64
		Accuracy *float64
	}
	Final struct {
		Split    string
		Loss     float64
		Accuracy *float64
	}
}

// TestParity trains every case of testdata/parity from PyTorch's initial
// weights, without shuffling, and holds each epoch's loss to PyTorch's
// within 1e-4 relative, the accuracies exactly, and the trained weights to
// PyTorch's within 1e-4.
func TestParity(t *testing.T) {
	dirs := testenv.Glob(t, "../testdata/parity/*/model.nn", parityCases)
	worst := 0.0
	for _, m := range dirs {
		dir := filepath.Dir(m)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var want expected
			b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "model.nn")
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := nnc.Compile(file, src, nnc.Options{Verify: true})
			if err != nil {
				t.Fatal(err)
			}
			saved := filepath.Join(t.TempDir(), "final.safetensors")
			rep, err := train.Run(p, train.Options{Source: src, Init: filepath.Join(dir, "init.safetensors"), Save: saved})
			if err != nil {
				testenv.NoInternal(t, err)
				t.Fatal(err)
			}
			if len(rep.Epochs) != len(want.Epochs) {
				t.Fatalf("%d epochs, PyTorch ran %d", len(rep.Epochs), len(want.Epochs))
			}
			caseWorst := 0.0
			defer func() { t.Logf("largest relative loss difference from PyTorch: %.3g", caseWorst) }()
			for i, e := range want.Epochs {
				got := rep.Epochs[i]
				d := relDiff(got.Loss, e.Loss)
				worst, caseWorst = max(worst, d), max(caseWorst, d)
				if d > 1e-4 {
					t.Errorf("epoch %d: loss %.9g, PyTorch %.9g (relative difference %.2g)", e.Epoch, got.Loss, e.Loss, d)
				}
				if e.Accuracy != nil && math.Abs(got.Accuracy-*e.Accuracy) > 1e-9 {
					t.Errorf("epoch %d: accuracy %v, PyTorch %v", e.Epoch, got.Accuracy, *e.Accuracy)
				}
			}
			if d := relDiff(rep.Final.Loss, want.Final.Loss); d > 1e-4 {
				t.Errorf("final loss %.9g, PyTorch %.9g", rep.Final.Loss, want.Final.Loss)
			}
			if a := want.Final.Accuracy; a != nil && math.Abs(rep.Final.Accuracy-*a) > 1e-9 {
				t.Errorf("final accuracy %v, PyTorch %v", rep.Final.Accuracy, *a)
			}
			compareWeights(t, saved, filepath.Join(dir, "final.safetensors"))
		})
	}
	t.Logf("largest relative loss difference from PyTorch: %.3g", worst)
}

func relDiff(a, b float64) float64 {
	return math.Abs(a-b) / math.Max(math.Abs(b), 1e-12)
}

func compareWeights(t *testing.T, gotPath, wantPath string) {
	t.Helper()
	got, err := checkpoint.Read(gotPath)
	if err != nil {
		t.Fatal(err)
	}
	want, err := checkpoint.Read(wantPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Tensors) == 0 {
		t.Fatalf("%s holds no tensors to compare with", wantPath)
	}
	for _, w := range want.Tensors {
		g := got.Get(w.Name)
		if g == nil {
			t.Errorf("saved checkpoint lacks %s", w.Name)
			continue
		}
		if len(g.F32) != len(w.F32) || len(g.F64) != len(w.F64) || len(g.I64) != len(w.I64) {
			t.Errorf("%s holds %d F32, %d F64 and %d I64 values, PyTorch's %d, %d and %d", w.Name, len(g.F32), len(g.F64), len(g.I64), len(w.F32), len(w.F64), len(w.I64))
			continue
		}
		if len(w.F64) > 0 {
			t.Errorf("%s: PyTorch's weights are float32, this test compares no F64", w.Name)
		}
		if !slices.Equal(g.I64, w.I64) {
			t.Errorf("%s = %v after training, PyTorch %v", w.Name, g.I64, w.I64)
		}
		for i := range w.F32 {
			if d := math.Abs(float64(g.F32[i] - w.F32[i])); d > 1e-4*math.Max(1, math.Abs(float64(w.F32[i]))) {
				t.Errorf("%s[%d] = %v after training, PyTorch %v", w.Name, i, g.F32[i], w.F32[i])
				break
			}
		}
	}
}

// TestParityGo trains every parity case with the model compiled to Go
// (nnc run --backend go) and requires each epoch's loss and accuracy and
// the final evaluation to equal the interpreter's bit for bit: the same
// kernels in the same order. (TestParity holds the interpreter to PyTorch.)
func TestParityGo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	for _, m := range testenv.Glob(t, "../testdata/parity/*/model.nn", parityCases) {
		t.Run(filepath.Base(filepath.Dir(m)), func(t *testing.T) {
			backendsAgree(t, m, filepath.Join(filepath.Dir(m), "init.safetensors"))
		})
	}
}

// backendsAgree trains the model of file m with the interpreter and with
// the model compiled to Go, from the checkpoint init (or from the seed when
// init is ""), and requires their output lines to be equal.
func backendsAgree(t *testing.T, m, init string) {
	t.Helper()
	src, err := os.ReadFile(m)
	if err != nil {
		t.Fatal(err)
	}
	p, err := nnc.Compile(m, src, nnc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var interpOut strings.Builder
	if _, err := train.Run(p, train.Options{Source: src, Init: init, JSON: true, Out: &interpOut}); err != nil {
		testenv.NoInternal(t, err)
		t.Fatal(err)
	}
	prog, err := native.TrainProgram(p, src, p.Train.Seed)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := native.Build(prog)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-file", m, "-json"}
	if init != "" {
		args = append(args, "-init", init)
	}
	out, err := exec.Command(exe, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if lines := strings.Count(interpOut.String(), "\n"); lines != p.Train.Epochs+1 {
		t.Fatalf("the interpreter printed %d lines, want %d epochs and the final one:\n%s", lines, p.Train.Epochs, interpOut.String())
	}
	if string(out) != interpOut.String() {
		t.Errorf("generated code:\n%s\ninterpreter:\n%s", out, interpOut.String())
	}
}

// TestResumeGo: with the model compiled to Go too, a run interrupted and
// resumed (dropout's generator restored) prints what the uninterrupted run
// prints.
func TestResumeGo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	src := []byte(`
model Net {
    fc1  = Linear(6, 12)
    drop = Dropout(0.3)
    fc2  = Linear(12, 3)
    forward(x: f32[N, 6]) {
        return fc2(drop(relu(fc1(x))))
    }
}

train Net {
    data      = random(samples = 50, classes = 3, seed = 4)
    loss      = cross_entropy
    optimizer = Adam(lr = 0.01)
    epochs    = 3
    batch     = 16
    seed      = 9
}
`)
	dir := t.TempDir()
	file := filepath.Join(dir, "net.nn")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := nnc.Compile(file, src, nnc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	prog, err := native.TrainProgram(p, src, p.Train.Seed)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := native.Build(prog)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := exec.Command(exe, "-file", file, "-json").Output()
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, "stop.safetensors")
	first, _ := exec.Command(exe, "-file", file, "-json", "-stop-after", "6", "-save", ckpt).Output()
	second, err := exec.Command(exe, "-file", file, "-json", "-resume", ckpt).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(first) + string(second); got != string(whole) {
		t.Errorf("interrupted and resumed:\n%s\nuninterrupted:\n%s", got, whole)
	}
}
