package main

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/codegen"
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
