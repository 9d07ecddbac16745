package train

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/ir"
)

// int8File is a valid int8 checkpoint of one Linear(3, 2) layer "fc".
func int8File() *checkpoint.File {
	return &checkpoint.File{Metadata: map[string]string{Int8Key: "int8"}, Tensors: []*checkpoint.Tensor{
		{Name: "fc.weight", Shape: []int{2, 3}, I8: []int8{1, -2, 3, 127, -127, 0}},
		{Name: "fc.weight_scale", Shape: []int{2}, F32: []float32{0.01, 0.02}},
		{Name: "fc.bias", Shape: []int{2}, I32: []int32{5, -7}},
		{Name: "fc.input_scale", Shape: []int{}, F32: []float32{0.1}},
		{Name: "fc.input_zero_point", Shape: []int{}, I64: []int64{3}},
		{Name: "fc.output_scale", Shape: []int{}, F32: []float32{0.2}},
		{Name: "fc.output_zero_point", Shape: []int{}, I64: []int64{0}},
	}}
}

// int8Model compiles testdata/int8's model NAME.nn and returns it with
// the path of its int8 checkpoint.
func int8Model(tb testing.TB, name string) (*ir.Program, string) {
	tb.Helper()
	file := filepath.Join("..", "testdata", "int8", name+".nn")
	src, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := compile(file, src)
	if err != nil {
		tb.Fatal(err)
	}
	return p, strings.TrimSuffix(file, ".nn") + ".int8.safetensors"
}

// int8Cases are broken int8 checkpoints and the error each must give.
var int8Cases = []struct {
	name  string
	edit  func(f *checkpoint.File)
	error string
}{
	{"weight f32", func(f *checkpoint.File) {
		f.Tensors[0] = &checkpoint.Tensor{Name: "fc.weight", Shape: []int{2, 3}, F32: make([]float32, 6)}
	},
		`tensor "fc.weight" has dtype F32, an int8 checkpoint has I8`},
	{"weight -128", func(f *checkpoint.File) { f.Tensors[0].I8[2] = -128 },
		`tensor "fc.weight" holds -128 at 2: symmetric int8 weights are in [-127, 127]`},
	{"zero scale", func(f *checkpoint.File) { f.Tensors[1].F32[1] = 0 },
		`tensor "fc.weight_scale": scale 0 at 1 is not a positive finite number`},
	{"NaN scale", func(f *checkpoint.File) { f.Tensors[3].F32[0] = float32(math.NaN()) },
		`tensor "fc.input_scale": scale NaN is not a positive finite number`},
	{"negative scale", func(f *checkpoint.File) { f.Tensors[5].F32[0] = -1 },
		`tensor "fc.output_scale": scale -1 is not a positive finite number`},
	{"infinite scale", func(f *checkpoint.File) { f.Tensors[1].F32[0] = float32(math.Inf(1)) },
		`tensor "fc.weight_scale": scale +Inf at 0 is not a positive finite number`},
	{"scales shape", func(f *checkpoint.File) {
		f.Tensors[1] = &checkpoint.Tensor{Name: "fc.weight_scale", Shape: []int{3}, F32: []float32{1, 1, 1}}
	},
		`tensor "fc.weight_scale" has shape [3], the weight fc.weight needs [2]`},
	{"bias dtype", func(f *checkpoint.File) {
		f.Tensors[2] = &checkpoint.Tensor{Name: "fc.bias", Shape: []int{2}, F32: []float32{1, 1}}
	},
		`tensor "fc.bias" has dtype F32, an int8 checkpoint has I32`},
	{"zero point", func(f *checkpoint.File) { f.Tensors[4].I64[0] = 256 },
		`tensor "fc.input_zero_point": zero point 256 outside [0, 255]`},
	{"no zero point", func(f *checkpoint.File) { f.Tensors = f.Tensors[:6] },
		`quantized layer fc has no tensor fc.output_zero_point`},
	{"weight rank", func(f *checkpoint.File) {
		f.Tensors[0] = &checkpoint.Tensor{Name: "fc.weight", Shape: []int{6}, I8: make([]int8, 6)}
	},
		`tensor "fc.weight" has shape [6]: a Linear or Conv2d weight has 2 or 4 dimensions`},
	{"stray i8", func(f *checkpoint.File) {
		f.Tensors = append(f.Tensors, &checkpoint.Tensor{Name: "fc2.weight", Shape: []int{1}, I8: []int8{1}})
	}, `tensor "fc2.weight" is I8, but no fc2.weight_scale says how it is quantized`},
	{"add zero point", func(f *checkpoint.File) {
		f.Tensors = append(f.Tensors, &checkpoint.Tensor{Name: "add0.output_scale", Shape: []int{}, F32: []float32{0.1}},
			&checkpoint.Tensor{Name: "add0.output_zero_point", Shape: []int{}, I64: []int64{300}})
	}, `tensor "add0.output_zero_point": zero point 300 outside [0, 255]`},
	{"add scale shape", func(f *checkpoint.File) {
		f.Tensors = append(f.Tensors, &checkpoint.Tensor{Name: "add0.output_scale", Shape: []int{1}, F32: []float32{0.1}})
	}, `tensor "add0.output_scale" has shape [1], a scale or zero point is a scalar []`},
	{"add without zero point", func(f *checkpoint.File) {
		f.Tensors = append(f.Tensors, &checkpoint.Tensor{Name: "add0.output_scale", Shape: []int{}, F32: []float32{0.1}})
	}, `quantized layer add0 has no tensor add0.output_zero_point`},
	{"not int8", func(f *checkpoint.File) { f.Metadata = nil },
		`not an int8 checkpoint (its metadata has no quantization=int8)`},
}

