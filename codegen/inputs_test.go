package codegen_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/codegen"
	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/interp"
)

// multiInput has two inputs of two element types: token ids and a float
// mask over their positions.
const multiInput = `model Masked(vocab = 6, d = 3, ctx = 4) {
    tok = Embedding(vocab, d)
    fc  = Linear(ctx * d, 2)

    forward(ids: i64[N, ctx], mask: f32[N, ctx]) {
        h = tok(ids) * reshape(mask, N, ctx, 1)
        return fc(flatten(h))
    }
}
`

const multiHarness = `package main

import (
	"encoding/json"
	"os"
	"testing"

	"gentest/model"
)

func main() {
	m, err := model.New()
	if err != nil {
		panic(err)
	}
	ids := []int64{0, 1, 2, 3, 5, 4, 3, 2, 1, 1, 1, 1}
	mask := []float32{1, 1, 0, 1, 0.5, 1, 1, 0, 1, 1, 1, 1}
	out := make([]float32, 3*model.OutputSize)
	var res struct {
		Out    []float32
		Allocs float64
		Bad    string
	}
	if err := m.Forward(out, ids, mask, 3); err != nil {
		panic(err)
	}
	res.Out = out
	res.Allocs = testing.AllocsPerRun(5, func() { m.Forward(out, ids, mask, 3) })
	ids[6] = 9
	if err := m.Forward(out, ids, mask, 3); err != nil {
		res.Bad = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(res)
}
`

// TestMultiInputForward: a model with an i64 and an f32 input compiles to
// a Forward that takes both, computes what the interpreter computes, bit
// for bit, allocates nothing, and returns an id outside the embedding as
// an error naming its row and position.
func TestMultiInputForward(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	p, err := nnc.Compile("masked.nn", []byte(multiInput), nnc.Options{Verify: true, Batch: 4})
	if err != nil {
		t.Fatal(err)
	}
	src, err := codegen.Generate(p, codegen.Options{Package: "model", Source: "masked.nn"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "func (m *Model) Forward(out []float32, inIds []int64, inMask []float32, n int) (err error)") {
		t.Fatalf("Forward does not take both inputs:\n%s", src)
	}
	out := goCmd(t, module(t, src, nil, multiHarness), []string{"GOFLAGS=-mod=mod"}, "run", ".")
	var got struct {
		Out    []float32
		Allocs float64
		Bad    string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	store := interp.NewStore[float32]()
	if err := store.Init(p.Forward, 0); err != nil {
		t.Fatal(err)
	}
	m, err := interp.New(p.Forward, store, 0)
	if err != nil {
		t.Fatal(err)
	}
	in := m.InputTensors()
	if len(in) != 2 || in[0].Name != "ids" || in[1].Name != "mask" || in[0].I64 == nil || in[1].F == nil {
		t.Fatalf("the interpreter's inputs: %+v", in)
	}
	copy(in[0].I64, []int64{0, 1, 2, 3, 5, 4, 3, 2, 1, 1, 1, 1})
	copy(in[1].F, []float32{1, 1, 0, 1, 0.5, 1, 1, 0, 1, 1, 1, 1})
	if err := m.Run(3); err != nil {
		testenv.NoInternal(t, err)
		t.Fatal(err)
	}
	want := m.OutputTensor("out")[:6]
	if len(got.Out) != len(want) {
		t.Fatalf("generated %d outputs, interpreter %d", len(got.Out), len(want))
	}
	for i := range want {
		if got.Out[i] != want[i] {
			t.Fatalf("output %d: generated %v, interpreter %v", i, got.Out[i], want[i])
		}
	}
	if got.Allocs != 0 {
		t.Errorf("Forward allocates %v times a call", got.Allocs)
	}
	if wantErr := "Forward: token 9 (of row 2, position 3) is outside the embedding's 6 ids"; got.Bad != wantErr {
		t.Errorf("an id outside the table: got %q, want %q", got.Bad, wantErr)
	}

	in[0].I64[6] = 9
	err = m.Run(3)
	if wantErr := "token id 9 at row 2, position 3 of the batch is outside the 6 ids of Embedding at masked.nn:6:13"; err == nil || err.Error() != wantErr {
		t.Errorf("interpreter: got %v, want %s", err, wantErr)
	}
}
