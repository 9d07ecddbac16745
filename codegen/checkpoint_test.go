package codegen_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/codegen"
	"github.com/nnc-go/nnc/ir"
)

// f64Model has float64 tensors, an int64 buffer (num_batches_tracked)
// and dropout, so its checkpoints cover every dtype generated code writes.
const f64Model = `model Deep(features = 5, hid = 6, classes = 3) {
    fc1  = Linear(features, hid)
    bn   = BatchNorm1d(hid)
    drop = Dropout(0.25)
    fc2  = Linear(hid, classes)

    forward(x: f64[N, features]) {
        return fc2(drop(relu(bn(fc1(x)))))
    }
}

train Deep {
    data      = random(samples = 20, classes = 3, seed = 1)
    loss      = cross_entropy
    optimizer = Adam(lr = 0.01)
    epochs    = 1
    batch     = 4
}
`

// checkpointHarness initialises the model, takes one training step (so
// that buffers and the step counter move), and prints the SHA-256 of what
// Encode returns. It fails unless Save writes the same bytes and Load of
// them gives the model back unchanged.
const checkpointHarness = `package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"

	"gentest/model"
)

func main() {
	m, err := model.New()
	if err != nil {
		panic(err)
	}
	x := make([]ELEM, 4*model.InputSize)
	for i := range x {
		x[i] = ELEM(i%7) / 3
	}
	if _, _, err := m.TrainStep(x, []int32{0, 1, 2, 1}, 4); err != nil {
		panic(err)
	}
	b := m.Encode()
	path := filepath.Join(os.Args[1], "m.safetensors")
	if err := m.Save(path); err != nil {
		panic(err)
	}
	saved, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(saved, b) {
		panic(fmt.Sprintf("Save wrote other bytes than Encode returned (%v)", err))
	}
	m2, err := model.New()
	if err != nil {
		panic(err)
	}
	if err := m2.Load(path); err != nil {
		panic(err)
	}
	if !bytes.Equal(m2.Encode(), b) {
		panic("Load then Encode changed the bytes")
	}
	fmt.Printf("%x\n", sha256.Sum256(b))
}
`

// TestCheckpointBytes pins the safetensors files generated code writes to
// the bytes the generator wrote before its checkpoint code moved into
// nncrt: a float32 model with batch norm and a float64 one with batch
// norm and dropout.
func TestCheckpointBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	for _, tt := range []struct {
		name, src, elem, sum string
	}{
		{"mlp_batchnorm", "", "float32", "10ae2026bef439193357f11726116bac6596940603905a2cb3bb2f909e572ce9"},
		{"f64", f64Model, "float64", "eb69d28da4fb2805f7744bd5626232a51754e25529af69219f55694643d64d26"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var src []byte
			file := "in.nn"
			if tt.src == "" {
				file = filepath.Join(repoRoot(t), "testdata", "parity", tt.name, "model.nn")
			} else {
				src = []byte(tt.src)
			}
			p := compileSource(t, file, src)
			gen, err := codegen.Generate(p, codegen.Options{Package: "model", Source: "model.nn", Train: true, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			mod := module(t, gen, nil, strings.ReplaceAll(checkpointHarness, "ELEM", tt.elem))
			out := strings.TrimSpace(string(goCmd(t, mod, []string{"GOFLAGS=-mod=mod"}, "run", ".", t.TempDir())))
			if out != tt.sum {
				t.Errorf("SHA-256 of the checkpoint %s, want %s", out, tt.sum)
			}
		})
	}
}

// compileSource compiles src, or the file when src is nil.
func compileSource(t *testing.T, file string, src []byte) *ir.Program {
	t.Helper()
	if src == nil {
		return compileFile(t, file)
	}
	p, err := nnc.Compile(file, src, nnc.Options{Verify: true})
	if err != nil {
		t.Fatal(fmt.Errorf("%s: %v", file, err))
	}
	return p
}
