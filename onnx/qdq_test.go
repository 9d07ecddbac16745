package onnx_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/npy"
	"github.com/nnc-go/nnc/onnx"
	"github.com/nnc-go/nnc/onnx/onnxpb"
	"github.com/nnc-go/nnc/passes"
	"github.com/nnc-go/nnc/train"
)

// TestQDQRound: QuantizeLinear rounds half to even and saturates to its
// int8 zero point's range; DequantizeLinear undoes it exactly.
func TestQDQRound(t *testing.T) {
	x := []float32{-1.25, -0.75, 0.25, 0.75, 1.25, 100, -100, 63.49}
	// x/0.5: -2.5 -1.5 0.5 1.5 2.5 200 -200 126.98, rounded to even, +1,
	// saturated to [-128, 127].
	wantY := []float64{-1, -1, 1, 3, 3, 127, -128, 127}
	out := run(t, "../testdata/onnx/qdq_round.onnx", nil, map[string]*npy.Array{"x": {Shape: []int{8}, F32: x}})
	y, z := out["y"].Float64s(), out["z"].Float64s()
	for i := range wantY {
		if y[i] != wantY[i] || z[i] != (wantY[i]-1)*0.5 {
			t.Errorf("x %v: y %v z %v, want %v and %v", x[i], y[i], z[i], wantY[i], (wantY[i]-1)*0.5)
		}
	}
}

// TestQDQMLP runs the MLP in ONNX Runtime's QDQ form that
// testdata/onnx/gen_qdq.py builds, and its variant with int8 activations,
// against the numpy reference evaluator of ONNX's arithmetic: on nnc's
// int8 kernels (the importer lowers its layers) and, with
// Options.FloatQDQ, as float ops.
func TestQDQMLP(t *testing.T) {
	for _, name := range []string{"qdq_mlp", "qdq_mlp_s8"} {
		for _, float := range []bool{false, true} {
			checkQDQ(t, name, "qdq_mlp", float, []string{"Quantize", "QLinear"})
		}
	}
}

// TestQDQCNN: a CNN in ONNX Runtime's QDQ form (Conv with padding, Relu,
// MaxPool and Flatten between QuantizeLinear / DequantizeLinear pairs of
// one scale, a Gemm), with u8 and with s8 activations, runs on QConv2d,
// QMaxPool2d, a u8 Reshape and QLinear and gives the numpy reference's
// outputs.
func TestQDQCNN(t *testing.T) {
	for _, name := range []string{"qdq_cnn", "qdq_cnn_s8"} {
		for _, float := range []bool{false, true} {
			checkQDQ(t, name, "qdq_cnn", float, []string{"Quantize", "QConv2d", "QMaxPool2d", "QLinear"})
		}
	}
}

