package nncrt_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nnc-go/nnc/nncrt"
)

// TestTensors: a Store and MapTensors give the same slices by name that
// the model computes with, nil for a name or a type they do not hold.
func TestTensors(t *testing.T) {
	m := newModel[float32](1)
	m.fill()
	var ts nncrt.Tensors[float32] = m.st
	if w := ts.Float("fc.weight"); len(w) != 6 || &w[0] != &m.p[0][0] {
		t.Errorf("Float(fc.weight) = %v, not the model's slice", w)
	}
	if s := ts.Int64("optimizer.step"); len(s) != 1 || &s[0] != &m.pi[1][0] {
		t.Errorf("Int64(optimizer.step) = %v, not the model's slice", s)
	}
	if ts.Float("optimizer.step") != nil || ts.Int64("fc.weight") != nil || ts.Float("nope") != nil {
		t.Error("a name of the other type, or no tensor, gave a slice")
	}
	mt := nncrt.MapTensors[float32]{F: map[string][]float32{"a": {1}}, I64: map[string][]int64{"b": {2}}}
	ts = mt
	if ts.Float("a")[0] != 1 || ts.Int64("b")[0] != 2 || ts.Float("b") != nil {
		t.Errorf("MapTensors: %v %v %v", ts.Float("a"), ts.Int64("b"), ts.Float("b"))
	}
	if err := fmt.Errorf("the loss is %w", nncrt.ErrNonFinite); !errors.Is(err, nncrt.ErrNonFinite) || err.Error() != "the loss is not finite" {
		t.Errorf("%v", err)
	}
}
