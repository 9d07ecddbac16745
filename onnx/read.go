// Package onnx reads ONNX model files and imports their graphs into nnc's
// IR: a second front end over ir.Builder, beside package build.
//
// Reading (this file) trusts nothing in the file: every size is checked
// against the bytes that back it before anything is allocated, tensors
// stored outside the model (external data) must lie in the model's own
// folder, and no input makes it panic (FuzzDecode). Importing (import.go)
// turns the graph into an ir.Program whose parameters and buffers are the
// initializers, folding at compile time what PyTorch computes from shapes
// (Shape → Gather → Unsqueeze → Concat → Reshape). An op or attribute it
// does not support is an error naming the node, the op, the opset and what
// is missing, never a wrong answer.
package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/onnx/onnxpb"
)

// Limits on what a file may ask for. Protobuf itself stops at 2 GiB.
const (
	MaxFileSize = 2 << 30 // bytes of a model file
	MaxRank     = 16      // dimensions of a tensor
	// MaxElems bounds the elements of one tensor, stored or computed.
	MaxElems = 1 << 31
)

// Model is a decoded ONNX model.
type Model struct {
	Proto *onnxpb.ModelProto
	// Path is the file it was read from ("" when decoded from memory);
	// external data is read from its folder, and only from there.
	Path string
	// Opset is the version of the default ("ai.onnx") operator set.
	Opset int
}

// Read reads and decodes the ONNX model at path.
func Read(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes, more than an ONNX file may hold (%d)", path, st.Size(), int64(MaxFileSize))
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	m, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	m.Path = path
	return m, nil
}

// Decode decodes an ONNX model from b. Tensors in external files cannot be
// read from a model decoded from memory; Read sets Path for them.
func Decode(b []byte) (*Model, error) {
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%d bytes, more than an ONNX file may hold", len(b))
	}
	var mp onnxpb.ModelProto
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &mp); err != nil {
		return nil, fmt.Errorf("not an ONNX model: %v", err)
	}
	if mp.Graph == nil {
		return nil, errors.New("not an ONNX model: no graph")
	}
	m := &Model{Proto: &mp}
	for _, o := range mp.OpsetImport {
		if d := o.GetDomain(); d == "" || d == "ai.onnx" {
			if o.GetVersion() <= 0 || o.GetVersion() > 1000 {
				return nil, fmt.Errorf("opset version %d out of range", o.GetVersion())
			}
			m.Opset = int(o.GetVersion())
		}
	}
	if m.Opset == 0 {
		if len(mp.OpsetImport) > 0 {
			return nil, errors.New("the model imports no version of the default (ai.onnx) operator set")
		}
		m.Opset = 1 // IR version 2 and older: no opset_import, opset 1
	}
	return m, nil
}

// Tensor is a tensor of the model held on the host: an initializer, a
// Constant, or a value folded at compile time. Float elements are held in
// F (float32 ones exactly), integer and bool ones in I, whichever the
// element type is; a Batch entry of an i64 shape tensor stands for the
// symbolic batch size (a Shape of a batched value).
type Tensor struct {
	DType ir.DType // F32, F64, I64 or Bool; narrower integers are I64
	Shape []int
	F     []float64
	I     []int64
}

// Elems is the number of elements.
func (t *Tensor) Elems() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// dtypeOf maps an ONNX element type to the IR's; ok is false for the
// types nnc does not compute in.
func dtypeOf(dt int32) (ir.DType, bool) {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_FLOAT:
		return ir.F32, true
	case onnxpb.TensorProto_DOUBLE:
		return ir.F64, true
	case onnxpb.TensorProto_INT64, onnxpb.TensorProto_INT32, onnxpb.TensorProto_INT16, onnxpb.TensorProto_INT8,
		onnxpb.TensorProto_UINT8, onnxpb.TensorProto_UINT16, onnxpb.TensorProto_UINT32:
		return ir.I64, true
	case onnxpb.TensorProto_BOOL:
		return ir.Bool, true
	}
	return ir.InvalidDType, false
}

