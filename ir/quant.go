package ir

import "fmt"

// The int8 ops (issue 15). Activations are u8, asymmetric per tensor: a
// value q stands for scale·(q − zero_point). Weights are i8, symmetric per
// output channel (zero point 0). QLinear and QConv2d take the u8 input, the
// i8 weight, the i32 bias already corrected for the input's zero point
// (the "qbias" the loader computes, kernels.QBias) and the per-channel
// weight scales, and store their output requantized to u8 with the output
// scale and zero point, or dequantized to f32 when float is set: no
// separate quantize or dequantize op sits between fused layers.

var (
	qAttrs      = []AttrSpec{need("scale", 0.0), need("zero_point", 0)}
	qLayerAttrs = []AttrSpec{need("in_scale", 0.0), attr("in_zero_point", 0), attr("out_scale", 1.0), attr("out_zero_point", 0),
		attr("relu", false), attr("float", false)}
	qAddAttrs = []AttrSpec{need("a_scale", 0.0), attr("a_zero_point", 0), need("b_scale", 0.0), attr("b_zero_point", 0),
		need("out_scale", 0.0), attr("out_zero_point", 0), attr("relu", false)}
)

func checkQParams(attrs Attrs, scale, zp string) error {
	s := attrs.Float(scale, 0)
	if !(s > 0) || s > 1e30 {
		return fmt.Errorf("%s %v is not a positive finite number", scale, s)
	}
	if z := attrs.Int(zp, 0); z < 0 || z > 255 {
		return fmt.Errorf("%s %d outside [0, 255]", zp, z)
	}
	return nil
}

// quantizeShape: a Quantize keeps its input's shape, or takes the one
// declared, of as many elements: it quantizes a reshape's input straight
// into the reshaped value (the elements' order is the same).
func quantizeShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	if args[0].DType != F32 {
		return Type{}, fmt.Errorf("quantize of %s: needs f32", args[0])
	}
	if err := checkQParams(attrs, "scale", "zero_point"); err != nil {
		return Type{}, err
	}
	in := args[0].Shape
	if len(decl.Shape) > 0 && !decl.Shape.Equal(in) {
		if decl.Shape.HasBatch() != in.HasBatch() || decl.Shape.Elems() != in.Elems() {
			return Type{}, fmt.Errorf("quantize of %s into %s: not as many elements", in, decl.Shape)
		}
		return Type{DType: U8, Shape: decl.Shape}, nil
	}
	return Type{DType: U8, Shape: in}, nil
}

func dequantizeShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	if args[0].DType != U8 {
		return Type{}, fmt.Errorf("dequantize of %s: needs u8", args[0])
	}
	if err := checkQParams(attrs, "scale", "zero_point"); err != nil {
		return Type{}, err
	}
	return Type{DType: F32, Shape: args[0].Shape}, nil
}

// qLayerTypes checks the argument types of QLinear and QConv2d, of out
// outputs, and returns the output's element type.
func qLayerTypes(args []Type, attrs Attrs, what string, out int) (DType, error) {
	x, w, b, s := args[0], args[1], args[2], args[3]
	switch {
	case x.DType != U8 || w.DType != I8 || b.DType != I32 || s.DType != F32:
		return 0, fmt.Errorf("%s of %s, %s, %s, %s: needs u8 input, i8 weight, i32 bias, f32 scales", what, x, w, b, s)
	case !b.Shape.Equal(Shape{out}) || !s.Shape.Equal(Shape{out}):
		return 0, fmt.Errorf("%s bias %s or scales %s do not match weight %s", what, b.Shape, s.Shape, w.Shape)
	}
	if err := checkQParams(attrs, "in_scale", "in_zero_point"); err != nil {
		return 0, err
	}
	if attrs.Bool("float") {
		return F32, nil
	}
	if err := checkQParams(attrs, "out_scale", "out_zero_point"); err != nil {
		return 0, err
	}
	return U8, nil
}

// qLinearShape: QLinear's weight is packed (kernels.QPackLinear, done
// once by the loader), of shape [out rounded up to 16, in rounded up to
// 4]; the scales give out.
func qLinearShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	out := -1
	if s := args[3].Shape; s.Rank() == 1 {
		out = s[0]
	}
	dt, err := qLayerTypes(args, attrs, "qlinear", out)
	if err != nil {
		return Type{}, err
	}
	x, w := args[0].Shape, args[1].Shape
	if x.Rank() != 2 || !w.Equal(QPackedShape(out, x[1])) {
		return Type{}, fmt.Errorf("qlinear of %s with packed weight %s: needs [N, in] and [out rounded up to 16, in rounded up to 4]", x, w)
	}
	return Type{DType: dt, Shape: Shape{x[0], out}}, nil
}

