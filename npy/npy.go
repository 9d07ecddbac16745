// Package npy reads and writes NumPy .npy arrays of the element types nnc
// computes with, over codeberg.org/sbinet/npyio. It adds what a command
// reading untrusted files needs: the header's shape is checked against the
// file's size before anything is allocated, and writes are atomic.
package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"unsafe"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/nnc-go/nnc/internal/atomicfile"
)

// Array is an n-dimensional array, row-major: exactly one of F32, F64, I64
// and Bool holds its elements. Read holds bools as int64 0 and 1; Encode
// writes Bool as NumPy's bool.
type Array struct {
	Shape []int
	// DType is the element type the file declared (NumPy's descr: "<f4",
	// "<i8", ...); Encode ignores it.
	DType string
	F32   []float32
	F64   []float64
	I64   []int64
	Bool  []bool
}

// Len is the number of elements.
func (a *Array) Len() int { return len(a.F32) + len(a.F64) + len(a.I64) + len(a.Bool) }

// Float64s returns the elements as float64s.
func (a *Array) Float64s() []float64 {
	out := make([]float64, 0, a.Len())
	for _, x := range a.F32 {
		out = append(out, float64(x))
	}
	out = append(out, a.F64...)
	for _, x := range a.I64 {
		out = append(out, float64(x))
	}
	for _, x := range a.Bool {
		out = append(out, 0)
		if x {
			out[len(out)-1] = 1
		}
	}
	return out
}

// MaxBytes bounds the size of an array file.
const MaxBytes = 1 << 34

// Read reads the .npy file at path: float32, float64, and integers of any
// width (held as int64); bools are held as int64 0 and 1.
func Read(path string) (*Array, error) {
	b, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	a, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return a, nil
}

// ReadFile returns the contents of the array file at path, refusing one
// larger than MaxBytes before reading it.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxBytes {
		return nil, fmt.Errorf("%s: %d bytes, too large an array", path, st.Size())
	}
	return io.ReadAll(f)
}

// Decode decodes the contents of a .npy file.
func Decode(b []byte) (a *Array, err error) {
	defer func() {
		if r := recover(); r != nil { // npyio panics on some malformed headers
			a, err = nil, fmt.Errorf("not a NumPy array: %v", r)
		}
	}()
	// npyio allocates the header length a file claims: check it first.
	if len(b) >= 10 && [6]byte(b[:6]) == npy.Magic {
		n, at := int(binary.LittleEndian.Uint16(b[8:])), 10
		if b[6] >= 2 && len(b) >= 12 {
			n, at = int(binary.LittleEndian.Uint32(b[8:])), 12
		}
		if n > len(b)-at {
			return nil, fmt.Errorf("not a NumPy array: a header of %d bytes in a file of %d", n, len(b))
		}
	}
	br := bytes.NewReader(b)
	r, err := npy.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("not a NumPy array: %v", err)
	}
	h := r.Header
	if h.Descr.Fortran {
		return nil, errors.New("arrays in Fortran order are not supported")
	}
	n := 1
	for _, d := range h.Descr.Shape {
		if d < 0 || (d > 0 && n > len(b)/d) {
			return nil, fmt.Errorf("shape %v does not fit in %d bytes", h.Descr.Shape, len(b))
		}
		n *= d
	}
	typ := strings.Trim(h.Descr.Type, "'\"")
	var size int
	switch typ {
	case "<f4", "<i4", "<u4":
		size = 4
	case "<f8", "<i8", "<u8":
		size = 8
	case "<i2", "<u2":
		size = 2
	case "|i1", "|u1", "|b1":
		size = 1
	default:
		return nil, fmt.Errorf("element type %s is not supported (float32, float64 or integers, little-endian)", h.Descr.Type)
	}
	if n*size != br.Len() {
		return nil, fmt.Errorf("shape %v needs %d bytes of data, the file has %d", h.Descr.Shape, n*size, br.Len())
	}
	a = &Array{Shape: append([]int{}, h.Descr.Shape...), DType: typ}
	read := func(ptr any) error {
		if err := r.Read(ptr); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
			return fmt.Errorf("reading %v elements of %s: %v", h.Descr.Shape, h.Descr.Type, err)
		}
		return nil
	}
	switch typ {
	case "<f4":
		a.F32 = make([]float32, 0, n)
		err = read(&a.F32)
	case "<f8":
		a.F64 = make([]float64, 0, n)
		err = read(&a.F64)
	case "<i8":
		a.I64 = make([]int64, 0, n)
		err = read(&a.I64)
	default:
		var xs []float64
		xs, err = readInts(r, typ, n)
		a.I64 = make([]int64, len(xs))
		for i, x := range xs {
			a.I64[i] = int64(x)
		}
	}
	if err != nil {
		return nil, err
	}
	if a.Len() != n {
		return nil, fmt.Errorf("%d elements for shape %v", a.Len(), h.Descr.Shape)
	}
	return a, nil
}