// typeName is an ONNX element type's name in messages ("float16").
func typeName(dt int32) string {
	if s, ok := onnxpb.TensorProto_DataType_name[dt]; ok {
		return toLower(s)
	}
	return "type " + strconv.Itoa(int(dt))
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// rawSize is the bytes of one element of ONNX type dt in raw_data.
func rawSize(dt int32) int {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_DOUBLE, onnxpb.TensorProto_INT64:
		return 8
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_INT32, onnxpb.TensorProto_UINT32:
		return 4
	case onnxpb.TensorProto_INT16, onnxpb.TensorProto_UINT16:
		return 2
	}
	return 1
}

// checkDims returns the dimensions of a stored tensor and their product,
// refusing negative ones and products beyond MaxElems.
func checkDims(dims []int64) ([]int, int, error) {
	if len(dims) > MaxRank {
		return nil, 0, fmt.Errorf("%d dimensions, more than %d", len(dims), MaxRank)
	}
	shape := make([]int, len(dims))
	n := 1
	for i, d := range dims {
		if d < 0 || d > MaxElems {
			return nil, 0, fmt.Errorf("dimension %d out of range", d)
		}
		shape[i] = int(d)
		if d != 0 && n > MaxElems/int(d) {
			return nil, 0, fmt.Errorf("shape %v has more than %d elements", dims, int64(MaxElems))
		}
		n *= int(d)
	}
	return shape, n, nil
}

// Tensor decodes a TensorProto of m: its elements from raw_data, the typed
// fields, or the external file it names.
func (m *Model) Tensor(tp *onnxpb.TensorProto) (*Tensor, error) {
	name := tp.GetName()
	fail := func(format string, a ...any) error {
		msg := fmt.Sprintf(format, a...)
		if name != "" {
			return fmt.Errorf("tensor %s: %s", name, msg)
		}
		return errors.New(msg)
	}
	dt, ok := dtypeOf(tp.GetDataType())
	if !ok {
		return nil, fail("element type %s is not supported", typeName(tp.GetDataType()))
	}
	if tp.Segment != nil {
		return nil, fail("segmented tensors are not supported")
	}
	shape, n, err := checkDims(tp.Dims)
	if err != nil {
		return nil, fail("%v", err)
	}
	t := &Tensor{DType: dt, Shape: shape}
	raw := tp.RawData
	if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		if raw, err = m.external(tp, n*rawSize(tp.GetDataType())); err != nil {
			return nil, fail("%v", err)
		}
	}
	if raw != nil || tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		size := rawSize(tp.GetDataType())
		if len(raw) != n*size {
			return nil, fail("raw data of %d bytes for %d elements of %s", len(raw), n, typeName(tp.GetDataType()))
		}
		decodeRaw(t, tp.GetDataType(), raw, n)
		return t, nil
	}
	var have int
	switch onnxpb.TensorProto_DataType(tp.GetDataType()) {
	case onnxpb.TensorProto_FLOAT:
		have = len(tp.FloatData)
	case onnxpb.TensorProto_DOUBLE:
		have = len(tp.DoubleData)
	case onnxpb.TensorProto_INT64:
		have = len(tp.Int64Data)
	case onnxpb.TensorProto_UINT32:
		have = len(tp.Uint64Data)
	default:
		have = len(tp.Int32Data)
	}
	if have != n {
		return nil, fail("%d values for a shape of %d elements", have, n)
	}
	switch onnxpb.TensorProto_DataType(tp.GetDataType()) {
	case onnxpb.TensorProto_FLOAT:
		t.F = make([]float64, n)
		for i, v := range tp.FloatData {
			t.F[i] = float64(v)
		}
	case onnxpb.TensorProto_DOUBLE:
		t.F = append([]float64(nil), tp.DoubleData...)
	case onnxpb.TensorProto_INT64:
		t.I = append([]int64(nil), tp.Int64Data...)
	case onnxpb.TensorProto_UINT32:
		t.I = make([]int64, n)
		for i, v := range tp.Uint64Data {
			t.I[i] = int64(uint32(v))
		}
	default:
		t.I = make([]int64, n)
		for i, v := range tp.Int32Data {
			switch onnxpb.TensorProto_DataType(tp.GetDataType()) {
			case onnxpb.TensorProto_UINT8:
				t.I[i] = int64(uint8(v))
			case onnxpb.TensorProto_UINT16:
				t.I[i] = int64(uint16(v))
			case onnxpb.TensorProto_BOOL:
				if v != 0 {
					t.I[i] = 1
				}
			default:
				t.I[i] = int64(v)
			}
		}
	}
	return t, nil
}

