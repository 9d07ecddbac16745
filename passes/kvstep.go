package passes

import (
	"fmt"

	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/ir"
)

// Names of the state of a step graph (KVStep).
const (
	// StepToken is the i64[1, 1] state holding the id a step feeds.
	StepToken = "step.token"
	// StepPos is the i64[1] state holding its position, 0 ≤ pos < T.
	StepPos = "step.pos"
)

// StepCache returns the names of the key and value caches of the i-th
// attention of a step graph, in the order of the forward pass.
func StepCache(i int) (k, v string) {
	return fmt.Sprintf("step.cache.%d.k", i), fmt.Sprintf("step.cache.%d.v", i)
}

// KVStep derives from the forward pass of a causal token model (ids
// i64[N, T] to scores [N, T, C]) the graph of one sampling step at batch
// 1: it reads the id in state StepToken at the position in state StepPos
// and returns in "out" the scores [1, 1, C] that the forward pass gives at
// that position when positions 0 to pos hold the ids fed so far. Each
// causal attention keeps the keys and values of the positions fed so far
// in two state caches [1, heads, T, E] (StepCache), which the step writes
// its row into (outputs of the same names, written back after the step)
// and attends over up to pos; arange(T) (the positions) becomes pos.
//
// The rewrite follows the time axis (the input's second) through each
// value, shrinking it to 1. Ops that act on each position alone (element-
// wise ops, Linear, LayerNorm, Embedding, softmax over another axis,
// reshapes and transposes that keep the axis whole) take the position's
// row; causal attention reads the caches. Anything else that mixes
// positions (attention without the causal mask, sums over time, a
// parameter broadcast along time) makes the model's output at a position
// depend on later ones or on all of them, and KVStep returns an error
// saying which op: the sampler then runs the whole forward pass.
//
// The graph is not yet through the passes: give it to Run with a plan.
func KVStep(fwd *ir.Graph) (step *ir.Graph, err error) {
	defer func() {
		if r := recover(); r != nil {
			step, err = nil, fmt.Errorf("cannot derive a step graph: %v", r)
		}
	}()
	ins := fwd.Sources(ir.OpInput)
	out := fwd.Output("out")
	if len(ins) != 1 || out == nil {
		return nil, fmt.Errorf("a step graph needs one input and an output")
	}
	in := ins[0]
	if in.Type.DType != ir.I64 || in.Type.Shape.Rank() != 2 || in.Type.Shape[0] != ir.Batch {
		return nil, fmt.Errorf("a step graph needs token ids i64[N, T] as input, not %s", in.Type)
	}
	ctx := in.Type.Shape[1]
	s := &stepper{g: ir.NewGraph(fwd.Name+".step", fwd.File), ctx: ctx, nv: map[*ir.Value]*ir.Value{}, axis: map[*ir.Value]int{}}
	s.g.Attrs = ir.Attrs{}.Set("batch", 1)
	for _, v := range fwd.Values {
		if err := s.value(v); err != nil {
			return nil, fmt.Errorf("%s at %s: %v", v.Op, v.Pos, err)
		}
	}
	o := s.nv[out]
	if a, ok := s.axis[out]; !ok || a != 1 || out.Type.Shape.Rank() != 3 {
		return nil, fmt.Errorf("the output %s is not [N, T, C] scores per position", out.Type)
	}
	s.g.SetOutput("out", o)
	for _, c := range s.caches {
		s.g.SetOutput(c.Name, c)
	}
	return s.g, nil
}

type stepper struct {
	g    *ir.Graph
	ctx  int
	nv   map[*ir.Value]*ir.Value // forward value → step value
	axis map[*ir.Value]int       // forward value → its time axis, when it has one
	pos  *ir.Value               // the StepPos state
	// caches are the cache writes, outputs named after their state.
	caches []*ir.Value
}

// shrink returns s with the batch at 1 and, when axis ≥ 0, axis at 1.
func shrink(s ir.Shape, axis int) ir.Shape {
	t := s.Clone()
	for i, d := range t {
		if d == ir.Batch || i == axis {
			t[i] = 1
		}
	}
	return t
}

