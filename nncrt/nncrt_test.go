package nncrt_test

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/kernels"
	"github.com/nnc-go/nnc/nncrt"
)

// table is a model's tensor table as the generator writes it: weights,
// a buffer, an int64 counter and optimizer state.
var table = []nncrt.Tensor{
	{Name: "fc.weight", Shape: []int{2, 3}, Init: "uniform", FanIn: 3},
	{Name: "fc.bias", Shape: []int{2}, Init: "uniform", FanIn: 3},
	{Name: "bn.running_var", Shape: []int{2}, Init: "ones"},
	{Name: "bn.num_batches_tracked", Shape: []int{}, I64: true},
	{Name: "optimizer.fc.weight.momentum_buffer", Shape: []int{2, 3}, State: true},
	{Name: "optimizer.step", Shape: []int{}, I64: true, State: true},
}

// model is what a generated Model holds: the arrays the Store fills.
type model[T float32 | float64] struct {
	p  [4][]T
	pi [2][]int64
	st *nncrt.Store[T]
}

func newModel[T float32 | float64](seed uint64) *model[T] {
	m := &model[T]{}
	m.st, _ = nncrt.NewStore(table, m.p[:], m.pi[:], seed)
	return m
}

// fill gives every tensor distinct values.
func (m *model[T]) fill() {
	for k, p := range m.p {
		for i := range p {
			p[i] = T(k*10+i) + 0.5
		}
	}
	m.pi[0][0], m.pi[1][0] = 7, 3
}

func TestNewStore(t *testing.T) {
	m := newModel[float32](0)
	for k, n := range []int{6, 2, 2, 6} {
		if len(m.p[k]) != n {
			t.Errorf("p[%d] has %d elements, want %d", k, len(m.p[k]), n)
		}
	}
	if len(m.pi[0]) != 1 || len(m.pi[1]) != 1 {
		t.Errorf("pi has %d and %d elements, want 1 and 1", len(m.pi[0]), len(m.pi[1]))
	}
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "nncrt: ") {
			t.Errorf("a table larger than the arrays: recovered %v", r)
		}
	}()
	var small [3][]float32
	nncrt.NewStore(table, small[:], make([][]int64, 2), 0)
}

func TestInit(t *testing.T) {
	m := newModel[float64](5)
	m.st.Init(5)
	for _, v := range append(m.p[0][:], m.p[1]...) {
		if v == 0 || v < -1/1.7320508 || v > 1/1.7320508 {
			t.Errorf("uniform value %v outside ±1/√3", v)
		}
	}
	if !slices.Equal(m.p[2], []float64{1, 1}) || !slices.Equal(m.p[3], make([]float64, 6)) || m.pi[0][0] != 0 {
		t.Errorf("ones %v, optimizer state %v, counter %d; want ones, zeros, 0", m.p[2], m.p[3], m.pi[0][0])
	}
	again, other := newModel[float64](0), newModel[float64](0)
	again.st.Init(5)
	other.st.Init(6)
	if !slices.Equal(again.p[0], m.p[0]) || slices.Equal(other.p[0], m.p[0]) {
		t.Errorf("seed 5 gave %v then %v; seed 6 %v", m.p[0], again.p[0], other.p[0])
	}
}

// TestEncode pins the bytes of a small file: the header's keys sorted and
// padded with spaces to 8 bytes, the data in table order, no optimizer
// state.
func TestEncode(t *testing.T) {
	m := newModel[float32](0)
	m.fill()
	b := m.st.Encode()
	header := `{"__metadata__":{"format":"pt"},` +
		`"bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[40,48]},` +
		`"bn.running_var":{"dtype":"F32","shape":[2],"data_offsets":[32,40]},` +
		`"fc.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]},` +
		`"fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}`
	header += strings.Repeat(" ", (8-len(header)%8)%8)
	if n := binary.LittleEndian.Uint64(b); int(n) != len(header) || string(b[8:8+n]) != header {
		t.Fatalf("header of %d bytes:\n%s\nwant %d:\n%s", n, b[8:], len(header), header)
	}
	if len(b) != 8+len(header)+48 {
		t.Errorf("file of %d bytes, want %d", len(b), 8+len(header)+48)
	}

	// nnc's checkpoint package reads it back, float64 models' too.
	for _, b := range [][]byte{b, func() []byte { m := newModel[float64](0); m.fill(); return m.st.Encode() }()} {
		f, err := checkpoint.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Tensors) != 4 || f.Metadata["format"] != "pt" {
			t.Fatalf("checkpoint.Decode: %d tensors, metadata %v", len(f.Tensors), f.Metadata)
		}
		w := f.Get("fc.weight")
		got := slices.Concat(w.F64, func() []float64 {
			var x []float64
			for _, v := range w.F32 {
				x = append(x, float64(v))
			}
			return x
		}())
		if !slices.Equal(got, []float64{0.5, 1.5, 2.5, 3.5, 4.5, 5.5}) || f.Get("bn.num_batches_tracked").I64[0] != 7 {
			t.Errorf("fc.weight %v, num_batches_tracked %v", got, f.Get("bn.num_batches_tracked").I64)
		}
	}
}