func readInts(r *npy.Reader, typ string, n int) ([]float64, error) {
	var ptr any
	switch typ {
	case "<i4":
		ptr = new([]int32)
	case "<u4":
		ptr = new([]uint32)
	case "<u8":
		ptr = new([]uint64)
	case "<i2":
		ptr = new([]int16)
	case "<u2":
		ptr = new([]uint16)
	case "|i1":
		ptr = new([]int8)
	case "|u1":
		ptr = new([]uint8)
	case "|b1":
		ptr = new([]bool)
	}
	if err := r.Read(ptr); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
		return nil, err
	}
	v := reflect.ValueOf(ptr).Elem()
	out := make([]float64, v.Len())
	for i := range out {
		switch e := v.Index(i); e.Kind() {
		case reflect.Bool:
			if e.Bool() {
				out[i] = 1
			}
		case reflect.Int8, reflect.Int16, reflect.Int32:
			out[i] = float64(e.Int())
		default:
			out[i] = float64(e.Uint())
		}
	}
	return out, nil
}

// Encode returns a in the .npy format.
func Encode(a *Array) ([]byte, error) {
	n := 1
	for _, d := range a.Shape {
		if d < 0 {
			return nil, fmt.Errorf("npy: negative dimension in %v", a.Shape)
		}
		n *= d
	}
	if a.Len() != n {
		return nil, fmt.Errorf("npy: %d elements for shape %v", a.Len(), a.Shape)
	}
	var elems any
	var et reflect.Type
	switch {
	case a.F32 != nil:
		elems, et = a.F32, reflect.TypeFor[float32]()
	case a.F64 != nil:
		elems, et = a.F64, reflect.TypeFor[float64]()
	case a.Bool != nil:
		elems, et = a.Bool, reflect.TypeFor[bool]()
	default:
		if a.I64 == nil {
			a.I64 = []int64{}
		}
		elems, et = a.I64, reflect.TypeFor[int64]()
	}
	// npyio writes the shape of a Go array type: [d0][d1]...T.
	var v any
	switch {
	case len(a.Shape) == 1:
		v = elems
	case n == 0 || len(a.Shape) == 0:
		if len(a.Shape) == 0 {
			v = reflect.ValueOf(elems).Index(0).Interface()
		} else {
			return nil, fmt.Errorf("npy: cannot write the empty array of shape %v", a.Shape)
		}
	default:
		t := et
		for i := len(a.Shape) - 1; i >= 0; i-- {
			t = reflect.ArrayOf(a.Shape[i], t)
		}
		p := reflect.New(t)
		src := reflect.ValueOf(elems)
		size := int(et.Size()) * n
		dst := unsafe.Slice((*byte)(p.UnsafePointer()), size)
		copy(dst, unsafe.Slice((*byte)(src.UnsafePointer()), size))
		v = p.Elem().Interface()
	}
	var buf bytes.Buffer
	if err := npy.Write(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write writes a to path atomically.
func Write(path string, a *Array) error {
	b, err := Encode(a)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b)
}