func (s *stepper) position() *ir.Value {
	if s.pos == nil {
		s.pos = s.g.NewDeclared(ir.OpState, ir.Type{DType: ir.I64, Shape: ir.Shape{1}}, nil, diag.Pos{})
		s.pos.Name = StepPos
	}
	return s.pos
}

func (s *stepper) value(v *ir.Value) error {
	args := make([]*ir.Value, len(v.Args))
	timed := -1 // an argument with a time axis
	for i, a := range v.Args {
		args[i] = s.nv[a]
		if _, ok := s.axis[a]; ok && timed < 0 {
			timed = i
		}
	}
	set := func(nv *ir.Value, axis int) error {
		nv.Name = v.Name
		s.nv[v] = nv
		if axis >= 0 {
			s.axis[v] = axis
		}
		return nil
	}
	ax := func(i int) (int, bool) { a, ok := s.axis[v.Args[i]]; return a, ok }
	switch v.Op {
	case ir.OpInput:
		t := s.g.NewDeclared(ir.OpState, ir.Type{DType: ir.I64, Shape: ir.Shape{1, 1}}, nil, v.Pos)
		t.Name = StepToken
		s.nv[v], s.axis[v] = t, 1
		return nil
	case ir.OpParam, ir.OpBuffer, ir.OpConst:
		return set(s.g.NewDeclared(v.Op, v.Type, v.Attrs, v.Pos), -1)
	case ir.OpArange:
		if v.AttrInt("n") != s.ctx {
			break // a constant unrelated to the positions
		}
		s.nv[v], s.axis[v] = s.position(), 0
		return nil
	}
	if timed < 0 {
		// Nothing here depends on the position: the same computation.
		if v.Op.Info().Source && v.Op != ir.OpConst {
			return fmt.Errorf("%s is not supported in a step graph", v.Op)
		}
		if v.Op.Info().Declared {
			return set(s.g.NewDeclared(v.Op, ir.Type{DType: v.Type.DType, Shape: shrink(v.Type.Shape, -1)}, v.Attrs, v.Pos, args...), -1)
		}
		return set(s.g.NewValue(v.Op, v.Attrs, v.Pos, args...), -1)
	}
	rank := v.Type.Shape.Rank()
	switch v.Op {
	case ir.OpNeg, ir.OpRelu, ir.OpSigmoid, ir.OpTanh, ir.OpGelu:
		a, _ := ax(0)
		return set(s.g.NewValue(v.Op, v.Attrs, v.Pos, args...), a)
	case ir.OpAdd, ir.OpSub, ir.OpMul, ir.OpDiv:
		out := -1
		for i, a := range v.Args {
			r := a.Type.Shape.Rank()
			if t, ok := ax(i); ok {
				o := rank - r + t
				if out >= 0 && o != out {
					return fmt.Errorf("the positions of %s and %s do not line up", v.Args[0].Type, v.Args[1].Type)
				}
				out = o
			}
		}
		for i, a := range v.Args {
			r := a.Type.Shape.Rank()
			if _, ok := ax(i); !ok && out-(rank-r) >= 0 && a.Type.Shape[out-(rank-r)] != 1 {
				return fmt.Errorf("%s broadcasts a tensor %s that is not the same at every position", v.Op, a.Type)
			}
		}
		return set(s.g.NewValue(v.Op, v.Attrs, v.Pos, args...), out)
	case ir.OpLinear, ir.OpLinearRelu, ir.OpLayerNorm:
		a, _ := ax(0)
		if timed != 0 || a == v.Args[0].Type.Shape.Rank()-1 || s.anyTimed(v.Args[1:]) {
			return fmt.Errorf("%s mixes positions", v.Op)
		}
		return set(s.g.NewValue(v.Op, v.Attrs, v.Pos, args...), a)
	case ir.OpMatMul:
		a, _ := ax(0)
		if timed != 0 || v.AttrBool("ta") || a >= v.Args[0].Type.Shape.Rank()-1 || s.anyTimed(v.Args[1:]) {
			return fmt.Errorf("a product mixes positions")
		}
		return set(s.g.NewValue(v.Op, v.Attrs, v.Pos, args...), rank-v.Args[0].Type.Shape.Rank()+a)
	case ir.OpSoftmax, ir.OpLogSoftmax, ir.OpSum, ir.OpMean:
		a, _ := ax(0)
		d, ok := ir.NormAxis(v.AttrInt("dim"), v.Args[0].Type.Shape.Rank())
		if !ok || d == a {
			return fmt.Errorf("%s over the positions", v.Op)
		}
		if (v.Op == ir.OpSum || v.Op == ir.OpMean) && d < a {
			a--
		}
		return set(s.g.NewValue(v.Op, v.Attrs, v.Pos, args...), a)
	case ir.OpEmbedding:
		a, _ := ax(0)
		if timed != 0 || s.anyTimed(v.Args[1:]) {
			return fmt.Errorf("an embedding whose table depends on the position")
		}
		return set(s.g.NewValue(v.Op, v.Attrs, v.Pos, args...), a)
	case ir.OpTranspose:
		a, _ := ax(0)
		r := v.Args[0].Type.Shape.Rank()
		d0, _ := ir.NormAxis(v.AttrInt("d0"), r)
		d1, _ := ir.NormAxis(v.AttrInt("d1"), r)
		switch a {
		case d0:
			a = d1
		case d1:
			a = d0
		}
		return set(s.g.NewValue(v.Op, v.Attrs, v.Pos, args...), a)
	case ir.OpReshape:
		a, _ := ax(0)
		in, out := shrink(v.Args[0].Type.Shape, -1), shrink(v.Type.Shape, -1)
		before := 1
		for _, d := range in[:a] {
			before *= d
		}
		o, acc := -1, 1
		for i, d := range out {
			if acc == before && d == in[a] {
				o = i
				break
			}
			acc *= d
		}
		if o < 0 {
			return fmt.Errorf("a reshape from %s to %s splits or merges the positions", v.Args[0].Type, v.Type)
		}
		out[o] = 1
		return set(s.g.NewDeclared(v.Op, ir.Type{DType: v.Type.DType, Shape: out}, v.Attrs, v.Pos, args...), o)
	case ir.OpAttention:
		for i := range 3 {
			if a, ok := ax(i); !ok || a != rank-2 {
				return fmt.Errorf("attention whose rows are not the positions")
			}
		}
		if !v.AttrBool("causal") {
			return fmt.Errorf("attention without the causal mask sees later positions")
		}
		pos := s.position()
		kc := s.cache(v.Args[1], len(s.caches)/2, 0, pos, args[1])
		vc := s.cache(v.Args[2], len(s.caches)/2, 1, pos, args[2])
		return set(s.g.NewValue(ir.OpAttentionStep, nil, v.Pos, args[0], kc, vc, pos), rank-2)
	}
	return fmt.Errorf("%s of values that depend on the position", v.Op)
}

// cache returns the cache of the keys (which 0) or values (1) of the i-th
// attention, x [N, ..., T, E] of the forward pass, with row x' written at pos.
func (s *stepper) cache(x *ir.Value, i, which int, pos, row *ir.Value) *ir.Value {
	k, v := StepCache(i)
	name := []string{k, v}[which]
	st := s.g.NewDeclared(ir.OpState, ir.Type{DType: x.Type.DType, Shape: shrink(x.Type.Shape, -1)}, nil, x.Pos)
	st.Name = name
	w := s.g.NewValue(ir.OpKVCacheWrite, nil, x.Pos, st, row, pos)
	w.Name = name
	s.caches = append(s.caches, w)
	return w
}

func (s *stepper) anyTimed(vs []*ir.Value) bool {
	for _, a := range vs {
		if _, ok := s.axis[a]; ok {
			return true
		}
	}
	return false
}