func TestDecode(t *testing.T) {
	src := newModel[float64](0)
	src.fill()
	m := newModel[float64](0)
	if err := m.st.Decode(src.st.Encode()); err != nil {
		t.Fatal(err)
	}
	for k := range 3 {
		if !slices.Equal(m.p[k], src.p[k]) {
			t.Errorf("p[%d] = %v, want %v", k, m.p[k], src.p[k])
		}
	}
	if m.pi[0][0] != 7 || m.pi[1][0] != 0 || slices.ContainsFunc(m.p[3], func(v float64) bool { return v != 0 }) {
		t.Errorf("optimizer state loaded from a file without it: %v, %v", m.pi, m.p[3])
	}

	// A checkpoint nnc saved, with optimizer state, loads it; one of
	// another optimizer's state loads the weights alone.
	f := &checkpoint.File{Metadata: map[string]string{"format": "pt"}, Tensors: []*checkpoint.Tensor{
		{Name: "fc.weight", Shape: []int{2, 3}, F64: []float64{1, 2, 3, 4, 5, 6}},
		{Name: "fc.bias", Shape: []int{2}, F64: []float64{7, 8}},
		{Name: "bn.running_var", Shape: []int{2}, F64: []float64{9, 10}},
		{Name: "bn.num_batches_tracked", Shape: []int{}, I64: []int64{11}},
		{Name: "optimizer.fc.weight.momentum_buffer", Shape: []int{2, 3}, F64: []float64{-1, -2, -3, -4, -5, -6}},
		{Name: "optimizer.step", Shape: []int{}, I64: []int64{12}},
		{Name: "optimizer.fc.weight.exp_avg", Shape: []int{2, 3}, F64: make([]float64, 6)},
	}}
	b, err := checkpoint.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.st.Decode(b); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.p[3], []float64{-1, -2, -3, -4, -5, -6}) || m.pi[1][0] != 12 || m.p[1][1] != 8 {
		t.Errorf("momentum %v, step %d, bias %v", m.p[3], m.pi[1][0], m.p[1])
	}

	valid := src.st.Encode()
	withHeader := func(h string) []byte {
		return append(binary.LittleEndian.AppendUint64(nil, uint64(len(h))), h...)
	}
	tensor := func(name, body string) string { return `"` + name + `":` + body }
	good := []string{
		tensor("fc.weight", `{"dtype":"F64","shape":[2,3],"data_offsets":[0,48]}`),
		tensor("fc.bias", `{"dtype":"F64","shape":[2],"data_offsets":[48,64]}`),
		tensor("bn.running_var", `{"dtype":"F64","shape":[2],"data_offsets":[64,80]}`),
		tensor("bn.num_batches_tracked", `{"dtype":"I64","shape":[],"data_offsets":[80,88]}`),
	}
	file := func(extra ...string) []byte {
		h := "{" + strings.Join(append(slices.Clone(good[1:]), extra...), ",") + "}"
		return append(withHeader(h), make([]byte, 88)...)
	}
	for _, tt := range []struct {
		file []byte
		want string
	}{
		{valid[:7], "safetensors: 7 bytes, too short"},
		{withHeader("{}")[:9], "safetensors: header of 2 bytes in a file of 9"},
		{withHeader("{]"), "safetensors: header: invalid character ']' looking for beginning of object key string"},
		{file(), `safetensors: tensor "fc.weight" is missing`},
		{file(tensor("fc.weight", `[]`)), `safetensors: tensor "fc.weight": json: cannot unmarshal array into Go value of type nncrt.entry`},
		{file(tensor("fc.weight", `{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}`)), `safetensors: tensor "fc.weight" is F32 [2 3], the model's is F64 [2 3]`},
		{file(tensor("fc.weight", `{"dtype":"F64","shape":[3,2],"data_offsets":[0,48]}`)), `safetensors: tensor "fc.weight" is F64 [3 2], the model's is F64 [2 3]`},
		{file(tensor("fc.weight", `{"dtype":"F64","shape":[2,3],"data_offsets":[0,40]}`)), `safetensors: tensor "fc.weight": bad data offsets [0 40]`},
		{file(tensor("fc.weight", `{"dtype":"F64","shape":[2,3],"data_offsets":[48,96]}`)), `safetensors: tensor "fc.weight": bad data offsets [48 96]`},
		{file(good[0], tensor("fc2.weight", `{"dtype":"F64","shape":[1],"data_offsets":[0,8]}`), tensor("b", `{}`)), `safetensors: unexpected tensor "b", the model has no such parameter`},
	} {
		if err := m.st.Decode(tt.file); err == nil || err.Error() != tt.want {
			t.Errorf("Decode: error %v, want %s", err, tt.want)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	src := newModel[float32](0)
	src.fill()
	if err := src.st.Save(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != string(src.st.Encode()) {
		t.Fatalf("Save wrote other bytes than Encode returns (%v)", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("Save left %d files in its folder, want 1", len(entries))
	}
	m := newModel[float32](0)
	if err := m.st.Load(path); err != nil || !slices.Equal(m.p[0], src.p[0]) {
		t.Errorf("Load: %v, fc.weight %v, want %v", err, m.p[0], src.p[0])
	}
	if err := m.st.Load(filepath.Join(dir, "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.safetensors")
	os.WriteFile(bad, []byte("abc"), 0o644)
	if err := m.st.Load(bad); err == nil || err.Error() != bad+": safetensors: 3 bytes, too short" {
		t.Errorf("Load of a short file: %v", err)
	}
	if err := m.st.Save(filepath.Join(dir, "none", "m.safetensors")); err == nil {
		t.Error("Save into a missing folder succeeded")
	}
}

func TestStateAndRNG(t *testing.T) {
	m := &model[float32]{}
	var rng interface{ Uint64() uint64 }
	m.st, rng = nncrt.NewStore(table, m.p[:], m.pi[:], 9)
	f, i64, shapes := m.st.State()
	if len(f) != 4 || len(i64) != 2 || len(shapes) != 6 || !slices.Equal(shapes["fc.weight"], []int{2, 3}) {
		t.Fatalf("State: %d floats, %d ints, shapes %v", len(f), len(i64), shapes)
	}
	f["fc.bias"][1] = 4
	i64["optimizer.step"][0] = 2
	if m.p[1][1] != 4 || m.pi[1][0] != 2 {
		t.Error("State returned copies, not the model's slices")
	}
	rng.Uint64()
	s := m.st.RNGState()
	a := []uint64{rng.Uint64(), rng.Uint64()}
	if err := m.st.SetRNGState(s); err != nil {
		t.Fatal(err)
	}
	if b := []uint64{rng.Uint64(), rng.Uint64()}; !slices.Equal(a, b) {
		t.Errorf("after SetRNGState the generator drew %v, first %v", b, a)
	}
	if err := m.st.SetRNGState([]byte("junk")); err == nil {
		t.Error("SetRNGState accepted junk")
	}
}

// TestInt8Store: the int8 weights and int32 biases of an int8 model's
// layers are stored apart from the floats, survive Encode and Decode with
// their dtypes, are not floats by name, and a file with them as floats is
// refused.
func TestInt8Store(t *testing.T) {
	tab := []nncrt.Tensor{
		{Name: "fc.weight", Shape: []int{2, 3}, I8: true},
		{Name: "fc.qbias", Shape: []int{2}, I32: true},
		{Name: "fc.weight_scale", Shape: []int{2}},
	}
	var p [1][]float32
	var pi [1][]int64
	var pb [1][]int8
	var pw [1][]int32
	st, _ := nncrt.NewStoreInt8(tab, p[:], pi[:], pb[:], pw[:], 0)
	copy(pb[0], []int8{-127, 5, 127, 0, -1, 3})
	copy(pw[0], []int32{-70000, 12})
	copy(p[0], []float32{0.5, 0.25})
	file := st.Encode()
	f, err := checkpoint.Decode(file)
	if err != nil {
		t.Fatal(err)
	}
	if w, b := f.Get("fc.weight"), f.Get("fc.qbias"); w == nil || b == nil || !slices.Equal(w.I8, pb[0]) || !slices.Equal(b.I32, pw[0]) {
		t.Fatalf("encoded %v and %v, want %v and %v", w, b, pb[0], pw[0])
	}
	var q [1][]float32
	var qb [1][]int8
	var qw [1][]int32
	st2, _ := nncrt.NewStoreInt8(tab, q[:], pi[:], qb[:], qw[:], 0)
	if err := st2.Decode(file); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(qb[0], pb[0]) || !slices.Equal(qw[0], pw[0]) || !slices.Equal(q[0], p[0]) {
		t.Errorf("decoded %v %v %v, want %v %v %v", qb[0], qw[0], q[0], pb[0], pw[0], p[0])
	}
	if st2.Float("fc.weight") != nil || st2.Float("fc.weight_scale") == nil {
		t.Error("Float finds an int8 tensor or misses the scales")
	}
	for i, ft := range f.Tensors {
		if ft.Name == "fc.weight" {
			f.Tensors[i] = &checkpoint.Tensor{Name: "fc.weight", Shape: []int{2, 3}, F32: make([]float32, 6)}
		}
	}
	bad, err := checkpoint.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := st2.Decode(bad); err == nil || !strings.Contains(err.Error(), `tensor "fc.weight" is F32 [2 3], the model's is I8 [2 3]`) {
		t.Errorf("Decode of float weights: %v", err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "nncrt: more int8") {
			t.Errorf("a table with more int8 tensors than the array: recovered %v", r)
		}
	}()
	nncrt.NewStoreInt8(tab, p[:], pi[:], nil, pw[:], 0)
}

// TestInt8StorePacked: an int8 Linear's weights, held packed
// (kernels.QPackLinear) under NAME.qweight, are written unpacked as
// NAME.weight [out, in], the int8 checkpoint's tensor, and packed again
// when read; a file with them in another shape is refused.
func TestInt8StorePacked(t *testing.T) {
	const n, k = 10, 6
	rows, cols := kernels.QPackedShape(n, k)
	tab := []nncrt.Tensor{{Name: "fc.qweight", Shape: []int{rows, cols}, I8: true, Packed: []int{n, k}}}
	w := make([]int8, n*k)
	for i := range w {
		w[i] = int8(i*7%255 - 127)
	}
	var pb [1][]int8
	st, _ := nncrt.NewStoreInt8[float32](tab, nil, nil, pb[:], nil, 0)
	kernels.QPackLinear(pb[0], w, n, k)
	f, err := checkpoint.Decode(st.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Get("fc.weight"); got == nil || !slices.Equal(got.Shape, []int{n, k}) || !slices.Equal(got.I8, w) || f.Get("fc.qweight") != nil {
		t.Fatalf("encoded %v, want fc.weight %v %v", f.Tensors, []int{n, k}, w)
	}
	var qb [1][]int8
	st2, _ := nncrt.NewStoreInt8[float32](tab, nil, nil, qb[:], nil, 0)
	if err := st2.Decode(st.Encode()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(qb[0], pb[0]) {
		t.Errorf("decoded %v, want the packed %v", qb[0], pb[0])
	}
	f.Tensors[0] = &checkpoint.Tensor{Name: "fc.weight", Shape: []int{k, n}, I8: w}
	bad, err := checkpoint.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := st2.Decode(bad); err == nil || err.Error() != `safetensors: tensor "fc.weight" is I8 [6 10], the model's is I8 [10 6]` {
		t.Errorf("Decode of transposed weights: %v", err)
	}
}