func TestInt8LayersErrors(t *testing.T) {
	if _, err := Int8Layers(int8File()); err != nil {
		t.Fatalf("valid file: %v", err)
	}
	for _, c := range int8Cases {
		f := int8File()
		c.edit(f)
		_, err := Int8Layers(f)
		if err == nil || err.Error() != c.error {
			t.Errorf("%s: error %v, want %s", c.name, err, c.error)
		}
	}
}

// FuzzInt8Checkpoint feeds arbitrary bytes to the int8 checkpoint reader
// and, when it accepts them, to the models of testdata/int8 as predict
// runs them (the quantize pass, the loader that packs the weights and
// corrects the biases, a forward pass of two rows): each step returns a
// one-line error or works, and nothing panics. The seeds are the
// testdata checkpoints and the broken files of int8Cases.
func FuzzInt8Checkpoint(f *testing.F) {
	good, err := checkpoint.Encode(int8File())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	for _, c := range int8Cases {
		file := int8File()
		c.edit(file)
		if b, err := checkpoint.Encode(file); err == nil {
			f.Add(b)
		}
	}
	var models []*ir.Program
	for _, name := range []string{"mlp", "cnn", "res"} {
		p, q := int8Model(f, name)
		models = append(models, p)
		b, err := os.ReadFile(q)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	oneLine := func(t *testing.T, what string, err error) {
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error of more than one line: %q", what, err)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := checkpoint.Decode(b)
		if err != nil {
			return
		}
		layers, err := Int8Layers(file)
		if err != nil {
			oneLine(t, "Int8Layers", err)
			return
		}
		for name, l := range layers {
			if !(positive(l.InScale) || l.Add) || !positive(l.OutScale) || l.InZP < 0 || l.InZP > 255 || l.OutZP < 0 || l.OutZP > 255 {
				t.Errorf("layer %s accepted with %+v", name, l)
			}
		}
		for _, p := range models {
			g, err := Int8Graph(p.Forward, file)
			if err != nil {
				oneLine(t, p.Model+": Int8Graph", err)
				continue
			}
			in := g.Sources(ir.OpInput)[0].Type.Shape.Elems()
			ds := &data.Dataset{Name: "fuzz", N: 2, Features: in, X: make([]float32, 2*in)}
			for i := range ds.X {
				ds.X[i] = float32(i%7) / 7
			}
			if _, err := forward[float32](g, file, "fuzz.safetensors", ds); err != nil {
				oneLine(t, p.Model+": forward", err)
			}
		}
	})
}

