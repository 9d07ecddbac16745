package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nnc-go/nnc/internal/atomicfile"
)

// sample returns a File with every supported dtype, a scalar, an empty
// tensor and values whose bits a careless codec would change.
func sample() *File {
	return &File{
		Metadata: map[string]string{"model": "mlp", "sha256": "abc", "é": "<&>"},
		Tensors: []*Tensor{
			{Name: "a.f32", Shape: []int{2, 3}, F32: []float32{1, -2.5, float32(math.Inf(1)), float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, math.MaxFloat32}},
			{Name: "b.f64", Shape: []int{3}, F64: []float64{math.Pi, -1e300, math.SmallestNonzeroFloat64}},
			{Name: "c.i64", Shape: []int{2, 1}, I64: []int64{math.MinInt64, math.MaxInt64}},
			{Name: "d.scalar", Shape: []int{}, I64: []int64{7}},
			{Name: "e.empty", Shape: []int{0, 4}, F32: []float32{}},
			{Name: "f.odd", Shape: []int{1}, F32: []float32{3}},
			{Name: "g.f64scalar", Shape: []int{}, F64: []float64{-0.5}},
			{Name: "h.emptyi64", Shape: []int{0}, I64: []int64{}},
		},
	}
}

// exact compares floats by their bits, so that it tells -0 from 0 and
// accepts identical NaNs.
var exact = cmp.Options{
	cmp.Comparer(func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }),
	cmp.Comparer(func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }),
}

func TestRoundTrip(t *testing.T) {
	want := sample()
	b, err := Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, exact); diff != "" {
		t.Errorf("Decode(Encode(f)) differs (-want +got):\n%s", diff)
	}
	b2, err := Encode(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Error("Encode(Decode(Encode(f))) differs from Encode(f)")
	}
}

func TestRoundTripNaN(t *testing.T) {
	nan32 := math.Float32frombits(0x7fc00001)
	nan64 := math.Float64frombits(0xfff8000000000002)
	want := &File{Tensors: []*Tensor{
		{Name: "x", Shape: []int{1}, F32: []float32{nan32}},
		{Name: "y", Shape: []int{1}, F64: []float64{nan64}},
	}}
	b, err := Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, exact); diff != "" {
		t.Errorf("NaN payloads changed (-want +got):\n%s", diff)
	}
}

func TestRoundTripEmptyFile(t *testing.T) {
	for _, f := range []*File{{}, {Metadata: map[string]string{}}} {
		b, err := Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		want := &File{Metadata: f.Metadata, Tensors: []*Tensor{}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("round trip of %+v (-want +got):\n%s", f, diff)
		}
	}
}