// QPackedShape is the shape of the packed weights of a QLinear of n
// outputs and k inputs, as kernels.QPackedShape gives it.
func QPackedShape(n, k int) Shape {
	return Shape{(n + 15) / 16 * 16, (k + 3) / 4 * 4}
}

// QLinearWeightShape returns the [out, in] shape of the int8 weights that
// w, packed (QPackedShape), holds for the QLinear of g that reads it, or
// nil when no QLinear of g reads w.
func QLinearWeightShape(g *Graph, w *Value) []int {
	for _, v := range g.Values {
		if v.Op == OpQLinear && v.Args[1] == w {
			return []int{v.Type.Shape[1], v.Args[0].Type.Shape[1]}
		}
	}
	return nil
}

func qConvShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	dt, err := qLayerTypes(args, attrs, "qconv2d", args[1].Shape[0])
	if err != nil {
		return Type{}, err
	}
	x, w := args[0].Shape, args[1].Shape
	if x.Rank() != 4 || w.Rank() != 4 || x[1] != w[1] {
		return Type{}, fmt.Errorf("qconv2d of %s with weight %s: needs [N, C, H, W] and [out, C, kh, kw]", x, w)
	}
	s, p := attrs.Int("stride", 1), attrs.Int("padding", 0)
	h, wd := ConvOut(x[2], w[2], s, p), ConvOut(x[3], w[3], s, p)
	if h <= 0 || wd <= 0 {
		return Type{}, fmt.Errorf("qconv2d kernel %d larger than padded input %s", w[2], x)
	}
	return Type{DType: dt, Shape: Shape{x[0], w[0], h, wd}}, nil
}

func qMaxPoolShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	if args[0].DType != U8 {
		return Type{}, fmt.Errorf("qmaxpool2d of %s: needs u8", args[0])
	}
	return maxPoolShape(args, attrs, decl)
}

func lowerQuantize(_ *Graph, v *Value) []Call {
	return []Call{call("Quantize", buf(v), buf(v.Args[0]), flt(v.AttrFloat("scale")), num(v.AttrInt("zero_point")))}
}

func lowerDequantize(_ *Graph, v *Value) []Call {
	return []Call{call("Dequantize", buf(v), buf(v.Args[0]), flt(v.AttrFloat("scale")), num(v.AttrInt("zero_point")))}
}

func lowerQLinear(_ *Graph, v *Value) []Call {
	in, out := v.Args[0].Type.Shape[1], v.Type.Shape[1]
	m, k, n := dim(rows(v.Type.Shape, out)), num(in), num(out)
	x, wt, b, s := buf(v.Args[0]), buf(v.Args[1]), buf(v.Args[2]), buf(v.Args[3])
	xp := scratch(v, 0)
	if v.AttrBool("float") {
		return []Call{call("QLinearFloat", buf(v), x, wt, b, s, xp, m, k, n, flt(v.AttrFloat("in_scale")), flag(v.AttrBool("relu")))}
	}
	return []Call{call("QLinear", buf(v), x, wt, b, s, xp, m, k, n, flt(v.AttrFloat("in_scale")), flt(v.AttrFloat("out_scale")),
		num(v.AttrInt("out_zero_point")), flag(v.AttrBool("relu")))}
}

func lowerQConv(_ *Graph, v *Value) []Call {
	xs, ws := v.Args[0].Type.Shape, v.Args[1].Type.Shape
	cs := Operand{Kind: OpdConvShape, Dims: []Dim{batchN, {C: xs[1]}, {C: xs[2]}, {C: xs[3]}, {C: ws[0]}, {C: ws[2]}, {C: ws[3]},
		{C: v.AttrInt("stride")}, {C: v.AttrInt("padding")}}}
	x, wt, b, s := buf(v.Args[0]), buf(v.Args[1]), buf(v.Args[2]), buf(v.Args[3])
	in, zp := flt(v.AttrFloat("in_scale")), num(v.AttrInt("in_zero_point"))
	if v.AttrBool("float") {
		return []Call{call("QConv2dFloat", buf(v), x, wt, b, s, scratch(v, 0), scratch(v, 1), cs, in, zp, flag(v.AttrBool("relu")))}
	}
	return []Call{call("QConv2d", buf(v), x, wt, b, s, scratch(v, 0), scratch(v, 1), cs, in, zp, flt(v.AttrFloat("out_scale")),
		num(v.AttrInt("out_zero_point")), flag(v.AttrBool("relu")))}
}

