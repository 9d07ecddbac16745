package export

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/ir"
	pb "github.com/nnc-go/nnc/onnx/onnxpb"
)

// ONNXInt8 writes g, the forward pass an int8 checkpoint f runs (the
// quantize pass's rewrite, train.Int8Graph), as an ONNX model in the QDQ
// form ONNX Runtime reads and writes: every u8 value of nnc is a uint8
// tensor made by a QuantizeLinear with its scale and zero point, and each
// int8 layer is its float op (Gemm with transB, Conv, Add, Relu) over
// DequantizeLinear of its u8 input, of its int8 weight (an int8
// initializer, per-channel scales along axis 0) and of its int32 bias
// (scale input scale × weight scale), followed by a QuantizeLinear of its
// output unless that stays f32. MaxPool and Reshape run on the uint8
// values themselves. Parameters of the layers left in float are float
// initializers.
func ONNXInt8(g *ir.Graph, model string, f *checkpoint.File) ([]byte, error) {
	e := &onnxEmitter{g: g, names: map[*ir.Value]string{}, weights: ckptTensors{f},
		graph: &pb.GraphProto{Name: proto.String(model)}}
	q := &qdqEmitter{onnxEmitter: e, f: f, layerArgs: map[*ir.Value]bool{}, u8: map[*ir.Value]qparams{}}
	for _, v := range g.Values {
		if v.Op == ir.OpQLinear || v.Op == ir.OpQConv2d {
			for _, a := range v.Args[1:] {
				q.layerArgs[a] = true
			}
		}
	}
	for _, v := range g.Values {
		done, err := q.value(v)
		if err != nil {
			return nil, err
		}
		if !done {
			if err := e.value(v); err != nil {
				return nil, err
			}
		}
	}
	for _, o := range g.Outputs {
		if o.Value.Type.DType == ir.U8 {
			return nil, fmt.Errorf("ONNX export: output %s is u8", o.Name)
		}
	}
	return e.model()
}

// ckptTensors shows a checkpoint's F32 and I64 tensors as Tensors.
type ckptTensors struct{ f *checkpoint.File }

func (c ckptTensors) Float64(name string) ([]float64, bool) {
	t := c.f.Get(name)
	if t == nil || t.DType() != checkpoint.F32 {
		return nil, false
	}
	x := make([]float64, len(t.F32))
	for i, v := range t.F32 {
		x[i] = float64(v)
	}
	return x, true
}

func (c ckptTensors) Int64(name string) ([]int64, bool) {
	t := c.f.Get(name)
	if t == nil || t.DType() != checkpoint.I64 {
		return nil, false
	}
	return t.I64, true
}

type qdqEmitter struct {
	*onnxEmitter
	f         *checkpoint.File
	layerArgs map[*ir.Value]bool // the weights, biases and scales of the int8 layers
	u8        map[*ir.Value]qparams
}

// qparams are the scale and zero point of a u8 value.
type qparams struct {
	scale float64
	zp    int
}

// raw adds an initializer of raw little-endian data.
func (q *qdqEmitter) raw(name string, dt pb.TensorProto_DataType, dims []int, data []byte) string {
	t := &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), RawData: data}
	for _, d := range dims {
		t.Dims = append(t.Dims, int64(d))
	}
	q.graph.Initializer = append(q.graph.Initializer, t)
	return name
}

// params adds the scale (f32) and zero point (uint8) of a u8 activation,
// once per pair, and returns their names.
func (q *qdqEmitter) params(scale float64, zp int) (string, string) {
	key := fmt.Sprintf("q_%08x_%d", math.Float32bits(float32(scale)), zp)
	for _, t := range q.graph.Initializer {
		if t.GetName() == key+"_scale" {
			return key + "_scale", key + "_zero_point"
		}
	}
	b := binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(scale)))
	return q.raw(key+"_scale", pb.TensorProto_FLOAT, nil, b), q.raw(key+"_zero_point", pb.TensorProto_UINT8, nil, []byte{byte(zp)})
}

