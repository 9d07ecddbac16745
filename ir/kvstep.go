package ir

// The ops of the one-position step graph that sampling with a KV cache
// runs (passes.KVStep derives it from a causal model's forward pass).

// stepPosType checks the position argument: an i64[1] tensor.
func stepPosType(t Type, i int) error {
	if t.DType != I64 || !t.Shape.Equal(Shape{1}) {
		return shapeErr(ShapeDType, i, "the step position must be i64[1], is %s", t)
	}
	return nil
}

// kvCacheWriteShape: the cache [..., S, E] keeps its type; x is [..., 1, E]
// with the cache's leading dimensions.
func kvCacheWriteShape(args []Type, _ Attrs, _ Type) (Type, error) {
	c, x := args[0], args[1]
	if err := sameDType(args[:2]); err != nil {
		return Type{}, err
	}
	r := c.Shape.Rank()
	if r < 2 || x.Shape.Rank() != r || !x.Shape[:r-2].Equal(c.Shape[:r-2]) || x.Shape[r-2] != 1 || x.Shape[r-1] != c.Shape[r-1] || c.Shape.HasBatch() {
		return Type{}, shapeErr(ShapeMismatch, 1, "a cache %s takes rows [..., 1, E] of its leading dimensions and width, not %s", c.Shape, x.Shape)
	}
	if err := stepPosType(args[2], 2); err != nil {
		return Type{}, err
	}
	return c, nil
}

// attentionStepShape is Attention's rule for one query row.
func attentionStepShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	t, err := attentionShape(args[:3], attrs, decl)
	if err != nil {
		return Type{}, err
	}
	if q := args[0].Shape; q[q.Rank()-2] != 1 || q.HasBatch() {
		return Type{}, shapeErr(ShapeMismatch, 0, "a step attends from one query row [..., 1, E], not %s", q)
	}
	if err := stepPosType(args[3], 3); err != nil {
		return Type{}, err
	}
	return t, nil
}

func lowerKVCacheWrite(_ *Graph, v *Value) []Call {
	c := v.Type.Shape
	r := c.Rank()
	return []Call{call("KVCacheWrite", buf(v), buf(v.Args[0]), buf(v.Args[1]), buf(v.Args[2]), dim(elems(c[:r-2])), num(c[r-2]), num(c[r-1]))}
}

// scratchAttentionStep is the probabilities [..., S].
func scratchAttentionStep(_ *Graph, v *Value) []Scratch {
	k := v.Args[1].Type.Shape
	r := k.Rank()
	return []Scratch{{Type: Type{DType: v.Type.DType, Shape: append(k[:r-2].Clone(), k[r-2])}}}
}

func lowerAttentionStep(_ *Graph, v *Value) []Call {
	n, _, s, e, ev := attentionDims(v)
	return []Call{call("AttentionStep", buf(v), scratch(v, 0), buf(v.Args[0]), buf(v.Args[1]), buf(v.Args[2]), buf(v.Args[3]),
		dim(n), num(s), num(e), num(ev))}
}
