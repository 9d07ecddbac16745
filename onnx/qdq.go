package onnx

import (
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/onnx/onnxpb"
)

// QuantizeLinear and DequantizeLinear (ONNX's QDQ form) run as float ops
// with ONNX's exact arithmetic: y = saturate(round(x / scale) + zero_point),
// round half to even, saturated to the zero point's type (uint8 when it is
// absent, int8), and x = (q − zero_point) · scale. nnc holds ONNX's
// narrow integers as i64, so the quantized values are i64 tensors; the
// scale and zero point are a scalar (per tensor) or 1-D along axis (per
// channel), known when compiling or computed at run time.

func init() {
	handlers["QuantizeLinear"] = (*importer).quantizeLinear
	handlers["DequantizeLinear"] = (*importer).dequantizeLinear
}

// quantParams returns the scale (input 1) and, when present, the zero
// point (input 2) of a QDQ node over x, reshaped to broadcast along the
// node's axis when they are 1-D, the zero point as x's float type.
func (im *importer) quantParams(x *ir.Value, ft ir.DType) (scale, zp *ir.Value, err error) {
	axis, err := im.attrInt("axis", 1)
	if err != nil {
		return nil, nil, err
	}
	r := x.Type.Shape.Rank()
	if axis < 0 {
		axis += r
	}
	scale, err = im.floatIn(1)
	if err != nil {
		return nil, nil, err
	}
	if zp, err = im.optIn(2); err != nil {
		return nil, nil, err
	}
	if zp != nil && zp.Type.DType != ft {
		if zp, err = im.op(ir.OpCast, ir.Attrs{{Key: "to", Val: ft.String()}}, zp); err != nil {
			return nil, nil, err
		}
	}
	perAxis := func(p *ir.Value, what string) (*ir.Value, error) {
		s := p.Type.Shape
		switch {
		case s.Rank() == 0 || (s.Rank() == 1 && s[0] == 1 && r == 0):
			return p, nil
		case s.Rank() != 1:
			return nil, im.errorf("%s of shape %s: a scalar or 1-D", what, s)
		case axis < 0 || axis >= r:
			return nil, im.errorf("axis %d outside the %d dimensions of the input", axis, r)
		case s[0] != x.Type.Shape[axis]:
			return nil, im.errorf("%s of %d entries along axis %d of %s", what, s[0], axis, x.Type.Shape)
		}
		shape := make(ir.Shape, r)
		for i := range shape {
			shape[i] = 1
		}
		shape[axis] = s[0]
		return im.reshapeTo(p, shape)
	}
	if scale, err = perAxis(scale, "scale"); err != nil {
		return nil, nil, err
	}
	if zp != nil {
		if zp, err = perAxis(zp, "zero point"); err != nil {
			return nil, nil, err
		}
	}
	return scale, zp, nil
}

