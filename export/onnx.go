package export

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/nnc-go/nnc/ir"
	pb "github.com/nnc-go/nnc/onnx/onnxpb"
)

// ONNXOpset is the opset the ONNX export writes (what torch.onnx.export
// writes by default; LayerNormalization is in it).
const ONNXOpset = 17

// Tensors gives the exporter a tensor's values by name: float32 or
// float64 ones, or int64 ones; ok false when there is none.
type Tensors interface {
	Float64(name string) ([]float64, bool)
	Int64(name string) ([]int64, bool)
}

// ONNX writes the forward pass g (as built: before the passes fuse its
// ops) as an ONNX model of opset 17 with a symbolic batch dimension "N",
// the parameters and buffers as initializers named as in the state_dict.
func ONNX(g *ir.Graph, model string, weights Tensors) ([]byte, error) {
	e := &onnxEmitter{g: g, names: map[*ir.Value]string{}, weights: weights,
		graph: &pb.GraphProto{Name: proto.String(model)}}
	for _, v := range g.Values {
		if err := e.value(v); err != nil {
			return nil, err
		}
	}
	return e.model()
}

// model adds the graph's outputs and returns the serialized model.
func (e *onnxEmitter) model() ([]byte, error) {
	for _, o := range e.g.Outputs {
		e.graph.Output = append(e.graph.Output, e.valueInfo(o.Name, o.Value.Type))
		if e.names[o.Value] != o.Name {
			e.node("Identity", []string{e.names[o.Value]}, o.Name)
		}
	}
	m := &pb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("nnc"),
		OpsetImport:  []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(ONNXOpset)}},
		Graph:        e.graph,
	}
	return proto.Marshal(m)
}

type onnxEmitter struct {
	g       *ir.Graph
	graph   *pb.GraphProto
	names   map[*ir.Value]string
	weights Tensors
	n       int
}

func elemType(dt ir.DType) (int32, error) {
	switch dt {
	case ir.F32:
		return int32(pb.TensorProto_FLOAT), nil
	case ir.F64:
		return int32(pb.TensorProto_DOUBLE), nil
	case ir.I64:
		return int32(pb.TensorProto_INT64), nil
	case ir.I32:
		return int32(pb.TensorProto_INT32), nil
	case ir.Bool:
		return int32(pb.TensorProto_BOOL), nil
	}
	return 0, fmt.Errorf("ONNX export: tensors of type %s are not exported", dt)
}

func (e *onnxEmitter) valueInfo(name string, t ir.Type) *pb.ValueInfoProto {
	et, _ := elemType(t.DType)
	shape := &pb.TensorShapeProto{}
	for _, d := range t.Shape {
		dim := &pb.TensorShapeProto_Dimension{}
		if d == ir.Batch {
			dim.Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}
		} else {
			dim.Value = &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(et), Shape: shape}}}}
}

// node appends a node and returns its output's name (out, or a new one).
func (e *onnxEmitter) node(op string, in []string, out string, attrs ...*pb.AttributeProto) string {
	e.n++
	if out == "" {
		out = fmt.Sprintf("t%d", e.n)
	}
	e.graph.Node = append(e.graph.Node, &pb.NodeProto{OpType: proto.String(op), Name: proto.String(fmt.Sprintf("%s_%d", op, e.n)),
		Input: in, Output: []string{out}, Attribute: attrs})
	return out
}

func intAttr(name string, v int) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(int64(v))}
}

func intsAttr(name string, v ...int) *pb.AttributeProto {
	a := &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum()}
	for _, x := range v {
		a.Ints = append(a.Ints, int64(x))
	}
	return a
}

func floatAttr(name string, v float64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_FLOAT.Enum(), F: proto.Float32(float32(v))}
}

// constant adds an initializer of the given values and returns its name.
func (e *onnxEmitter) constant(dt ir.DType, dims []int, f []float64, i []int64) (string, error) {
	e.n++
	name := fmt.Sprintf("c%d", e.n)
	t, err := tensor(name, dt, dims, f, i)
	if err != nil {
		return "", err
	}
	e.graph.Initializer = append(e.graph.Initializer, t)
	return name, nil
}

func tensor(name string, dt ir.DType, dims []int, f []float64, i []int64) (*pb.TensorProto, error) {
	et, err := elemType(dt)
	if err != nil {
		return nil, err
	}
	t := &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(et)}
	for _, d := range dims {
		t.Dims = append(t.Dims, int64(d))
	}
	switch dt {
	case ir.F32:
		b := make([]byte, 4*len(f))
		for k, x := range f {
			binary.LittleEndian.PutUint32(b[4*k:], math.Float32bits(float32(x)))
		}
		t.RawData = b
	case ir.F64:
		b := make([]byte, 8*len(f))
		for k, x := range f {
			binary.LittleEndian.PutUint64(b[8*k:], math.Float64bits(x))
		}
		t.RawData = b
	case ir.I64:
		b := make([]byte, 8*len(i))
		for k, x := range i {
			binary.LittleEndian.PutUint64(b[8*k:], uint64(x))
		}
		t.RawData = b
	default:
		return nil, fmt.Errorf("ONNX export: constants of type %s are not exported", dt)
	}
	return t, nil
}