// checkQDQ imports testdata/onnx/NAME.onnx (with float QDQ ops when
// float), checks the forward graph it runs has the int8 ops ops and no
// float QDQ arithmetic (or none of them), and runs it on REF.in.npy
// against REF.out.npy.
//
// The outputs are the last layer's, which stores f32: within 1e-5, as
// the float QDQ ops are held to. The int8 kernels sum exactly and scale
// the sum once in f32, where the reference sums in float64 and rounds to
// f32: the two differ by a few ulp of outputs below 4, some 1e-6. An
// activation rounded to another u8 value than the reference's would move
// an output by a weight times a scale, some 1e-3, which 1e-5 catches: the
// test holds every intermediate u8 value to ONNX's.
func checkQDQ(t *testing.T, name, ref string, float bool, ops []string) {
	t.Helper()
	in, err := npy.Read("../testdata/onnx/" + ref + ".in.npy")
	if err != nil {
		t.Fatal(err)
	}
	want, err := npy.Read("../testdata/onnx/" + ref + ".out.npy")
	if err != nil {
		t.Fatal(err)
	}
	path := "../testdata/onnx/" + name + ".onnx"
	m, err := onnx.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	im, g := importAt4(t, m, onnx.Options{FloatQDQ: float})
	if train.IsInt8(im.Weights) == float {
		t.Fatalf("%s (float QDQ %v): weights int8 %v", name, float, train.IsInt8(im.Weights))
	}
	run := g
	if !float {
		if run, err = train.Int8Graph(g, im.Weights); err != nil {
			t.Fatal(err)
		}
	}
	count := map[ir.Op]int{}
	for _, v := range run.Values {
		count[v.Op]++
	}
	for _, op := range ops {
		if o, _ := ir.LookupOp(op); (count[o] > 0) == float {
			t.Errorf("%s (float QDQ %v): %d %s ops in\n%s", name, float, count[o], op, ir.Print(run))
		}
	}
	if !float && (count[ir.OpDiv] > 0 || count[ir.OpFloor] > 0) {
		t.Errorf("%s: float QDQ arithmetic left in\n%s", name, ir.Print(run))
	}
	out, err := train.ForwardArrays(im.Program, map[string]*npy.Array{im.Inputs[0].IR: in}, train.ArrayOptions{Weights: im.Weights, WeightsName: path})
	if err != nil {
		t.Fatal(err)
	}
	got, w := out[im.Outputs[0].IR].Float64s(), want.Float64s()
	if len(got) != len(w) {
		t.Fatalf("%s: %d outputs, want %d", name, len(got), len(w))
	}
	for i := range w {
		if math.Abs(got[i]-w[i]) > 1e-5 {
			t.Errorf("%s (float QDQ %v): output %d: %v, want %v", name, float, i, got[i], w[i])
		}
	}
}

// qdqModel reads testdata/onnx/NAME.onnx and applies edit to its graph.
func qdqModel(t *testing.T, name string, edit func(g *onnxpb.GraphProto)) *onnx.Model {
	t.Helper()
	m, err := onnx.Read("../testdata/onnx/" + name + ".onnx")
	if err != nil {
		t.Fatal(err)
	}
	edit(m.Proto.Graph)
	return m
}

func initializer(t *testing.T, g *onnxpb.GraphProto, name string) *onnxpb.TensorProto {
	t.Helper()
	for _, i := range g.Initializer {
		if i.GetName() == name {
			return i
		}
	}
	t.Fatalf("no initializer %s", name)
	return nil
}

// forwardOps imports m, runs the pipeline and the int8 lowering when the
// importer made an int8 checkpoint, and returns the forward graph, the
// count of each op in it, and its outputs for the MLP's input.
func forwardOps(t *testing.T, m *onnx.Model, opt onnx.Options) (*ir.Graph, map[ir.Op]int, []float64) {
	t.Helper()
	in, err := npy.Read("../testdata/onnx/qdq_mlp.in.npy")
	if err != nil {
		t.Fatal(err)
	}
	im, g := importAt4(t, m, opt)
	if train.IsInt8(im.Weights) {
		if g, err = train.Int8Graph(g, im.Weights); err != nil {
			t.Fatal(err)
		}
	}
	count := map[ir.Op]int{}
	for _, v := range g.Values {
		count[v.Op]++
	}
	out, err := train.ForwardArrays(im.Program, map[string]*npy.Array{im.Inputs[0].IR: in}, train.ArrayOptions{Weights: im.Weights, WeightsName: "model.onnx"})
	if err != nil {
		t.Fatal(err)
	}
	return g, count, out[im.Outputs[0].IR].Float64s()
}