// quantizeLinear: y = saturate(round_half_even(x / scale) + zero_point).
func (im *importer) quantizeLinear() error {
	x, err := im.floatIn(0)
	if err != nil {
		return err
	}
	lo, hi := 0.0, 255.0
	switch t := im.elemType(2); t {
	case onnxpb.TensorProto_INT8:
		lo, hi = -128, 127
	case onnxpb.TensorProto_UINT8, onnxpb.TensorProto_UNDEFINED:
	default:
		return im.notSupported("a zero point of type %s (uint8 and int8 are)", typeName(int32(t)))
	}
	ft := x.Type.DType
	scale, zp, err := im.quantParams(x, ft)
	if err != nil {
		return err
	}
	c := func(f float64) (*ir.Value, error) { return im.scalar(f, x) }
	var v *ir.Value
	steps := []func() error{
		func() (err error) { v, err = im.op(ir.OpDiv, nil, x, scale); return },
		// Beyond ±2²¹ every result saturates; within, the rounding below
		// is exact in f32.
		func() (err error) {
			v, err = im.op(ir.OpClip, ir.Attrs{{Key: "min", Val: -float64(1 << 21)}, {Key: "max", Val: float64(1 << 21)}}, v)
			return
		},
		func() (err error) { v, err = im.roundHalfEven(v, c); return },
		func() (err error) {
			if zp != nil {
				v, err = im.op(ir.OpAdd, nil, v, zp)
			}
			return
		},
		func() (err error) {
			v, err = im.op(ir.OpClip, ir.Attrs{{Key: "min", Val: lo}, {Key: "max", Val: hi}}, v)
			return
		},
		func() (err error) { v, err = im.op(ir.OpCast, ir.Attrs{{Key: "to", Val: ir.I64.String()}}, v); return },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return im.set(0, v)
}

// roundHalfEven rounds v to the nearest integer, ties to even, as ONNX's
// QuantizeLinear (and Round) do: ⌊v⌋, plus 1 above the half, plus ⌊v⌋'s
// oddness at it; every step is exact for |v| < 2²².
func (im *importer) roundHalfEven(v *ir.Value, c func(float64) (*ir.Value, error)) (*ir.Value, error) {
	half, err := c(0.5)
	if err != nil {
		return nil, err
	}
	one, err := c(1)
	if err != nil {
		return nil, err
	}
	zero, err := c(0)
	if err != nil {
		return nil, err
	}
	two, err := c(2)
	if err != nil {
		return nil, err
	}
	f, err := im.op(ir.OpFloor, nil, v)
	if err != nil {
		return nil, err
	}
	d, err := im.op(ir.OpSub, nil, v, f)
	if err != nil {
		return nil, err
	}
	// f − 2⌊f/2⌋: 1 when f is odd.
	hf, err := im.op(ir.OpMul, nil, f, half)
	if err != nil {
		return nil, err
	}
	if hf, err = im.op(ir.OpFloor, nil, hf); err != nil {
		return nil, err
	}
	if hf, err = im.op(ir.OpMul, nil, hf, two); err != nil {
		return nil, err
	}
	odd, err := im.op(ir.OpSub, nil, f, hf)
	if err != nil {
		return nil, err
	}
	gt, err := im.op(ir.OpGreater, nil, d, half)
	if err != nil {
		return nil, err
	}
	eq, err := im.op(ir.OpEqual, nil, d, half)
	if err != nil {
		return nil, err
	}
	tie, err := im.op(ir.OpWhere, nil, eq, odd, zero)
	if err != nil {
		return nil, err
	}
	inc, err := im.op(ir.OpWhere, nil, gt, one, tie)
	if err != nil {
		return nil, err
	}
	return im.op(ir.OpAdd, nil, f, inc)
}

// dequantizeLinear: x = (q − zero_point) · scale, in the scale's float
// type.
func (im *importer) dequantizeLinear() error {
	q, err := im.in(0)
	if err != nil {
		return err
	}
	if q.Type.DType != ir.I64 {
		return im.notSupported("input of type %s (an integer tensor)", q.Type.DType)
	}
	s, err := im.floatIn(1)
	if err != nil {
		return err
	}
	ft := s.Type.DType
	x, err := im.op(ir.OpCast, ir.Attrs{{Key: "to", Val: ft.String()}}, q)
	if err != nil {
		return err
	}
	scale, zp, err := im.quantParams(x, ft)
	if err != nil {
		return err
	}
	if zp != nil {
		if x, err = im.op(ir.OpSub, nil, x, zp); err != nil {
			return err
		}
	}
	y, err := im.op(ir.OpMul, nil, x, scale)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

// elemType is the ONNX element type of the node's input i: of an
// initializer, a graph input, a value_info entry, a Constant, or the
// output of a QuantizeLinear (its zero point's); UNDEFINED when the input
// is absent or its type is not known.
func (im *importer) elemType(i int) onnxpb.TensorProto_DataType {
	if i >= len(im.node.Input) || im.node.Input[i] == "" {
		return onnxpb.TensorProto_UNDEFINED
	}
	return elemTypeOf(im.m.Proto.Graph, im.node.Input[i], 0)
}

func elemTypeOf(gp *onnxpb.GraphProto, name string, depth int) onnxpb.TensorProto_DataType {
	for _, t := range gp.Initializer {
		if t.GetName() == name {
			return onnxpb.TensorProto_DataType(t.GetDataType())
		}
	}
	for _, vis := range [][]*onnxpb.ValueInfoProto{gp.Input, gp.ValueInfo, gp.Output} {
		for _, vi := range vis {
			if vi.GetName() == name {
				if tt := vi.GetType().GetTensorType(); tt != nil {
					return onnxpb.TensorProto_DataType(tt.GetElemType())
				}
			}
		}
	}
	for _, n := range gp.Node {
		if len(n.Output) == 0 || n.Output[0] != name {
			continue
		}
		switch n.GetOpType() {
		case "Constant":
			for _, a := range n.Attribute {
				if a.GetName() == "value" && a.GetT() != nil {
					return onnxpb.TensorProto_DataType(a.GetT().GetDataType())
				}
			}
		case "QuantizeLinear":
			if len(n.Input) < 3 || n.Input[2] == "" {
				return onnxpb.TensorProto_UINT8
			}
			if depth < 8 {
				return elemTypeOf(gp, n.Input[2], depth+1)
			}
		}
	}
	return onnxpb.TensorProto_UNDEFINED
}
