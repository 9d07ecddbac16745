package ir

import "fmt"

// The ops of differentially private SGD (train key privacy), which the dp
// pass emits after the backward graph: their shape rules, lowerings and
// scratch. Every batched argument has the batch as its first dimension
// and no other, so that example i owns a contiguous slice of it.

// perExample reports whether s is [N, ...] with no other batch dimension.
func perExample(s Shape) bool {
	if s.Rank() < 1 || s[0] != Batch {
		return false
	}
	for _, d := range s[1:] {
		if d == Batch {
			return false
		}
	}
	return true
}

// exampleType is the [N] vector of a per-example quantity.
func exampleType(dt DType) Type { return Type{DType: dt, Shape: Shape{Batch}} }

// checkAcc checks the optional running total argument args[i].
func checkAcc(args []Type, i int) error {
	if len(args) > i && !args[i].Equal(exampleType(args[0].DType)) {
		return shapeErr(ShapeMismatch, i, "per-example total %s, not %s", args[i], exampleType(args[0].DType))
	}
	return nil
}

func rowOuterSqNormShape(args []Type, _ Attrs, _ Type) (Type, error) {
	if err := sameDType(args); err != nil {
		return Type{}, err
	}
	u, v := args[0].Shape, args[1].Shape
	if !args[0].DType.IsFloat() || !perExample(u) || !perExample(v) || u.Rank() != v.Rank() || !u[:u.Rank()-1].Equal(v[:v.Rank()-1]) {
		return Type{}, shapeErr(ShapeMismatch, 0, "per-example norm of the product of %s and %s: needs float [N, ..., m] and [N, ..., k]", u, v)
	}
	if err := checkAcc(args, 2); err != nil {
		return Type{}, err
	}
	return exampleType(args[0].DType), nil
}

// rowOuterDims are the rows per example t and the widths m, k of v's
// RowOuterSqNorm, and whether the Gram form is the cheaper: t²(m+k)
// multiplications against t·m·k.
func rowOuterDims(v *Value) (t, m, k int, gram bool) {
	u, w := v.Args[0].Type.Shape, v.Args[1].Type.Shape
	m, k = u[u.Rank()-1], w[w.Rank()-1]
	t = u[1 : u.Rank()-1].Elems()
	return t, m, k, t > 1 && t*(m+k) < m*k
}

func scratchRowOuterSqNorm(_ *Graph, v *Value) []Scratch {
	t, m, k, gram := rowOuterDims(v)
	switch {
	case t == 1:
		return nil
	case gram:
		return []Scratch{{Type: Type{DType: v.Type.DType, Shape: Shape{2 * t * t}}}}
	}
	return []Scratch{{Type: Type{DType: v.Type.DType, Shape: Shape{m * k}}}}
}

func lowerRowOuterSqNorm(_ *Graph, v *Value) []Call {
	t, m, k, gram := rowOuterDims(v)
	work := none
	if t > 1 {
		work = scratch(v, 0)
	}
	return []Call{call("RowOuterSqNorm", buf(v), buf(v.Args[0]), buf(v.Args[1]), optArg(v, 2), work, num(t), num(m), num(k), flag(gram))}
}

func groupSumSqNormShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	x := args[0]
	c, inner := attrs.Int("c", 0), attrs.Int("inner", 1)
	if !x.DType.IsFloat() || !perExample(x.Shape) || c < 1 || inner < 1 || x.Shape[1:].Elems()%(c*inner) != 0 {
		return Type{}, shapeErr(ShapeMismatch, 0, "per-example norm of %s summed into %d channels of %d", x, c, inner)
	}
	if err := checkAcc(args, 1); err != nil {
		return Type{}, err
	}
	return exampleType(x.DType), nil
}

func lowerGroupSumSqNorm(_ *Graph, v *Value) []Call {
	return []Call{call("GroupSumSqNorm", buf(v), buf(v.Args[0]), optArg(v, 1), num(v.AttrInt("c")), num(v.AttrInt("inner")))}
}

func convSqNormShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	y, err := conv2dShape(args[1:3], attrs, decl)
	if err != nil {
		return Type{}, err
	}
	if !y.Equal(args[0]) || !perExample(y.Shape) {
		return Type{}, fmt.Errorf("conv2d per-example norm of a gradient %s for an output of type %s", args[0], y)
	}
	if err := checkAcc(args, 3); err != nil {
		return Type{}, err
	}
	return exampleType(args[0].DType), nil
}

// convSqNormGram reports whether the Gram form over output positions is
// the cheaper for ConvSqNorm v: P²(C·k² + K) multiplications against
// P·C·k²·K for the example's gradient itself.
func convSqNormGram(v *Value) (gram bool, p, ckk, k int) {
	x, w := v.Args[1].Type.Shape, v.Args[2].Type.Shape
	s, pad := v.AttrInt("stride"), v.AttrInt("padding")
	p = ConvOut(x[2], w[2], s, pad) * ConvOut(x[3], w[3], s, pad)
	ckk, k = w[1]*w[2]*w[3], w[0]
	return p*(ckk+k) < ckk*k, p, ckk, k
}

func scratchConvSqNorm(_ *Graph, v *Value) []Scratch {
	gram, p, ckk, k := convSqNormGram(v)
	work := ckk * k
	if gram {
		work = 2 * p * p
	}
	return []Scratch{
		{Type: convColType(v.Type.DType, v.Args[1].Type.Shape, v.Args[2].Type.Shape, v)},
		{Type: Type{DType: v.Type.DType, Shape: Shape{work}}},
	}
}

func lowerConvSqNorm(_ *Graph, v *Value) []Call {
	gram, _, _, _ := convSqNormGram(v)
	x, w := v.Args[1].Type.Shape, v.Args[2].Type.Shape
	return []Call{call("ConvSqNorm", buf(v), buf(v.Args[0]), buf(v.Args[1]), optArg(v, 3), scratch(v, 0), scratch(v, 1), convShape(x, w, v), flag(gram))}
}

func clipFactorShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	if !args[0].DType.IsFloat() || !args[0].Equal(exampleType(args[0].DType)) {
		return Type{}, shapeErr(ShapeMismatch, 0, "clipping factors of %s, not a per-example total [N]", args[0])
	}
	if c := attrs.Float("clip", 0); !(c > 0) {
		return Type{}, fmt.Errorf("per-example clipping norm must be positive, got %v", c)
	}
	return args[0], nil
}

func lowerClipFactor(_ *Graph, v *Value) []Call {
	return []Call{call("ClipFactor", buf(v), buf(v.Args[0]), flt(v.AttrFloat("clip")))}
}

func scaleRowsShape(args []Type, _ Attrs, _ Type) (Type, error) {
	if err := sameDType(args); err != nil {
		return Type{}, err
	}
	if !args[0].DType.IsFloat() || !perExample(args[0].Shape) || !args[1].Equal(exampleType(args[0].DType)) {
		return Type{}, shapeErr(ShapeMismatch, 0, "per-example scaling of %s by %s: needs [N, ...] and [N]", args[0], args[1])
	}
	return args[0], nil
}

func dpNoiseShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	if !args[0].DType.IsFloat() || args[0].Shape.HasBatch() {
		return Type{}, shapeErr(ShapeDType, 0, "noise on %s: needs a float gradient of fixed shape", args[0])
	}
	if s := attrs.Float("std", 0); s < 0 {
		return Type{}, fmt.Errorf("noise standard deviation %v is negative", s)
	}
	return args[0], nil
}

func lowerDPNoise(_ *Graph, v *Value) []Call {
	return []Call{call("DPNoise", buf(v), buf(v.Args[0]), flt(v.AttrFloat("std")), flt(v.AttrFloat("scale")), rng)}
}