func (q *qdqEmitter) quantize(x string, scale float64, zp int, out string) string {
	s, z := q.params(scale, zp)
	return q.node("QuantizeLinear", []string{x, s, z}, out)
}

func (q *qdqEmitter) dequantize(x string, scale float64, zp int) string {
	s, z := q.params(scale, zp)
	return q.node("DequantizeLinear", []string{x, s, z}, "")
}

// layer returns the dequantized weight and bias of the int8 layer NAME
// (its checkpoint tensors NAME.weight, NAME.weight_scale and NAME.bias)
// whose input has scale inScale.
func (q *qdqEmitter) layer(name string, inScale float64) (w, b string, err error) {
	wt, ws, bt := q.f.Get(name+".weight"), q.f.Get(name+".weight_scale"), q.f.Get(name+".bias")
	if wt == nil || ws == nil || bt == nil || wt.DType() != checkpoint.I8 || ws.DType() != checkpoint.F32 || bt.DType() != checkpoint.I32 {
		return "", "", fmt.Errorf("ONNX export: the int8 checkpoint has no I8 %s.weight, F32 %s.weight_scale and I32 %s.bias", name, name, name)
	}
	out := wt.Shape[0]
	wb := make([]byte, len(wt.I8))
	for i, v := range wt.I8 {
		wb[i] = byte(v)
	}
	sb, bsb, bb := make([]byte, 0, 4*out), make([]byte, 0, 4*out), make([]byte, 0, 4*out)
	for o := range out {
		sb = binary.LittleEndian.AppendUint32(sb, math.Float32bits(ws.F32[o]))
		bsb = binary.LittleEndian.AppendUint32(bsb, math.Float32bits(float32(inScale*float64(ws.F32[o]))))
		bb = binary.LittleEndian.AppendUint32(bb, uint32(bt.I32[o]))
	}
	wq := q.raw(name+".weight_quantized", pb.TensorProto_INT8, wt.Shape, wb)
	wsn := q.raw(name+".weight_scale", pb.TensorProto_FLOAT, []int{out}, sb)
	wz := q.raw(name+".weight_zero_point", pb.TensorProto_INT8, []int{out}, make([]byte, out))
	bq := q.raw(name+".bias_quantized", pb.TensorProto_INT32, []int{out}, bb)
	bs := q.raw(name+".bias_scale", pb.TensorProto_FLOAT, []int{out}, bsb)
	bz := q.raw(name+".bias_zero_point", pb.TensorProto_INT32, []int{out}, make([]byte, 4*out))
	w = q.node("DequantizeLinear", []string{wq, wsn, wz}, name+".weight", intAttr("axis", 0))
	b = q.node("DequantizeLinear", []string{bq, bs, bz}, name+".bias", intAttr("axis", 0))
	return w, b, nil
}