// decodeRaw fills t with the n little-endian elements of raw, whose length
// the caller checked.
func decodeRaw(t *Tensor, dt int32, raw []byte, n int) {
	le := binary.LittleEndian
	if t.DType.IsFloat() {
		t.F = make([]float64, n)
	} else {
		t.I = make([]int64, n)
	}
	for i := range n {
		switch onnxpb.TensorProto_DataType(dt) {
		case onnxpb.TensorProto_FLOAT:
			t.F[i] = float64(math.Float32frombits(le.Uint32(raw[4*i:])))
		case onnxpb.TensorProto_DOUBLE:
			t.F[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		case onnxpb.TensorProto_INT64:
			t.I[i] = int64(le.Uint64(raw[8*i:]))
		case onnxpb.TensorProto_INT32:
			t.I[i] = int64(int32(le.Uint32(raw[4*i:])))
		case onnxpb.TensorProto_UINT32:
			t.I[i] = int64(le.Uint32(raw[4*i:]))
		case onnxpb.TensorProto_INT16:
			t.I[i] = int64(int16(le.Uint16(raw[2*i:])))
		case onnxpb.TensorProto_UINT16:
			t.I[i] = int64(le.Uint16(raw[2*i:]))
		case onnxpb.TensorProto_INT8:
			t.I[i] = int64(int8(raw[i]))
		case onnxpb.TensorProto_BOOL:
			if raw[i] != 0 {
				t.I[i] = 1
			}
		default: // UINT8
			t.I[i] = int64(raw[i])
		}
	}
}

// external reads the want bytes of a tensor stored in another file, which
// must lie inside the model's folder (no absolute path, no "..", no
// symbolic link leading out: os.OpenInRoot refuses them all).
func (m *Model) external(tp *onnxpb.TensorProto, want int) ([]byte, error) {
	var location string
	var offset, length int64 = 0, -1
	for _, e := range tp.ExternalData {
		switch e.GetKey() {
		case "location":
			location = e.GetValue()
		case "offset", "length":
			v, err := strconv.ParseInt(e.GetValue(), 10, 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("external data %s %q is not a size", e.GetKey(), e.GetValue())
			}
			if e.GetKey() == "offset" {
				offset = v
			} else {
				length = v
			}
		}
	}
	if location == "" {
		return nil, errors.New("external data without a location")
	}
	if m.Path == "" {
		return nil, fmt.Errorf("external data %q: the model was not read from a file", location)
	}
	if !filepath.IsLocal(location) {
		return nil, fmt.Errorf("external data %q is outside the model's folder", location)
	}
	f, err := os.OpenInRoot(filepath.Dir(m.Path), location)
	if err != nil {
		return nil, fmt.Errorf("external data: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("external data: %v", err)
	}
	if length < 0 {
		length = int64(want)
	}
	if length != int64(want) {
		return nil, fmt.Errorf("external data %q: length %d for %d bytes of elements", location, length, want)
	}
	if offset > st.Size() || length > st.Size()-offset {
		return nil, fmt.Errorf("external data %q: bytes %d to %d beyond its end (%d)", location, offset, offset+length, st.Size())
	}
	b := make([]byte, length)
	if _, err := f.ReadAt(b, offset); err != nil && !(errors.Is(err, io.EOF) && length == 0) {
		return nil, fmt.Errorf("external data %q: %v", location, err)
	}
	return b, nil
}
