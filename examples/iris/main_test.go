package main

import (
	"bufio"
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/codegen"
	"github.com/nnc-go/nnc/train"
)

// TestClassify runs the embedded model over the training file: its
// predictions must be as good as `nnc run` reported (train accuracy 0.9667).
func TestClassify(t *testing.T) {
	src, err := os.ReadFile("iris.csv")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := classify(bytes.NewReader(src), &out); err != nil {
		t.Fatal(err)
	}
	preds := strings.Split(strings.TrimSpace(out.String()), "\n")
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Scan() // header
	right, i := 0, 0
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ",")
		if strings.Fields(preds[i])[0] == fields[4] {
			right++
		}
		i++
	}
	if i != len(preds) || float64(right)/float64(i) < 0.96 {
		t.Errorf("%d of %d right over %d predictions", right, i, len(preds))
	}
}

// TestGeneratedUpToDate: irismodel is what nnc generates today from
// iris.nn and iris.safetensors; run `go generate ./examples/iris` when
// this fails.
func TestGeneratedUpToDate(t *testing.T) {
	src, err := os.ReadFile("iris.nn")
	if err != nil {
		t.Fatal(err)
	}
	p, err := nnc.Compile("iris.nn", src, nnc.Options{Batch: 16, ForwardOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := codegen.Generate(p, codegen.Options{Package: "irismodel", Source: "iris.nn", Weights: true})
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("irismodel/model.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("irismodel/model.go is stale: run go generate ./examples/iris")
	}
}

// TestWeightsUpToDate: iris.safetensors holds what training iris.nn gives
// today, and irismodel/weights.safetensors the same weights. The weights
// are compared within 1e-5, not bit for bit: the kernels a CPU selects
// (AVX-512, AVX2 or portable) sum in different orders, so the last bits
// of a trained weight depend on the machine that ran go generate.
func TestWeightsUpToDate(t *testing.T) {
	src, err := os.ReadFile("iris.nn")
	if err != nil {
		t.Fatal(err)
	}
	p, err := nnc.Compile("iris.nn", src, nnc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	save := filepath.Join(t.TempDir(), "iris.safetensors")
	if _, err := train.Run(p, train.Options{Source: src, Save: save, Quiet: true, Out: io.Discard}); err != nil {
		t.Fatal(err)
	}
	fresh, err := checkpoint.Read(save)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"iris.safetensors", "irismodel/weights.safetensors"} {
		committed, err := checkpoint.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		want := 0 // the tensors the file must hold: all, or the state_dict's
		for _, f := range fresh.Tensors {
			if name == "iris.safetensors" || !strings.HasPrefix(f.Name, "optimizer.") {
				want++
			}
		}
		if len(committed.Tensors) != want || want < 4 {
			t.Fatalf("%s holds %d tensors, training gives %d", name, len(committed.Tensors), want)
		}
		for _, c := range committed.Tensors {
			f := fresh.Get(c.Name)
			if f == nil || len(c.F32) != len(f.F32) || len(c.I64) != len(f.I64) {
				t.Fatalf("%s: tensor %s missing or reshaped: run go generate ./examples/iris", name, f.Name)
			}
			for i := range f.F32 {
				if d := math.Abs(float64(c.F32[i] - f.F32[i])); d > 1e-5 {
					t.Fatalf("%s: %s[%d] is %v, training gives %v: run go generate ./examples/iris", name, f.Name, i, c.F32[i], f.F32[i])
				}
			}
		}
	}
}
