package train

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnc-go/nnc/checkpoint"
)

const resumeModel = `
model Net {
    fc1  = Linear(6, 12)
    bn   = BatchNorm1d(12)
    drop = Dropout(0.3)
    fc2  = Linear(12, 3)
    forward(x: f32[N, 6]) {
        return fc2(drop(relu(bn(fc1(x)))))
    }
}

train Net {
    data      = random(samples = 50, classes = 3, seed = 4)
    loss      = cross_entropy
    optimizer = OPTIMIZER
    epochs    = 3
    batch     = 16
    seed      = 9
}
`

// TestResumeSameTrajectory: a run interrupted mid-epoch and resumed from
// the checkpoint it saved prints what the uninterrupted run prints and
// ends with the same weights, optimizer state and buffers, bit for bit —
// shuffling, dropout, batch-norm statistics and Adam's moments included.
func TestResumeSameTrajectory(t *testing.T) {
	for _, optimizer := range []string{"Adam(lr = 0.01, weight_decay = 0.01)", "SGD(lr = 0.1, momentum = 0.9, nesterov = true)"} {
		for _, stopAfter := range []int{1, 4, 6, 11} {
			src := []byte(strings.Replace(resumeModel, "OPTIMIZER", optimizer, 1))
			p, err := compile("net.nn", src)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var whole, first, second strings.Builder
			full := filepath.Join(dir, "full.safetensors")
			if _, err := Run(p, Options{Source: src, JSON: true, Out: &whole, Save: full}); err != nil {
				t.Fatal(err)
			}
			stopped := filepath.Join(dir, "stopped.safetensors")
			_, err = Run(p, Options{Source: src, JSON: true, Out: &first, Save: stopped, StopAfter: stopAfter})
			var intr *Interrupted
			if !errors.As(err, &intr) || intr.Saved != stopped {
				t.Fatalf("interrupted run: %v", err)
			}
			resumed := filepath.Join(dir, "resumed.safetensors")
			if _, err := Run(p, Options{Source: src, JSON: true, Out: &second, Save: resumed, Resume: stopped}); err != nil {
				t.Fatal(err)
			}
			if got := first.String() + second.String(); got != whole.String() {
				t.Errorf("%s, stopped after %d steps (%v):\n%s\nuninterrupted:\n%s", optimizer, stopAfter, err, got, whole.String())
			}
			a, err := checkpoint.Read(full)
			if err != nil {
				t.Fatal(err)
			}
			b, err := checkpoint.Read(resumed)
			if err != nil {
				t.Fatal(err)
			}
			if a.Get("optimizer.step") == nil || a.Get("bn.running_var") == nil {
				t.Fatalf("the whole run saved no optimizer step or batch-norm statistics to compare: %d tensors", len(a.Tensors))
			}
			if len(a.Tensors) != len(b.Tensors) {
				t.Fatalf("%d tensors after the resumed run, %d after the whole one", len(b.Tensors), len(a.Tensors))
			}
			for i, x := range a.Tensors {
				y := b.Tensors[i]
				if x.Name != y.Name || !slices.Equal(x.F32, y.F32) || !slices.Equal(x.I64, y.I64) {
					t.Errorf("%s, stopped after %d steps: tensor %s differs", optimizer, stopAfter, x.Name)
				}
			}
		}
	}
}

func TestResumeNeedsPosition(t *testing.T) {
	src := []byte(strings.Replace(resumeModel, "OPTIMIZER", "SGD(lr = 0.1)", 1))
	p, err := compile("net.nn", src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if _, err := Run(p, Options{Source: src, Save: path, Epochs: new(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(p, Options{Source: src, Resume: path}); err == nil || !strings.Contains(err.Error(), "no position") {
		t.Errorf("resume from a finished run's checkpoint: %v", err)
	}
}