// scratchQConv is the unfolded image of an int8 convolution, or its
// direct path's laid-out image, padded row and packed weights, in bytes,
// and the int32 sums of one image with the direct path's tap offsets and
// multipliers, as kernels.QConvScratch sizes them.
func scratchQConv(_ *Graph, v *Value) []Scratch {
	x, w := v.Args[0].Type.Shape, v.Args[1].Type.Shape
	c, k, kh, kw := x[1], w[0], w[2], w[3]
	r, p := c*kh*kw, v.Type.Shape[2]*v.Type.Shape[3]
	stride, pad := v.AttrInt("stride"), v.AttrInt("padding")
	// Words of four channels, or of four kernel columns when that takes
	// fewer taps; rows of the padded width rounded up to a multiple of the
	// stride, 64 bytes of slack; a padded row and 8 bytes; taps and
	// weights.
	groups, tapsRow := (c+3)/4, kw
	if c*((kw+3)/4) < groups*kw {
		groups, tapsRow = c, (kw+3)/4
	}
	wrow := (x[3] + 2*pad + stride - 1) / stride * stride
	in := groups*(x[2]+2*pad)*wrow*4 + 64
	taps, kpad := groups*kh*tapsRow, (k+7)/8*8
	col := max(p*r, in+x[3]+2*pad+8+taps*kpad*4)
	return []Scratch{{Type: Type{DType: U8, Shape: Shape{col}}}, {Type: Type{DType: I32, Shape: Shape{k*p + taps + k}}}}
}

// scratchQLinear is the input padded to a multiple of four per row when
// it is not one, as kernels.QLinearScratch sizes it.
func scratchQLinear(_ *Graph, v *Value) []Scratch {
	k := v.Args[0].Type.Shape[1]
	if k%4 == 0 {
		return []Scratch{{Type: Type{DType: U8, Shape: Shape{0}}}}
	}
	return []Scratch{{Type: Type{DType: U8, Shape: Shape{v.Type.Shape[0], (k + 3) / 4 * 4}}}}
}

func lowerQMaxPool(_ *Graph, v *Value) []Call {
	return []Call{call("QMaxPool2d", buf(v), buf(v.Args[0]), poolShape(v.Args[0].Type.Shape, v))}
}

// lowerReshape copies the elements with the kernel of their type.
func lowerReshape(_ *Graph, v *Value) []Call {
	return []Call{call(copyKernel(v.Type.DType), buf(v), buf(v.Args[0]))}
}

// copyKernel names the kernel that copies values of type t, or "" when
// there is none: the shape rules of the ops that copy (reshape, a
// transpose of an axis with itself) refuse those types at compile time.
func copyKernel(t DType) string {
	switch {
	case t.IsFloat():
		return "Copy"
	case t == I64:
		return "CopyI64"
	case t == U8:
		return "CopyBytes"
	case t == Bool:
		return "CopyBool"
	}
	return ""
}

// qAddShape: QAdd adds two u8 values of one shape (no broadcasting, as
// the residual connections it is made for have none).
func qAddShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	a, b := args[0], args[1]
	if a.DType != U8 || b.DType != U8 || !a.Shape.Equal(b.Shape) {
		return Type{}, fmt.Errorf("qadd of %s and %s: needs two u8 values of one shape", a, b)
	}
	for _, p := range []string{"a", "b", "out"} {
		if err := checkQParams(attrs, p+"_scale", p+"_zero_point"); err != nil {
			return Type{}, err
		}
	}
	return a, nil
}

func lowerQAdd(_ *Graph, v *Value) []Call {
	return []Call{call("QAdd", buf(v), buf(v.Args[0]), buf(v.Args[1]), flt(v.AttrFloat("a_scale")), num(v.AttrInt("a_zero_point")),
		flt(v.AttrFloat("b_scale")), num(v.AttrInt("b_zero_point")), flt(v.AttrFloat("out_scale")), num(v.AttrInt("out_zero_point")),
		flag(v.AttrBool("relu")))}
}
