package npy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, a := range []*Array{
		{Shape: []int{2, 3}, F32: []float32{1, 2, 3, 4, 5, 6}},
		{Shape: []int{4}, F64: []float64{1.5, -2, 3, 4}},
		{Shape: []int{2, 1, 2}, I64: []int64{1, -2, 3, 1 << 40}},
		{Shape: []int{}, F32: []float32{7}},
	} {
		p := filepath.Join(dir, "a.npy")
		if err := Write(p, a); err != nil {
			t.Fatal(err)
		}
		b, err := Read(p)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.Shape, b.Shape) || !slices.Equal(a.F32, b.F32) || !slices.Equal(a.F64, b.F64) || !slices.Equal(a.I64, b.I64) {
			t.Errorf("wrote %+v, read %+v", a, b)
		}
	}
	// Bools are written as NumPy's bool and read as int64 0 and 1.
	p := filepath.Join(dir, "b.npy")
	if err := Write(p, &Array{Shape: []int{3}, Bool: []bool{true, false, true}}); err != nil {
		t.Fatal(err)
	}
	b, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if b.DType != "|b1" || !slices.Equal(b.I64, []int64{1, 0, 1}) {
		t.Errorf("bools read back as %s %v", b.DType, b.I64)
	}
}

// TestNumPy reads a file NumPy wrote (committed by testdata/onnx/gen.py).
func TestNumPy(t *testing.T) {
	a, err := Read("../testdata/onnx/cnn.in.npy")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Shape, []int{5, 1, 12, 12}) || len(a.F32) != 5*144 {
		t.Errorf("shape %v, %d floats", a.Shape, len(a.F32))
	}
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		return
	}
}

func TestBad(t *testing.T) {
	good, err := Encode(&Array{Shape: []int{2, 2}, F32: []float32{1, 2, 3, 4}})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)-3],
		"garbage":   []byte("\x93NUMPY\x01\x00\x10\x00{'descr': zz}   \n"),
		"huge":      []byte("\x93NUMPY\x01\x00\x46\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000000000), }    \n"),
	} {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	_ = os.Remove
}
