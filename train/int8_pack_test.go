package train

import (
	"slices"
	"strings"
	"testing"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/kernels"
)

// TestInt8TensorsPacked: the loader hands a QLinear its weights packed
// (NAME.qweight, kernels.QPackLinear of NAME.weight), and refuses, with a
// one-line error, a checkpoint whose weight has another shape than the
// layer's, even one that packs to the same size.
func TestInt8TensorsPacked(t *testing.T) {
	p, q := int8Model(t, "mlp")
	f, err := ReadInt8(q)
	if err != nil || f == nil {
		t.Fatalf("ReadInt8: %v, %v", f, err)
	}
	g, err := Int8Graph(p.Forward, f)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := Int8Tensors(g, f, q)
	if err != nil {
		t.Fatal(err)
	}
	w := f.Get("fc1.weight") // [37, 13]
	want := make([]int8, 48*16)
	kernels.QPackLinear(want, w.I8, 37, 13)
	var got *checkpoint.Tensor
	for _, ten := range ts {
		if ten.Name == "fc1.qweight" {
			got = ten
		}
	}
	if got == nil || !slices.Equal(got.Shape, []int{48, 16}) || !slices.Equal(got.I8, want) {
		t.Fatalf("fc1.qweight %v: want fc1.weight packed, [48 16]", got)
	}
	// [37, 14] packs to [48, 16] too.
	w.Shape, w.I8 = []int{37, 14}, make([]int8, 37*14)
	_, err = Int8Tensors(g, f, q)
	if err == nil || !strings.Contains(err.Error(), `"fc1.weight" is I8 [37 14], model expects I8 [37 13]`) || strings.Contains(err.Error(), "\n") {
		t.Errorf("fc1.weight of [37, 14]: %v", err)
	}
}
