package train

import (
	"fmt"

	"github.com/nnc-go/nnc/npy"
)

// NumPy's .npy files of float32 or float64 values in C order, any shape,
// through package npy (which reads them with codeberg.org/sbinet/npyio).

// ReadNPY reads a .npy file of float32 or float64 values in C (row-major)
// order and returns its shape and values.
func ReadNPY(path string) (shape []int, x []float64, err error) {
	b, err := npy.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return DecodeNPY(path, b)
}

// DecodeNPY is ReadNPY of the contents b of a file named path.
func DecodeNPY(path string, b []byte) (shape []int, x []float64, err error) {
	a, err := npy.Decode(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not a NumPy .npy file: %v", path, err)
	}
	if a.F32 == nil && a.F64 == nil {
		return nil, nil, fmt.Errorf("%s: values of type %s; want float32 or float64 (<f4 or <f8): convert with x.astype('float32')", path, a.DType)
	}
	return a.Shape, a.Float64s(), nil
}

// WriteNPY writes x, of the given shape, to a .npy file atomically, as
// float32 values or, when f64, float64 ones.
func WriteNPY(path string, shape []int, x []float64, f64 bool) error {
	n := 1
	for _, k := range shape {
		n *= k
	}
	if n != len(x) || n == 0 {
		return fmt.Errorf("npy: %d values of shape %v", len(x), shape)
	}
	a := &npy.Array{Shape: shape}
	if f64 {
		a.F64 = x
	} else {
		a.F32 = make([]float32, n)
		for i, f := range x {
			a.F32[i] = float32(f)
		}
	}
	if err := npy.Write(path, a); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}