// TestQuantizeModel quantizes a small trained classifier end to end: the
// int8 checkpoint loads through predict's reader, runs int8 ops, and its
// accuracy is near the float one.
func TestQuantizeModel(t *testing.T) {
	dir := t.TempDir()
	src := []byte(`model M {
    fc1 = Linear(8, 16)
    fc2 = Linear(16, 3)
    forward(x: f32[N, 8]) {
        return fc2(relu(fc1(x)))
    }
}
train M {
    data      = random(samples = 600, classes = 3, seed = 1)
    loss      = cross_entropy
    optimizer = Adam(lr = 0.01)
    epochs    = 8
    batch     = 32
    seed      = 1
}
`)
	file := filepath.Join(dir, "m.nn")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := compile(file, src)
	if err != nil {
		t.Fatal(err)
	}
	ckpt, q := filepath.Join(dir, "m.safetensors"), filepath.Join(dir, "q.safetensors")
	if _, err := Run(p, Options{Source: src, Save: ckpt, Quiet: true, Out: &strings.Builder{}}); err != nil {
		t.Fatal(err)
	}
	rep, err := Quantize(p, src, QuantizeOptions{Weights: ckpt, Out: q, Calib: 200})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(rep.FloatAccuracy-rep.Int8Accuracy) > 0.03 {
		t.Errorf("accuracy float %v, int8 %v", rep.FloatAccuracy, rep.Int8Accuracy)
	}
	f, err := ReadInt8(q)
	if err != nil || f == nil {
		t.Fatalf("ReadInt8: %v, %v", f, err)
	}
	g, err := Int8Graph(p.Forward, f)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, v := range g.Values {
		ops[v.Op.String()]++
	}
	if ops["QLinear"] != 2 || ops["Quantize"] != 1 || ops["Dequantize"] != 0 || ops["Linear"]+ops["LinearRelu"] != 0 {
		t.Errorf("int8 graph ops %v: want 2 QLinear, 1 Quantize and nothing else converting", ops)
	}
	var out strings.Builder
	e, err := EvalInt8(p, q, false, &out)
	if err != nil {
		t.Fatal(err)
	}
	if e.Accuracy != rep.Int8Accuracy || !strings.HasPrefix(out.String(), "train accuracy ") {
		t.Errorf("EvalInt8 %v (%q), quantize reported %v", e.Accuracy, out.String(), rep.Int8Accuracy)
	}
}

// TestInt8Testdata checks that the int8 checkpoints of testdata/int8,
// which the int8 back-end tests run (codegen's TestInt8GeneratedMatchesInterp,
// TestOpCoverage), still fit their models and quantize the layers they
// should; with NNC_UPDATE=1 it remakes them: training as the train block
// says, then nnc quantize on 100 samples.
func TestInt8Testdata(t *testing.T) {
	for name, layers := range map[string]int{"mlp": 2, "cnn": 5, "res": 4} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join("..", "testdata", "int8", name+".nn")
			q := filepath.Join("..", "testdata", "int8", name+".int8.safetensors")
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := compile(file, src)
			if err != nil {
				t.Fatal(err)
			}
			if os.Getenv("NNC_UPDATE") != "" {
				ckpt := filepath.Join(t.TempDir(), "float.safetensors")
				if _, err := Run(p, Options{Source: src, Save: ckpt, Quiet: true, Out: &strings.Builder{}}); err != nil {
					t.Fatal(err)
				}
				if _, err := Quantize(p, src, QuantizeOptions{Weights: ckpt, Out: q, Calib: 100}); err != nil {
					t.Fatal(err)
				}
			}
			f, err := ReadInt8(q)
			if err != nil || f == nil {
				t.Fatalf("ReadInt8: %v, %v", f, err)
			}
			g, err := Int8Graph(p.Forward, f)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, v := range g.Values {
				if v.Op == ir.OpQLinear || v.Op == ir.OpQConv2d {
					n++
				}
			}
			if n != layers {
				t.Errorf("%d int8 layers, want %d", n, layers)
			}
			if _, err := Int8Tensors(g, f, q); err != nil {
				t.Error(err)
			}
		})
	}
}

