package interp_test

import (
	"strings"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
)

const mlp = `
model MLP(hid = 16) {
    fc1 = Linear(8, hid)
    fc2 = Linear(hid, 3)
    forward(x: f32[N, 8]) {
        return fc2(tanh(fc1(x)))
    }
}
train MLP {
    data      = random(samples = 50, classes = 3)
    loss      = cross_entropy
    optimizer = Adam(lr = 0.01)
    epochs    = 1
    batch     = 16
}
`

func compile(t testing.TB, src string) *ir.Program {
	t.Helper()
	p, err := nnc.Compile("m.nn", []byte(src), nnc.Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func machine(t testing.TB, g *ir.Graph, store *interp.Store[float32]) *interp.Machine[float32] {
	t.Helper()
	if err := store.Init(g, 1); err != nil {
		t.Fatal(err)
	}
	m, err := interp.New(g, store, 1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRunAllocatesNothing: after New, a training step allocates nothing,
// whatever the batch size.
func TestRunAllocatesNothing(t *testing.T) {
	p := compile(t, mlp)
	m := machine(t, p.TrainGraph, interp.NewStore[float32]())
	labels, _ := m.Targets()
	for i := range labels {
		labels[i] = int32(i % 3)
	}
	for _, n := range []int{16, 2} {
		if a := testing.AllocsPerRun(20, func() {
			if err := m.Run(n); err != nil {
				testenv.NoInternal(t, err)
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("batch %d: %v allocations per step", n, a)
		}
	}
}

// TestSmallerBatch: a batch smaller than planned computes what a machine
// planned for exactly that batch computes.
func TestSmallerBatch(t *testing.T) {
	p := compile(t, mlp)
	big := machine(t, p.EvalGraph, interp.NewStore[float32]())
	p5, err := nnc.Compile("m.nn", []byte(mlp), nnc.Options{Batch: 5})
	if err != nil {
		t.Fatal(err)
	}
	small := machine(t, p5.EvalGraph, interp.NewStore[float32]())
	for _, m := range []*interp.Machine[float32]{big, small} {
		x := m.Inputs()[0]
		for i := range x[:5*8] {
			x[i] = float32(i%7) / 7
		}
		labels, _ := m.Targets()
		copy(labels, []int32{0, 1, 2, 1, 0})
		if err := m.Run(5); err != nil {
			testenv.NoInternal(t, err)
			t.Fatal(err)
		}
	}
	l1, _ := big.Output("loss")
	l2, _ := small.Output("loss")
	if l1 != l2 {
		t.Errorf("loss %v with a batch-16 plan, %v with a batch-5 plan", l1, l2)
	}
	if small.Batch() != 5 || big.Batch() != 16 {
		t.Errorf("plans for %d and %d rows", big.Batch(), small.Batch())
	}
}

func TestRunErrors(t *testing.T) {
	p := compile(t, mlp)
	m := machine(t, p.TrainGraph, interp.NewStore[float32]())
	if err := m.Run(17); err == nil || !strings.Contains(err.Error(), "planned for 1 to 16") {
		t.Errorf("oversized batch: %v", err)
	}
	// TestDataErrorsAreNotInternal checks the error of a bad target.
}

// TestStoreShared: the training step and the evaluation graph share the
// parameters of one store; a step changes them, and evaluation sees it.
func TestStoreShared(t *testing.T) {
	p := compile(t, mlp)
	store := interp.NewStore[float32]()
	step := machine(t, p.TrainGraph, store)
	before := append([]float32(nil), store.F["fc1.weight"]...)
	for i, x := range step.Inputs()[0] {
		step.Inputs()[0][i] = x + float32(i%5)
	}
	if err := step.Run(16); err != nil {
		testenv.NoInternal(t, err)
		t.Fatal(err)
	}
	if after := store.F["fc1.weight"]; after[0] == before[0] {
		t.Errorf("a training step left fc1.weight[0] at %v", after[0])
	}
	if got := store.I64["optimizer.step"][0]; got != 1 {
		t.Errorf("optimizer.step = %d after one step", got)
	}
	want := []string{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
	if names := store.Names(); strings.Join(names[:4], " ") != strings.Join(want, " ") {
		t.Errorf("store order %v, want the state_dict's %v first", names, want)
	}
}