// TestEncodeLayout pins the exact bytes Encode writes, including the header
// padding and the data order that aligns every tensor.
func TestEncodeLayout(t *testing.T) {
	f := &File{
		Metadata: map[string]string{"b": "2", "a": "1"},
		Tensors: []*Tensor{
			{Name: "z", Shape: []int{}, I64: []int64{1}},
			{Name: "a", Shape: []int{1}, F32: []float32{1}},
			{Name: "m", Shape: []int{1}, F64: []float64{1}},
		},
	}
	b, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	header := `{"__metadata__":{"a":"1","b":"2"},` +
		`"a":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},` +
		`"m":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},` +
		`"z":{"dtype":"I64","shape":[],"data_offsets":[8,16]}}`
	for len(header)%8 != 0 {
		header += " "
	}
	var want []byte
	want = binary.LittleEndian.AppendUint64(want, uint64(len(header)))
	want = append(want, header...)
	want = binary.LittleEndian.AppendUint64(want, math.Float64bits(1))
	want = binary.LittleEndian.AppendUint64(want, 1)
	want = binary.LittleEndian.AppendUint32(want, math.Float32bits(1))
	if !bytes.Equal(b, want) {
		t.Errorf("Encode =\n%q\nwant\n%q", b, want)
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		f    *File
		want string
	}{
		{"nil file", nil, "checkpoint: nil File"},
		{"nil tensor", &File{Tensors: []*Tensor{nil}}, "checkpoint: tensor 0 is nil"},
		{"no data", &File{Tensors: []*Tensor{{Name: "w", Shape: []int{0}}}},
			`checkpoint: tensor "w" must have exactly one of F32, F64, I64, I32 and I8 non-nil`},
		{"two data", &File{Tensors: []*Tensor{{Name: "w", Shape: []int{1}, F32: []float32{1}, I64: []int64{1}}}},
			`checkpoint: tensor "w" must have exactly one of F32, F64, I64, I32 and I8 non-nil`},
		{"length", &File{Tensors: []*Tensor{{Name: "w", Shape: []int{2, 2}, F32: []float32{1, 2, 3}}}},
			`checkpoint: tensor "w" has 3 elements, but shape [2 2] takes 4`},
		{"negative dim", &File{Tensors: []*Tensor{{Name: "w", Shape: []int{-1}, F32: []float32{}}}},
			`checkpoint: tensor "w" has shape [-1], which has a negative dimension or too many elements`},
		{"overflow", &File{Tensors: []*Tensor{{Name: "w", Shape: []int{1 << 40, 1 << 40}, F32: []float32{}}}},
			`checkpoint: tensor "w" has shape [1099511627776 1099511627776], which has a negative dimension or too many elements`},
		{"duplicate", &File{Tensors: []*Tensor{{Name: "w", I64: []int64{1}}, {Name: "w", I64: []int64{1}}}},
			`checkpoint: tensor "w" appears more than once`},
		{"reserved", &File{Tensors: []*Tensor{{Name: "__metadata__", I64: []int64{1}}}},
			`checkpoint: tensor name "__metadata__" is reserved for metadata`},
		{"bad utf8 name", &File{Tensors: []*Tensor{{Name: "\xff", I64: []int64{1}}}},
			`checkpoint: tensor name "\xff" is not valid UTF-8`},
		{"bad utf8 metadata", &File{Metadata: map[string]string{"k": "\xff"}},
			`checkpoint: metadata "k": "\xff" is not valid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Encode(tt.f)
			if err == nil {
				t.Fatalf("Encode succeeded with %q", b)
			}
			if err.Error() != tt.want {
				t.Errorf("Encode error\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestGet(t *testing.T) {
	f := sample()
	if got := f.Get("c.i64"); got != f.Tensors[2] {
		t.Errorf("Get(c.i64) = %v", got)
	}
	if got := f.Get("nope"); got != nil {
		t.Errorf("Get(nope) = %v, want nil", got)
	}
}

func TestDType(t *testing.T) {
	tests := []struct {
		t    Tensor
		want DType
	}{
		{Tensor{F32: []float32{}}, F32},
		{Tensor{F64: []float64{1}}, F64},
		{Tensor{I64: []int64{1}}, I64},
		{Tensor{}, ""},
		{Tensor{F32: []float32{}, F64: []float64{}}, ""},
	}
	for _, tt := range tests {
		if got := tt.t.DType(); got != tt.want {
			t.Errorf("%+v.DType() = %q, want %q", tt.t, got, tt.want)
		}
	}
}

// torchExpected is the layout of testdata/torch_linear.json.
type torchExpected struct {
	Metadata map[string]string
	Tensors  map[string]struct {
		DType  DType
		Shape  []int
		Values []float64
	}
}

// TestTorchFile decodes a file written by PyTorch (testdata/gen_torch.py)
// and compares it with the values PyTorch printed.
func TestTorchFile(t *testing.T) {
	got, err := Read(filepath.Join("testdata", "torch_linear.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "torch_linear.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp torchExpected
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	want := &File{Metadata: exp.Metadata}
	for name, e := range exp.Tensors {
		tn := &Tensor{Name: name, Shape: e.Shape}
		switch e.DType {
		case F32:
			tn.F32 = make([]float32, len(e.Values))
			for i, v := range e.Values {
				tn.F32[i] = float32(v)
			}
		case I64:
			tn.I64 = make([]int64, len(e.Values))
			for i, v := range e.Values {
				tn.I64[i] = int64(v)
			}
		default:
			t.Fatalf("unexpected dtype %s in torch_linear.json", e.DType)
		}
		want.Tensors = append(want.Tensors, tn)
	}
	// Decode sorts by name; map iteration order is random.
	slices.SortFunc(want.Tensors, func(a, b *Tensor) int { return strings.Compare(a.Name, b.Name) })
	if diff := cmp.Diff(want, got, exact); diff != "" {
		t.Errorf("torch_linear.safetensors (-want +got):\n%s", diff)
	}

	spec := []Spec{
		{"0.weight", F32, []int{2, 3}},
		{"0.bias", F32, []int{2}},
		{"1.weight", F32, []int{2}},
		{"1.bias", F32, []int{2}},
		{"1.running_mean", F32, []int{2}},
		{"1.running_var", F32, []int{2}},
		{"1.num_batches_tracked", I64, []int{}},
	}
	if err := Check(got, spec); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestCheck(t *testing.T) {
	f := &File{Tensors: []*Tensor{
		{Name: "fc1.bias", Shape: []int{10}, F32: make([]float32, 10)},
		{Name: "fc1.weight", Shape: []int{10, 5}, F32: make([]float32, 50)},
		{Name: "bn.num_batches_tracked", Shape: []int{}, I64: []int64{0}},
		{Name: "zz.extra", Shape: []int{1}, F32: []float32{0}},
		{Name: "aa.extra", Shape: []int{2}, F64: []float64{0, 0}},
	}}
	ok := []Spec{
		{"fc1.weight", F32, []int{10, 5}},
		{"fc1.bias", F32, []int{10}},
		{"bn.num_batches_tracked", I64, nil},
		{"zz.extra", F32, []int{1}},
		{"aa.extra", F64, []int{2}},
	}
	tests := []struct {
		name string
		want []Spec
		err  string
	}{
		{"ok", ok, ""},
		{"shape", []Spec{{"fc1.bias", F32, []int{10}}, {"fc1.weight", F32, []int{10, 10}}, {"missing", F32, []int{1}}},
			`checkpoint: tensor "fc1.weight" has shape [10 5], model expects [10 10]`},
		{"missing first", []Spec{{"missing", F32, []int{1}}, {"fc1.weight", F32, []int{10, 10}}},
			`checkpoint: tensor "missing" is missing, model expects F32 [1]`},
		{"dtype", []Spec{{"bn.num_batches_tracked", F32, []int{}}},
			`checkpoint: tensor "bn.num_batches_tracked" has dtype I64, model expects F32`},
		{"scalar vs vector", []Spec{{"bn.num_batches_tracked", I64, []int{1}}},
			`checkpoint: tensor "bn.num_batches_tracked" has shape [], model expects [1]`},
		{"extras sorted", ok[:3],
			`checkpoint: unexpected tensor "aa.extra" (F64 [2]), the model has no such parameter`},
		{"extra after", ok[:4],
			`checkpoint: unexpected tensor "aa.extra" (F64 [2]), the model has no such parameter`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(f, tt.want)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.err {
				t.Errorf("Check error\n got %s\nwant %s", got, tt.err)
			}
		})
	}
}

// build returns a safetensors file with the given header and data.
func build(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// withLength returns a file whose header length field is n, followed by
// rest.
func withLength(n uint64, rest string) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
}

// malformed lists invalid files and the exact error Decode returns for
// each. FuzzDecode uses them as seeds.
var malformed = []struct {
	name string
	in   []byte
	want string
}{
	{"empty", nil, "file is 0 bytes, too short for the 8-byte header length"},
	{"short", []byte{1, 2, 3, 4, 5}, "file is 5 bytes, too short for the 8-byte header length"},
	{"header too long", withLength(16, "{}"), "header length 16 exceeds the 2 bytes after it"},
	{"header huge", withLength(1<<63, "{}"), "header length 9223372036854775808 exceeds the limit of 104857600 bytes"},
	{"header over limit", withLength(100<<20+1, "{}"), "header length 104857601 exceeds the limit of 104857600 bytes"},
	{"empty header", build("", nil), "header is not valid JSON: unexpected EOF"},
	{"spaces only", build("        ", nil), "header is not valid JSON: unexpected EOF"},
	{"not utf8", build("{\"\xff\":1}", nil), "header is not valid UTF-8"},
	{"invalid json", build(`{"a":}`, nil), "header is not valid JSON: invalid character '}' looking for beginning of value"},
	{"truncated json", build(`{"a":{"dtype":"F32"`, nil), "header is not valid JSON: unexpected EOF"},
	{"array", build(`[]`, nil), "header is not a JSON object"},
	{"string", build(`"x"`, nil), "header is not a JSON object"},
	{"trailing", build(`{} {}`, nil), "header has data after its JSON object"},
	{"trailing nul", build("{}\x00\x00", nil), "header has data after its JSON object"},
	{"entry number", build(`{"w":1}`, nil), `header entry "w" is not an object`},
	{"entry array", build(`{"w":[0,4]}`, nil), `header entry "w" is not an object`},
	{"entry null", build(`{"w":null}`, nil), `header entry "w" is not an object`},
	{"no dtype", build(`{"w":{"shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has no "dtype"`},
	{"no shape", build(`{"w":{"dtype":"F32","data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has no "shape"`},
	{"no offsets", build(`{"w":{"dtype":"F32","shape":[1]}}`, make([]byte, 4)), `tensor "w" has no "data_offsets"`},
	{"unknown field", build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, make([]byte, 4)), `tensor "w" has unknown field "x"`},
	{"repeated field", build(`{"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has field "dtype" more than once`},
	{"dtype number", build(`{"w":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has a "dtype" that is not a string`},
	{"shape null", build(`{"w":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has a "shape" that is not an array`},
	{"shape negative", build(`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has shape dimension -1, which is not a non-negative integer`},
	{"shape fraction", build(`{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has shape dimension 1.5, which is not a non-negative integer`},
	{"shape exponent", build(`{"w":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has shape dimension 1e0, which is not a non-negative integer`},
	{"shape string", build(`{"w":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has shape dimension "1", which is not a non-negative integer`},
	{"shape nested", build(`{"w":{"dtype":"F32","shape":[[1]],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has shape dimension [, which is not a non-negative integer`},
	{"shape huge dim", build(`{"w":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has shape dimension 18446744073709551616, which is not a non-negative integer`},
	{"shape dim over int", build(`{"w":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has shape dimension 9223372036854775808, which is not a non-negative integer`},
	{"shape overflow", build(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has shape [4294967296 4294967296], whose size in bytes overflows`},
	{"shape overflow bytes", build(`{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}}`, make([]byte, 8)), `tensor "w" has shape [2305843009213693952], whose size in bytes overflows`},
	{"shape overflow with zero", build(`{"w":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}}`, nil), `tensor "w" has shape [0 4294967296 4294967296], whose size in bytes overflows`},
	{"offsets one", build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, make([]byte, 4)), `tensor "w" has "data_offsets" that are not two non-negative integers`},
	{"offsets three", build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, make([]byte, 8)), `tensor "w" has "data_offsets" that are not two non-negative integers`},
	{"offsets negative", build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, make([]byte, 4)), `tensor "w" has "data_offsets" that are not two non-negative integers`},
	{"offsets object", build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":{}}}`, make([]byte, 4)), `tensor "w" has "data_offsets" that are not two non-negative integers`},
	{"offsets reversed", build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, make([]byte, 4)), `tensor "w" has data_offsets [4, 0], whose begin is after its end`},
	{"offsets past end", build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 3)), `tensor "w" has data_offsets [0, 4] beyond the 3 bytes of data`},
	{"offsets huge", build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]}}`, make([]byte, 4)), `tensor "w" has data_offsets [0, 18446744073709551615] beyond the 4 bytes of data`},
	{"size mismatch", build(`{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}`, make([]byte, 16)), `tensor "w" has data_offsets [0, 12] holding 12 bytes, but F32 [2 2] takes 16`},
	{"scalar size", build(`{"w":{"dtype":"I64","shape":[],"data_offsets":[0,4]}}`, make([]byte, 8)), `tensor "w" has data_offsets [0, 4] holding 4 bytes, but I64 [] takes 8`},
	{"large claim", build(`{"w":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has data_offsets [0, 4] holding 4 bytes, but F32 [1000000000] takes 4000000000`},
	{"bf16", build(`{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has unsupported dtype "BF16" (supported: F32, F64, I64, I32, I8)`},
	{"f16", build(`{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has unsupported dtype "F16" (supported: F32, F64, I64, I32, I8)`},
	{"u8", build(`{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has unsupported dtype "U8" (supported: F32, F64, I64, I32, I8)`},
	{"lowercase dtype", build(`{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "w" has unsupported dtype "f32" (supported: F32, F64, I64, I32, I8)`},
	{"overlap", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)),
		`tensors "a" [0, 8] and "b" [4, 12] overlap`},
	{"overlap same range", build(`{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)),
		`tensors "a" [0, 4] and "b" [0, 4] overlap`},
	{"overlap contained", build(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"c":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}}`, make([]byte, 20)),
		`tensors "a" [0, 16] and "b" [4, 8] overlap`},
	{"duplicate tensor", build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)),
		`tensor "w" appears more than once in the header`},
	{"duplicate escaped", build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\u0077":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)),
		`tensor "w" appears more than once in the header`},
	{"duplicate metadata", build(`{"__metadata__":{},"__metadata__":{}}`, nil), `"__metadata__" appears more than once in the header`},
	{"metadata array", build(`{"__metadata__":[]}`, nil), `"__metadata__" is not an object`},
	{"metadata number value", build(`{"__metadata__":{"k":1}}`, nil), `metadata value for "k" is not a string`},
	{"metadata object value", build(`{"__metadata__":{"k":{}}}`, nil), `metadata value for "k" is not a string`},
	{"metadata null value", build(`{"__metadata__":{"k":null}}`, nil), `metadata value for "k" is not a string`},
	{"metadata duplicate key", build(`{"__metadata__":{"k":"a","k":"b"}}`, nil), `metadata key "k" appears more than once`},
}

func TestDecodeMalformed(t *testing.T) {
	for _, tt := range malformed {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Decode(tt.in)
			if err == nil {
				t.Fatalf("Decode succeeded: %+v", f)
			}
			if want := "checkpoint: " + tt.want; err.Error() != want {
				t.Errorf("Decode error\n got %s\nwant %s", err, want)
			}
		})
	}
}

// TestDecodeLenient lists valid files that other writers may produce.
func TestDecodeLenient(t *testing.T) {
	one := binary.LittleEndian.AppendUint32(nil, math.Float32bits(1))
	tests := []struct {
		name string
		in   []byte
		want *File
	}{
		{"padded header", build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}   `+"\t\n", one),
			&File{Tensors: []*Tensor{{Name: "w", Shape: []int{1}, F32: []float32{1}}}}},
		{"field order and whitespace", build(` { "w" : { "data_offsets" : [ 0 , 4 ] , "shape" : [ 1 ] , "dtype" : "F32" } } `, one),
			&File{Tensors: []*Tensor{{Name: "w", Shape: []int{1}, F32: []float32{1}}}}},
		{"gap and trailing bytes", build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, append(append([]byte{9, 9, 9, 9}, one...), 9)),
			&File{Tensors: []*Tensor{{Name: "w", Shape: []int{1}, F32: []float32{1}}}}},
		{"null metadata", build(`{"__metadata__":null}`, nil), &File{Tensors: []*Tensor{}}},
		{"empty tensors share an offset", build(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"I64","shape":[2,0],"data_offsets":[0,0]},"c":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, one),
			&File{Tensors: []*Tensor{
				{Name: "a", Shape: []int{0}, F32: []float32{}},
				{Name: "b", Shape: []int{2, 0}, I64: []int64{}},
				{Name: "c", Shape: []int{1}, F32: []float32{1}},
			}}},
		{"empty name", build(`{"":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}`, make([]byte, 8)),
			&File{Tensors: []*Tensor{{Name: "", Shape: []int{}, I64: []int64{0}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeCopies checks that a decoded file does not alias its input.
func TestDecodeCopies(t *testing.T) {
	b, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	f, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0xff
	}
	if diff := cmp.Diff(sample(), f, exact); diff != "" {
		t.Errorf("decoded file changed with its input (-want +got):\n%s", diff)
	}
}

func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	if err := Write(path, sample()); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sample(), got, exact); diff != "" {
		t.Errorf("Read(Write(f)) (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o644 {
		t.Errorf("new file has permissions %v, want 0644", perm)
	}

	// Overwriting keeps the file's permissions.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	small := &File{Tensors: []*Tensor{{Name: "x", Shape: []int{}, F32: []float32{2}}}}
	if err := Write(path, small); err != nil {
		t.Fatal(err)
	}
	if got, err = Read(path); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(small, got); diff != "" {
		t.Errorf("after overwrite (-want +got):\n%s", diff)
	}
	if fi, err = os.Stat(path); err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("overwritten file has permissions %v, want 0600", perm)
	}
	assertOnly(t, dir, "model.safetensors")

	// A relative path in the current directory works too.
	t.Chdir(dir)
	if err := Write("rel.safetensors", small); err != nil {
		t.Fatal(err)
	}
	if _, err := Read("rel.safetensors"); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, dir, "model.safetensors", "rel.safetensors")
}

// assertOnly fails unless dir holds exactly the named entries.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("directory %s holds (-want +got):\n%s", dir, diff)
	}
}

// TestWriteFailure checks that a failed Write leaves the old file intact and
// no temporary file behind.
func TestWriteFailure(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.safetensors")
	if err := Write(old, sample()); err != nil {
		t.Fatal(err)
	}
	oldBytes, err := os.ReadFile(old)
	if err != nil {
		t.Fatal(err)
	}
	// A directory where the file should go makes the final rename fail,
	// after the temporary file has been written.
	if err := os.Mkdir(filepath.Join(dir, "isdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	small := &File{Tensors: []*Tensor{{Name: "x", Shape: []int{}, F32: []float32{2}}}}

	tests := []struct {
		name string
		path string
		f    *File
		want string // a prefix of the error
	}{
		{"missing directory", filepath.Join(dir, "missing", "m.safetensors"), small,
			"checkpoint: writing " + filepath.Join(dir, "missing", "m.safetensors") + ": open " + filepath.Join(dir, "missing", ".m.safetensors.tmp")},
		{"directory is a file", filepath.Join(old, "m.safetensors"), small,
			"checkpoint: writing " + filepath.Join(old, "m.safetensors") + ": "},
		{"target is a directory", filepath.Join(dir, "isdir"), small,
			"checkpoint: writing " + filepath.Join(dir, "isdir") + ": not a regular file"},
		{"invalid file", old, &File{Tensors: []*Tensor{{Name: "x"}}},
			"checkpoint: writing " + old + `: tensor "x" must have exactly one of F32, F64, I64, I32 and I8 non-nil`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Write(tt.path, tt.f)
			if err == nil {
				t.Fatal("Write succeeded")
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Write error\n got %s\nwant prefix %s", err, tt.want)
			}
			assertOnly(t, dir, "isdir", "old.safetensors")
			assertOnly(t, filepath.Join(dir, "isdir"))
			b, err := os.ReadFile(old)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, oldBytes) {
				t.Error("the old file changed")
			}
		})
	}
}

// TestWriteRenameFailure checks that a Write failing at its last step
// removes its temporary file.
func TestWriteRenameFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := Write(path, sample()); err != nil {
		t.Fatal(err)
	}
	oldBytes, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tmp string
	atomicfile.Rename = func(from, to string) error {
		tmp = from
		if _, err := os.Stat(from); err != nil {
			t.Errorf("temporary file: %v", err)
		}
		return errors.New("disk on fire")
	}
	t.Cleanup(func() { atomicfile.Rename = os.Rename })

	err = Write(path, &File{})
	if want := "checkpoint: writing " + path + ": disk on fire"; err == nil || err.Error() != want {
		t.Errorf("Write error\n got %v\nwant %s", err, want)
	}
	if filepath.Dir(tmp) != dir {
		t.Errorf("temporary file %s is not in %s", tmp, dir)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, oldBytes) {
		t.Error("the old file changed")
	}
	assertOnly(t, dir, "m.safetensors")
}

func TestReadErrorsNamePath(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.safetensors")
	if _, err := Read(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Read(missing) error %v does not name %s", err, missing)
	}
	bad := filepath.Join(dir, "bad.safetensors")
	if err := os.WriteFile(bad, []byte{1, 2}, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Read(bad)
	want := "checkpoint: " + bad + ": file is 2 bytes, too short for the 8-byte header length"
	if err == nil || err.Error() != want {
		t.Errorf("Read(bad) error\n got %v\nwant %s", err, want)
	}
}