// TestQDQFallback: what the int8 kernels cannot run keeps ONNX's float
// QuantizeLinear / DequantizeLinear arithmetic, and the rest of the model
// still runs in int8, with the outputs of the float QDQ import.
func TestQDQFallback(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(t *testing.T, g *onnxpb.GraphProto)
		qlinear int  // QLinear ops left
		float   bool // a QLinear storing f32 that a float op reads
		floor   bool // float QDQ arithmetic left (Cast of integers, Floor)
	}{
		{"weight zero point 1", func(t *testing.T, g *onnxpb.GraphProto) {
			initializer(t, g, "fc1.weight_zero_point").RawData[3] = 1
		}, 1, false, true},
		{"uint8 weights", func(t *testing.T, g *onnxpb.GraphProto) {
			initializer(t, g, "fc2.weight_quantized").DataType = proto.Int32(int32(onnxpb.TensorProto_UINT8))
			initializer(t, g, "fc2.weight_zero_point").DataType = proto.Int32(int32(onnxpb.TensorProto_UINT8))
		}, 1, false, true},
		{"bias scale not the input's times the weights'", func(t *testing.T, g *onnxpb.GraphProto) {
			initializer(t, g, "fc2.bias_scale").RawData[3] ^= 0x10
		}, 1, false, true},
		{"sigmoid between QDQ pairs", func(t *testing.T, g *onnxpb.GraphProto) {
			for _, n := range g.Node {
				if n.GetOpType() == "Relu" {
					n.OpType = proto.String("Sigmoid")
				}
			}
			// Both layers run in int8, fc1 storing f32 for the
			// Sigmoid, whose output is quantized for fc2.
		}, 2, true, false},
		{"scale computed at run time", func(t *testing.T, g *onnxpb.GraphProto) {
			for _, n := range g.Node {
				if n.GetOpType() == "DequantizeLinear" && n.Input[0] == "fc1.q" {
					n.Input[1] = "s_run"
				}
			}
			g.Node = append([]*onnxpb.NodeProto{{OpType: proto.String("Identity"), Input: []string{"fc1.output_scale"}, Output: []string{"s_id"}},
				{OpType: proto.String("Mul"), Input: []string{"s_id", "one"}, Output: []string{"s_run"}}}, g.Node...)
			g.Initializer = append(g.Initializer, &onnxpb.TensorProto{Name: proto.String("one"), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Dims: []int64{}, FloatData: []float32{1}})
		}, 1, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edit := func(g *onnxpb.GraphProto) { tc.edit(t, g) }
			g, count, got := forwardOps(t, qdqModel(t, "qdq_mlp", edit), onnx.Options{})
			_, fcount, want := forwardOps(t, qdqModel(t, "qdq_mlp", edit), onnx.Options{FloatQDQ: true})
			if count[ir.OpQLinear] != tc.qlinear || (count[ir.OpFloor]+count[ir.OpCast] > 0) != tc.floor {
				t.Errorf("%d QLinear (want %d), %d Floor and %d Cast (float QDQ) in\n%s", count[ir.OpQLinear], tc.qlinear, count[ir.OpFloor], count[ir.OpCast], ir.Print(g))
			}
			if fcount[ir.OpQLinear] != 0 {
				t.Errorf("FloatQDQ: %d QLinear", fcount[ir.OpQLinear])
			}
			floatOut := false
			for _, v := range g.Values {
				floatOut = floatOut || (v.Op == ir.OpQLinear && v.AttrBool("float") && v != g.Outputs[0].Value)
			}
			if floatOut != tc.float {
				t.Errorf("a QLinear storing f32 for a float op: %v, want %v\n%s", floatOut, tc.float, ir.Print(g))
			}
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-5 {
					t.Errorf("output %d: %v, the float QDQ import %v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestQDQBadInput: a malformed QDQ model is a one-line error, never a
// panic.
func TestQDQBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, g *onnxpb.GraphProto)
		want string
	}{
		{"activation scale of two entries", func(t *testing.T, g *onnxpb.GraphProto) {
			s := initializer(t, g, "x_scale")
			s.Dims, s.RawData = []int64{2}, append(s.RawData, s.RawData...)
		}, "scale of 2 entries along axis 1"},
		{"weight scale of the wrong length", func(t *testing.T, g *onnxpb.GraphProto) {
			s := initializer(t, g, "fc1.weight_scale")
			s.Dims, s.RawData = []int64{5}, s.RawData[:20]
		}, "scale of 5 entries along axis 1"},
		{"zero point of type int32", func(t *testing.T, g *onnxpb.GraphProto) {
			z := initializer(t, g, "x_zero_point")
			z.DataType, z.RawData = proto.Int32(int32(onnxpb.TensorProto_INT32)), []byte{z.RawData[0], 0, 0, 0}
		}, "a zero point of type int32"},
		{"bias of the wrong length", func(t *testing.T, g *onnxpb.GraphProto) {
			b := initializer(t, g, "fc1.bias_quantized")
			b.Dims, b.RawData = []int64{3}, b.RawData[:12]
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := qdqModel(t, "qdq_mlp", func(g *onnxpb.GraphProto) { tc.edit(t, g) })
			_, err := onnx.Import(m, onnx.Options{})
			if err == nil {
				t.Fatal("imported")
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || strings.Contains(msg, "internal error") || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, want one line with %q", msg, tc.want)
			}
		})
	}
}

// TestQDQOutputQuantized: a last layer whose output QuantizeLinear and
// DequantizeLinear round (as ONNX Runtime's quantizer writes the graph's
// output) stores u8, dequantized for the output, and gives what the float
// QDQ ops give.
func TestQDQOutputQuantized(t *testing.T) {
	edit := func(g *onnxpb.GraphProto) {
		for _, n := range g.Node {
			if n.GetOpType() == "Identity" {
				n.Input[0] = "y_dq"
			}
		}
		g.Node = append(g.Node,
			&onnxpb.NodeProto{OpType: proto.String("QuantizeLinear"), Input: []string{"fc2.out", "x_scale", "x_zero_point"}, Output: []string{"y_q"}},
			&onnxpb.NodeProto{OpType: proto.String("DequantizeLinear"), Input: []string{"y_q", "x_scale", "x_zero_point"}, Output: []string{"y_dq"}})
		// Topological order: the Identity last.
		for i, n := range g.Node {
			if n.GetOpType() == "Identity" {
				g.Node = append(append(g.Node[:i:i], g.Node[i+1:]...), n)
				break
			}
		}
	}
	g, count, got := forwardOps(t, qdqModel(t, "qdq_mlp", edit), onnx.Options{})
	_, _, want := forwardOps(t, qdqModel(t, "qdq_mlp", edit), onnx.Options{FloatQDQ: true})
	out := g.Outputs[0].Value
	if count[ir.OpQLinear] != 2 || count[ir.OpFloor] != 0 || out.Op != ir.OpDequantize || out.Args[0].Op != ir.OpQLinear || out.Args[0].AttrBool("float") {
		t.Errorf("want the last QLinear storing u8, dequantized for the output:\n%s", ir.Print(g))
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-6 {
			t.Errorf("output %d: %v, the float QDQ import %v", i, got[i], want[i])
		}
	}
}

// TestQDQPerTensorWeights: weights with one scale per tensor (ONNX
// Runtime's default) run in int8 as well.
func TestQDQPerTensorWeights(t *testing.T) {
	edit := func(g *onnxpb.GraphProto) {
		f32 := func(name string) float32 {
			b := initializer(t, g, name).RawData
			return math.Float32frombits(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
		}
		scalar := func(name string, v float32) {
			i := initializer(t, g, name)
			u := math.Float32bits(v)
			i.Dims, i.RawData = nil, []byte{byte(u), byte(u >> 8), byte(u >> 16), byte(u >> 24)}
		}
		ws := f32("fc1.weight_scale")
		scalar("fc1.weight_scale", ws)
		scalar("fc1.bias_scale", float32(float64(f32("x_scale"))*float64(ws)))
	}
	g, count, got := forwardOps(t, qdqModel(t, "qdq_mlp", edit), onnx.Options{})
	_, _, want := forwardOps(t, qdqModel(t, "qdq_mlp", edit), onnx.Options{FloatQDQ: true})
	if count[ir.OpQLinear] != 2 || count[ir.OpFloor]+count[ir.OpCast] != 0 {
		t.Errorf("want both layers in int8:\n%s", ir.Print(g))
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-5 {
			t.Errorf("output %d: %v, the float QDQ import %v", i, got[i], want[i])
		}
	}
}

// TestQDQGemm: the MLP's MatMul + Add layers as Gemm, with B [in, out]
// (transB 0, scales along axis 1) and B transposed to [out, in] (transB
// 1, scales along axis 0), run in int8 with the reference's outputs.
func TestQDQGemm(t *testing.T) {
	for _, transB := range []bool{false, true} {
		edit := func(g *onnxpb.GraphProto) {
			var nodes []*onnxpb.NodeProto
			for i := 0; i < len(g.Node); i++ {
				n := g.Node[i]
				if n.GetOpType() != "MatMul" {
					nodes = append(nodes, n)
					continue
				}
				add := g.Node[i+1] // the bias Add
				i++
				gemm := &onnxpb.NodeProto{OpType: proto.String("Gemm"), Input: []string{n.Input[0], n.Input[1], add.Input[1]}, Output: add.Output}
				if transB {
					gemm.Attribute = []*onnxpb.AttributeProto{{Name: proto.String("transB"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(1)}}
					// The weight [in, out] transposed, its scales along axis 0.
					w := initializer(t, g, strings.TrimSuffix(n.Input[1], ".weight")+".weight_quantized")
					in, out := int(w.Dims[0]), int(w.Dims[1])
					b := make([]byte, len(w.RawData))
					for r := range in {
						for c := range out {
							b[c*in+r] = w.RawData[r*out+c]
						}
					}
					w.Dims, w.RawData = []int64{int64(out), int64(in)}, b
					for _, d := range g.Node {
						if d.GetOpType() == "DequantizeLinear" && d.Input[0] == w.GetName() {
							d.Attribute[0].I = proto.Int64(0)
						}
					}
				}
				nodes = append(nodes, gemm)
			}
			g.Node = nodes
		}
		g, count, got := forwardOps(t, qdqModel(t, "qdq_mlp", edit), onnx.Options{})
		want, err := npy.Read("../testdata/onnx/qdq_mlp.out.npy")
		if err != nil {
			t.Fatal(err)
		}
		if count[ir.OpQLinear] != 2 || count[ir.OpFloor]+count[ir.OpCast] != 0 {
			t.Errorf("transB %v: want both layers in int8:\n%s", transB, ir.Print(g))
		}
		for i, w := range want.Float64s() {
			if math.Abs(got[i]-w) > 1e-5 {
				t.Errorf("transB %v: output %d: %v, want %v", transB, i, got[i], w)
			}
		}
	}
}

// FuzzQDQRun mutates QDQ models and takes what still decodes through the
// whole road predict takes: import (which plans the int8 layers and
// writes their checkpoint), the passes at batch 2, the int8 lowering and
// a forward pass over two rows of zeros. Each step may refuse its input
// with an error, in one line; none may panic.
func FuzzQDQRun(f *testing.F) {
	for _, name := range []string{"qdq_mlp", "qdq_mlp_s8", "qdq_cnn", "qdq_cnn_s8"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "onnx", name+".onnx"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := onnx.Decode(b)
		if err != nil {
			return
		}
		m.Path = filepath.Join(t.TempDir(), "model.onnx")
		oneLine := func(what string, err error) {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: error of more than one line: %q", what, err)
			}
		}
		im, err := onnx.Import(m, onnx.Options{})
		if err != nil {
			oneLine("Import", err)
			return
		}
		g := im.Program.Forward
		g.Attrs = g.Attrs.Set("batch", 2)
		if err := passes.Run(g, passes.Options{Verify: true}); err != nil {
			oneLine("passes", err)
			return
		}
		named := map[string]*npy.Array{}
		for _, v := range g.Sources(ir.OpInput) {
			s := v.Type.Shape.Clone()
			if v.Type.DType != ir.F32 || !s.HasBatch() || s.Elems() > 1<<16 {
				return
			}
			s[0] = 2
			named[v.Name] = &npy.Array{Shape: []int(s), F32: make([]float32, 2*v.Type.Shape.Elems())}
		}
		if _, err := train.ForwardArrays(im.Program, named, train.ArrayOptions{Weights: im.Weights, WeightsName: m.Path}); err != nil {
			oneLine("forward", err)
		}
	})
}