func (e *onnxEmitter) args(v *ir.Value) []string {
	var in []string
	for _, a := range v.Args {
		in = append(in, e.names[a])
	}
	return in
}

// scalar adds a scalar constant of v's element type.
func (e *onnxEmitter) scalar(dt ir.DType, x float64) (string, error) {
	return e.constant(dt, nil, []float64{x}, nil)
}

func (e *onnxEmitter) ints(xs ...int) (string, error) {
	i := make([]int64, len(xs))
	for k, x := range xs {
		i[k] = int64(x)
	}
	return e.constant(ir.I64, []int{len(xs)}, nil, i)
}

func (e *onnxEmitter) value(v *ir.Value) (err error) {
	at := func(format string, a ...any) error {
		return fmt.Errorf("ONNX export: %s (%s): %s", v.Op, v.Pos, fmt.Sprintf(format, a...))
	}
	out := fmt.Sprintf("v%d", v.ID)
	if v.Name != "" && v.Op != ir.OpInput && v.Op != ir.OpParam && v.Op != ir.OpBuffer {
		out = fmt.Sprintf("%s_v%d", v.Name, v.ID)
	}
	in := e.args(v)
	dt := v.Type.DType
	switch v.Op {
	case ir.OpInput:
		out = v.Name
		e.graph.Input = append(e.graph.Input, e.valueInfo(v.Name, v.Type))
	case ir.OpParam, ir.OpBuffer:
		out = v.Name
		var t *pb.TensorProto
		if dt == ir.I64 {
			x, ok := e.weights.Int64(v.Name)
			if !ok {
				return at("no values for %s", v.Name)
			}
			t, err = tensor(v.Name, dt, v.Type.Shape, nil, x)
		} else {
			x, ok := e.weights.Float64(v.Name)
			if !ok {
				return at("no values for %s", v.Name)
			}
			t, err = tensor(v.Name, dt, v.Type.Shape, x, nil)
		}
		if err != nil {
			return err
		}
		e.graph.Initializer = append(e.graph.Initializer, t)
	case ir.OpConst:
		n := v.Type.Shape.Elems()
		x := v.Attrs.Float("value", 0)
		f, i := make([]float64, n), make([]int64, n)
		for k := range n {
			f[k], i[k] = x, int64(x)
		}
		if out, err = e.constant(dt, v.Type.Shape, f, i); err != nil {
			return err
		}
	case ir.OpAdd, ir.OpSub, ir.OpMul, ir.OpDiv:
		e.node(map[ir.Op]string{ir.OpAdd: "Add", ir.OpSub: "Sub", ir.OpMul: "Mul", ir.OpDiv: "Div"}[v.Op], in, out)
	case ir.OpNeg, ir.OpRelu, ir.OpSigmoid, ir.OpTanh:
		e.node(map[ir.Op]string{ir.OpNeg: "Neg", ir.OpRelu: "Relu", ir.OpSigmoid: "Sigmoid", ir.OpTanh: "Tanh"}[v.Op], in, out)
	case ir.OpSoftmax, ir.OpLogSoftmax:
		e.node(map[ir.Op]string{ir.OpSoftmax: "Softmax", ir.OpLogSoftmax: "LogSoftmax"}[v.Op], in, out, intAttr("axis", v.AttrInt("dim")))
	case ir.OpMatMul:
		a, b := in[0], in[1]
		if v.AttrBool("ta") {
			a = e.node("Transpose", []string{a}, "", intsAttr("perm", swapLast(v.Args[0].Type.Shape.Rank())...))
		}
		if v.AttrBool("tb") {
			b = e.node("Transpose", []string{b}, "", intsAttr("perm", swapLast(v.Args[1].Type.Shape.Rank())...))
		}
		e.node("MatMul", []string{a, b}, out)
	case ir.OpTranspose:
		r := v.Args[0].Type.Shape.Rank()
		d0, _ := ir.NormAxis(v.AttrInt("d0"), r)
		d1, _ := ir.NormAxis(v.AttrInt("d1"), r)
		perm := make([]int, r)
		for k := range perm {
			perm[k] = k
		}
		perm[d0], perm[d1] = perm[d1], perm[d0]
		e.node("Transpose", in, out, intsAttr("perm", perm...))
	case ir.OpReshape:
		dims := make([]int, len(v.Type.Shape))
		batch := 0
		for k, d := range v.Type.Shape {
			dims[k] = d
			if d == ir.Batch {
				batch++
			}
		}
		if batch > 1 {
			return at("a shape with the batch in two dimensions")
		}
		s, err := e.ints(dims...) // the batch dimension, -1, is inferred
		if err != nil {
			return err
		}
		e.node("Reshape", []string{in[0], s}, out)
	case ir.OpConv2d:
		k := v.Args[1].Type.Shape
		p, s := v.AttrInt("padding"), v.AttrInt("stride")
		e.node("Conv", in, out, intsAttr("kernel_shape", k[2], k[3]), intsAttr("strides", s, s), intsAttr("pads", p, p, p, p))
	case ir.OpMaxPool2d:
		k, s := v.AttrInt("kernel"), v.AttrInt("stride")
		if s == 0 {
			s = k
		}
		e.node("MaxPool", in, out, intsAttr("kernel_shape", k, k), intsAttr("strides", s, s))
	case ir.OpBatchNorm:
		e.node("BatchNormalization", in, out, floatAttr("epsilon", v.AttrFloat("eps")))
	case ir.OpLayerNorm:
		e.node("LayerNormalization", in, out, intAttr("axis", -1), floatAttr("epsilon", v.AttrFloat("eps")))
	case ir.OpEmbedding:
		e.node("Gather", []string{in[1], in[0]}, out, intAttr("axis", 0))
	case ir.OpArange:
		n := v.AttrInt("n")
		i := make([]int64, n)
		for k := range i {
			i[k] = int64(k)
		}
		if out, err = e.constant(ir.I64, []int{n}, nil, i); err != nil {
			return err
		}
	case ir.OpSum, ir.OpMean:
		r := v.Args[0].Type.Shape.Rank()
		d, _ := ir.NormAxis(v.AttrInt("dim"), r)
		keep := 0
		if v.Type.Shape.Rank() == r {
			keep = 1
		}
		if v.Op == ir.OpSum {
			axes, err := e.ints(d)
			if err != nil {
				return err
			}
			e.node("ReduceSum", []string{in[0], axes}, out, intAttr("keepdims", keep))
		} else {
			e.node("ReduceMean", in, out, intsAttr("axes", d), intAttr("keepdims", keep))
		}
	case ir.OpGelu:
		// Opset 17 has no Gelu: written out, in either form.
		x := in[0]
		half, err := e.scalar(dt, 0.5)
		if err != nil {
			return err
		}
		one, _ := e.scalar(dt, 1)
		var inner string
		if v.Attrs.String("approximate") == "tanh" {
			c, _ := e.scalar(dt, math.Sqrt(2/math.Pi))
			k, _ := e.scalar(dt, 0.044715)
			x3 := e.node("Mul", []string{e.node("Mul", []string{x, x}, ""), x}, "")
			poly := e.node("Add", []string{x, e.node("Mul", []string{k, x3}, "")}, "")
			inner = e.node("Tanh", []string{e.node("Mul", []string{c, poly}, "")}, "")
		} else {
			r, _ := e.scalar(dt, 1/math.Sqrt2)
			inner = e.node("Erf", []string{e.node("Mul", []string{x, r}, "")}, "")
		}
		e.node("Mul", []string{e.node("Mul", []string{half, x}, ""), e.node("Add", []string{one, inner}, "")}, out)
	case ir.OpAttention:
		q, k, val := in[0], in[1], in[2]
		sh := v.Args[0].Type.Shape
		d, t := sh[len(sh)-1], sh[len(sh)-2]
		kt := e.node("Transpose", []string{k}, "", intsAttr("perm", swapLast(v.Args[1].Type.Shape.Rank())...))
		scale, err := e.scalar(dt, 1/math.Sqrt(float64(d)))
		if err != nil {
			return err
		}
		s := e.node("Mul", []string{e.node("MatMul", []string{q, kt}, ""), scale}, "")
		if v.AttrBool("causal") {
			mask := make([]float64, t*t)
			for i := range t {
				for j := i + 1; j < t; j++ {
					mask[i*t+j] = math.Inf(-1)
				}
			}
			m, err := e.constant(dt, []int{t, t}, mask, nil)
			if err != nil {
				return err
			}
			s = e.node("Add", []string{s, m}, "")
		}
		p := e.node("Softmax", []string{s}, "", intAttr("axis", -1))
		e.node("MatMul", []string{p, val}, out)
	default:
		return at("no ONNX form in nnc export yet")
	}
	e.names[v] = out
	return nil
}

// swapLast is the permutation of rank r that swaps the last two axes.
func swapLast(r int) []int {
	p := make([]int, r)
	for k := range p {
		p[k] = k
	}
	p[r-1], p[r-2] = p[r-2], p[r-1]
	return p
}