// quantizeSmall trains the model src on random data, quantizes it and
// returns the report, the int8 checkpoint and the int8 forward graph.
func quantizeSmall(t *testing.T, src string) (*QuantizeReport, *checkpoint.File, *ir.Program, *ir.Graph) {
	t.Helper()
	dir := t.TempDir()
	src += `
train R {
    data      = random(samples = 600, classes = 3, seed = 2)
    loss      = cross_entropy
    optimizer = Adam(lr = 0.01)
    epochs    = 8
    batch     = 32
    seed      = 1
}
`
	file := filepath.Join(dir, "r.nn")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := compile(file, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ckpt, q := filepath.Join(dir, "r.safetensors"), filepath.Join(dir, "q.safetensors")
	if _, err := Run(p, Options{Source: []byte(src), Save: ckpt, Quiet: true, Out: &strings.Builder{}}); err != nil {
		t.Fatal(err)
	}
	rep, err := Quantize(p, []byte(src), QuantizeOptions{Weights: ckpt, Out: q, Calib: 300})
	if err != nil {
		t.Fatal(err)
	}
	f, err := ReadInt8(q)
	if err != nil || f == nil {
		t.Fatalf("ReadInt8: %v, %v", f, err)
	}
	g, err := Int8Graph(p.Forward, f)
	if err != nil {
		t.Fatal(err)
	}
	return rep, f, p, g
}

func opCounts(g *ir.Graph) map[string]int {
	ops := map[string]int{}
	for _, v := range g.Values {
		ops[v.Op.String()]++
		if v.Op == ir.OpQAdd && v.AttrBool("relu") {
			ops["QAdd+relu"]++
		}
	}
	return ops
}

// TestQuantizeResidual quantizes a residual MLP end to end: both residual
// Adds run in int8 (QAdd, the second with the ReLU after it fused), the
// layers on either side hand u8 values on with no conversion, and the
// accuracy stays near the float one.
func TestQuantizeResidual(t *testing.T) {
	rep, f, p, g := quantizeSmall(t, `model R {
    fc1 = Linear(8, 16)
    fc2 = Linear(16, 16)
    fc3 = Linear(16, 16)
    fc4 = Linear(16, 3)
    forward(x: f32[N, 8]) {
        h = relu(fc1(x))
        h = h + relu(fc2(h))
        h = relu(fc3(h) + h)
        return fc4(h)
    }
}`)
	if strings.Join(rep.Adds, " ") != "add0 add1" {
		t.Errorf("residual adds %v, want add0 add1", rep.Adds)
	}
	if math.Abs(rep.FloatAccuracy-rep.Int8Accuracy) > 0.03 {
		t.Errorf("accuracy float %v, int8 %v", rep.FloatAccuracy, rep.Int8Accuracy)
	}
	ops := opCounts(g)
	if ops["QAdd"] != 2 || ops["QAdd+relu"] != 1 || ops["QLinear"] != 4 || ops["Quantize"] != 1 || ops["Dequantize"] != 0 || ops["Add"]+ops["Relu"] != 0 {
		t.Errorf("int8 graph ops %v: want 2 QAdd (1 with relu), 4 QLinear, 1 Quantize, no Dequantize, Add or Relu", ops)
	}
	// A checkpoint naming an Add the model lacks is refused.
	f.Tensors = append(f.Tensors, &checkpoint.Tensor{Name: "add7.output_scale", Shape: []int{}, F32: []float32{0.1}},
		&checkpoint.Tensor{Name: "add7.output_zero_point", Shape: []int{}, I64: []int64{0}})
	if _, err := Int8Graph(p.Forward, f); err == nil || !strings.Contains(err.Error(), "residual add add7") {
		t.Errorf("extra add: %v", err)
	}
}

// TestQuantizeAddStaysFloat: an Add whose sum the model returns, or whose
// operand an f32 op reads too, stays f32 (its layers then store f32, or
// their u8 is dequantized), rather than rounding the result to u8.
func TestQuantizeAddStaysFloat(t *testing.T) {
	rep, _, _, g := quantizeSmall(t, `model R {
    fc1 = Linear(8, 16)
    fc2 = Linear(16, 16)
    fc4 = Linear(16, 3)
    fc5 = Linear(16, 3)
    forward(x: f32[N, 8]) {
        h = relu(fc1(x))
        g = h + relu(fc2(h))
        return fc4(g) + fc5(sigmoid(h))
    }
}`)
	if strings.Join(rep.Adds, " ") != "add0 add1" {
		t.Errorf("residual adds %v, want add0 add1", rep.Adds)
	}
	ops := opCounts(g)
	if ops["QAdd"] != 0 || ops["Add"] != 2 || ops["QLinear"] != 4 {
		t.Errorf("int8 graph ops %v: want 2 f32 Add, no QAdd, 4 QLinear", ops)
	}
	for _, o := range g.Outputs {
		if o.Value.Op != ir.OpAdd || o.Value.Args[0].Op != ir.OpQLinear || !o.Value.Args[0].AttrBool("float") {
			t.Errorf("output %s = %s: want an f32 Add of QLinear's f32 outputs", o.Name, o.Value.Op)
		}
	}
}

// TestInt8LayersFloatAndU8: a layer without output scale and zero point
// stores f32 (passes.QLayer.Float), and metadata int8_store=u8 (the ONNX
// importer's) stores every output that has them u8 (QLayer.U8).
func TestInt8LayersFloatAndU8(t *testing.T) {
	f := int8File()
	layers, err := Int8Layers(f)
	if err != nil || layers["fc"].Float || layers["fc"].U8 {
		t.Fatalf("nnc quantize's layer: %+v, %v", layers["fc"], err)
	}
	f.Tensors = f.Tensors[:5]
	f.Metadata[Int8StoreKey] = "u8"
	if layers, err = Int8Layers(f); err != nil || !layers["fc"].Float || !layers["fc"].U8 || layers["fc"].OutScale != 0 {
		t.Fatalf("a layer without output scale: %+v, %v", layers["fc"], err)
	}
}