// value writes v if it is one of the int8 forms; done is false for the
// ops onnxEmitter.value writes.
func (q *qdqEmitter) value(v *ir.Value) (done bool, err error) {
	out := fmt.Sprintf("v%d", v.ID)
	if v.Name != "" {
		out = fmt.Sprintf("%s_v%d", v.Name, v.ID)
	}
	in := q.args(v)
	switch v.Op {
	case ir.OpParam, ir.OpBuffer:
		// The i8 weights, their scales and the i32 biases are written by
		// the layer that reads them.
		return q.layerArgs[v], nil
	case ir.OpQuantize:
		if !v.Type.Shape.Equal(v.Args[0].Type.Shape) {
			// Quantized into a reshape of its input: the float
			// Reshape, then QuantizeLinear, which keeps the shape.
			s, err := q.ints(v.Type.Shape...)
			if err != nil {
				return true, err
			}
			y := q.node("Reshape", []string{in[0], s}, "")
			q.quantize(y, v.AttrFloat("scale"), v.AttrInt("zero_point"), out)
		} else {
			q.quantize(in[0], v.AttrFloat("scale"), v.AttrInt("zero_point"), out)
		}
		q.u8[v] = qparams{v.AttrFloat("scale"), v.AttrInt("zero_point")}
	case ir.OpDequantize:
		s, z := q.params(v.AttrFloat("scale"), v.AttrInt("zero_point"))
		q.node("DequantizeLinear", []string{in[0], s, z}, out)
	case ir.OpQLinear, ir.OpQConv2d:
		// A Linear reads its weights packed (NAME.qweight): the
		// checkpoint's NAME.weight are exported.
		name, ok := strings.CutSuffix(v.Args[1].Name, ".weight")
		if v.Op == ir.OpQLinear {
			name, ok = strings.CutSuffix(v.Args[1].Name, ".qweight")
		}
		if !ok {
			return true, fmt.Errorf("ONNX export: %s reads weight %q, not NAME.weight or NAME.qweight", v.Op, v.Args[1].Name)
		}
		inScale := v.AttrFloat("in_scale")
		x := q.dequantize(in[0], inScale, v.AttrInt("in_zero_point"))
		w, b, err := q.layer(name, inScale)
		if err != nil {
			return true, err
		}
		float, relu := v.AttrBool("float"), v.AttrBool("relu")
		y := ""
		if float && !relu {
			y = out
		}
		if v.Op == ir.OpQLinear {
			y = q.node("Gemm", []string{x, w, b}, y, intAttr("transB", 1))
		} else {
			k := v.Args[1].Type.Shape
			p, s := v.AttrInt("padding"), v.AttrInt("stride")
			y = q.node("Conv", []string{x, w, b}, y, intsAttr("kernel_shape", k[2], k[3]), intsAttr("strides", s, s), intsAttr("pads", p, p, p, p))
		}
		if relu {
			o := ""
			if float {
				o = out
			}
			y = q.node("Relu", []string{y}, o)
		}
		if !float {
			q.quantize(y, v.AttrFloat("out_scale"), v.AttrInt("out_zero_point"), out)
			q.u8[v] = qparams{v.AttrFloat("out_scale"), v.AttrInt("out_zero_point")}
		}
	case ir.OpQAdd:
		a := q.dequantize(in[0], v.AttrFloat("a_scale"), v.AttrInt("a_zero_point"))
		b := q.dequantize(in[1], v.AttrFloat("b_scale"), v.AttrInt("b_zero_point"))
		y := q.node("Add", []string{a, b}, "")
		if v.AttrBool("relu") {
			y = q.node("Relu", []string{y}, "")
		}
		q.quantize(y, v.AttrFloat("out_scale"), v.AttrInt("out_zero_point"), out)
		q.u8[v] = qparams{v.AttrFloat("out_scale"), v.AttrInt("out_zero_point")}
	case ir.OpQMaxPool2d, ir.OpReshape:
		// As ONNX Runtime's quantizer writes them: between a
		// DequantizeLinear and a QuantizeLinear of the input's
		// parameters, which give back the u8 values exactly.
		if v.Type.DType != ir.U8 {
			return false, nil
		}
		p, ok := q.u8[v.Args[0]]
		if !ok {
			return true, fmt.Errorf("ONNX export: %s of a u8 value of unknown scale", v.Op)
		}
		x := q.dequantize(in[0], p.scale, p.zp)
		var y string
		if v.Op == ir.OpReshape {
			dims := make([]int, len(v.Type.Shape))
			copy(dims, v.Type.Shape)
			s, err := q.ints(dims...)
			if err != nil {
				return true, err
			}
			y = q.node("Reshape", []string{x, s}, "")
		} else {
			k, s := v.AttrInt("kernel"), v.AttrInt("stride")
			if s == 0 {
				s = k
			}
			y = q.node("MaxPool", []string{x}, "", intsAttr("kernel_shape", k, k), intsAttr("strides", s, s))
		}
		q.quantize(y, p.scale, p.zp, out)
		q.u8[v] = p
	default:
		return false, nil
	}
	q.names[v] = out
	return true, nil
}
