package train

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"reflect"
	"strings"

	"codeberg.org/sbinet/npyio"

	"github.com/nnc-go/nnc/internal/atomicfile"
)

// NumPy's .npy files, read and written with codeberg.org/sbinet/npyio:
// arrays of float32 or float64 in C order, any shape.

// ReadNPY reads a .npy file of float32 or float64 values in C (row-major)
// order and returns its shape and values.
func ReadNPY(path string) (shape []int, x []float64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return DecodeNPY(path, b)
}

// DecodeNPY is ReadNPY of the contents b of a file named path.
func DecodeNPY(path string, b []byte) (shape []int, x []float64, err error) {
	// npyio panics on some malformed headers (v0.14.0: a header length
	// shorter than its padding): such a file is not an array either.
	defer func() {
		if r := recover(); r != nil {
			shape, x, err = nil, nil, fmt.Errorf("%s: not a NumPy .npy file: %v", path, r)
		}
	}()
	// npyio allocates the header length a file claims: check it first.
	if len(b) >= 10 && [6]byte(b[:6]) == npyio.Magic {
		n, at := int(binary.LittleEndian.Uint16(b[8:])), 10
		if b[6] >= 2 && len(b) >= 12 {
			n, at = int(binary.LittleEndian.Uint32(b[8:])), 12
		}
		if n > len(b)-at {
			return nil, nil, fmt.Errorf("%s: not a NumPy .npy file: a header of %d bytes in a file of %d", path, n, len(b))
		}
	}
	br := bytes.NewReader(b)
	r, err := npyio.NewReader(br)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not a NumPy .npy file: %v", path, err)
	}
	d := r.Header.Descr
	n := 1
	for _, k := range d.Shape {
		if k < 0 || (k > 0 && n > (1<<40)/k) {
			return nil, nil, fmt.Errorf("%s: bad shape %v", path, d.Shape)
		}
		n *= k
	}
	if d.Fortran && len(d.Shape) > 1 {
		return nil, nil, fmt.Errorf("%s: the array is in Fortran order; save it in C order (numpy.ascontiguousarray)", path)
	}
	typ := strings.Trim(d.Type, `'"`)
	size := map[string]int{"<f4": 4, "<f8": 8}[typ]
	if size == 0 {
		return nil, nil, fmt.Errorf("%s: values of type %s; want float32 or float64 (<f4 or <f8): convert with x.astype('float32')", path, typ)
	}
	if br.Len() != n*size {
		return nil, nil, fmt.Errorf("%s: shape %v needs %d bytes of data, the file has %d", path, d.Shape, n*size, br.Len())
	}
	x = make([]float64, n)
	if size == 4 {
		v := make([]float32, n)
		err = r.Read(&v)
		for i, f := range v {
			x[i] = float64(f)
		}
	} else {
		err = r.Read(&x)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	return append([]int{}, d.Shape...), x, nil
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
	var flat reflect.Value
	if f64 {
		flat = reflect.ValueOf(x)
	} else {
		v := make([]float32, n)
		for i, f := range x {
			v[i] = float32(f)
		}
		flat = reflect.ValueOf(v)
	}
	var buf bytes.Buffer
	if err := npyio.Write(&buf, nest(flat, shape).Interface()); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return atomicfile.Write(path, buf.Bytes())
}

// nest views the flat slice v as nested slices of the given shape, which
// is how npyio learns an array's shape.
func nest(v reflect.Value, shape []int) reflect.Value {
	if len(shape) == 1 {
		return v
	}
	inner := 1
	for _, k := range shape[1:] {
		inner *= k
	}
	first := nest(v.Slice(0, inner), shape[1:])
	s := reflect.MakeSlice(reflect.SliceOf(first.Type()), shape[0], shape[0])
	for i := range shape[0] {
		s.Index(i).Set(nest(v.Slice(i*inner, (i+1)*inner), shape[1:]))
	}
	return s
}
