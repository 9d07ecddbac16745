package passes

import (
	"fmt"
	"strings"

	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/ir"
)

// QLayer is what an int8 checkpoint (nnc quantize) says of one quantized
// layer: the scale and zero point of its input and of its output, both u8
// tensors (real = scale·(q − zero_point)).
//
// A residual Add (Add bool, named as Int8Adds names it) has only its
// output's scale and zero point: its operands keep their own.
type QLayer struct {
	InScale   float64
	InZP      int
	OutScale  float64
	OutZP     int
	Conv      bool // a Conv2d, else a Linear
	OutShape0 int  // output channels (the weight's first dimension)
	Add       bool // a residual Add (Int8Adds), which only has OutScale and OutZP
	// Float keeps the layer's output f32 whatever reads it (its
	// checkpoint has no output scale): an ONNX QDQ model's layer whose
	// output no QuantizeLinear alone reads.
	Float bool
	// U8 stores the layer's (or Add's) output u8 whatever reads it, the
	// f32 readers reading it dequantized, rather than f32 when an f32 op
	// reads it: an ONNX QDQ model's, whose every reader reads it rounded.
	U8 bool
}

// Quantize rewrites the forward graph g, which the pipeline has fused, to
// compute in int8 the layers that layers names (by the state_dict prefix
// of their weight, "fc1"): each Linear, LinearRelu, Conv2d or Conv2dRelu
// (batch norm folded in: the checkpoint's weights are folded) becomes a
// QLinear or QConv2d over i8 weights, with its ReLU a clamp in the store.
// A layer whose every use is another int8 layer, a max pooling or a
// reshape hands on u8 values requantized in its store; max pooling and
// reshapes of u8 values stay u8 (QMaxPool2d, a u8 Reshape), and an Add of
// two u8 values of one shape (a residual connection, ReLU after it fused)
// that layers names as Int8Adds does becomes a QAdd. Everything
// else stays f32: the pass places a Quantize before an int8 layer whose
// input is f32 and a Dequantize after a u8 value an f32 op reads, so `nnc
// ir` shows every conversion. The parameters the f32 layers read and no
// longer needed are removed; the memory plan is made again.
func Quantize(g *ir.Graph, layers map[string]QLayer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: panic during quantize: %v", r)
		}
	}()
	uses := map[*ir.Value][]*ir.Value{}
	for _, v := range g.Values {
		for _, a := range v.Args {
			uses[a] = append(uses[a], v)
		}
	}
	output := map[*ir.Value]bool{}
	for _, o := range g.Outputs {
		output[o.Value] = true
	}
	layerOf := func(v *ir.Value) (string, QLayer, bool) {
		name, conv, ok := Int8Candidate(v)
		if !ok {
			return "", QLayer{}, false
		}
		l, ok := layers[name]
		if !ok || l.Conv != conv || l.OutShape0 != v.Type.Shape[1] {
			return "", QLayer{}, false
		}
		return name, l, true
	}
	found, nadds := 0, 0
	for _, v := range g.Values {
		if _, _, ok := layerOf(v); ok {
			found++
		}
	}
	for _, l := range layers {
		if l.Add {
			nadds++
		}
	}
	if found != len(layers)-nadds {
		return fmt.Errorf("the int8 checkpoint quantizes %d layers, the model has %d of them", len(layers)-nadds, found)
	}
	// The residual Adds the checkpoint quantizes; an Add it has no
	// parameters for stays f32.
	all := Int8Adds(g)
	names := map[string]bool{}
	for _, a := range all {
		names[a.Name] = true
	}
	for name, l := range layers {
		if l.Add && !names[name] {
			return fmt.Errorf("the int8 checkpoint quantizes a residual add %s, the model has no such Add of two int8 values", name)
		}
	}
	adds := map[*ir.Value]Int8Add{}
	inner := map[*ir.Value]bool{} // the Add of an Add+ReLU
	// takesU8 reports whether u reads its argument a as u8 when a is.
	takesU8 := func(u *ir.Value) bool {
		if _, _, ok := layerOf(u); ok {
			return true
		}
		_, add := adds[u]
		return add || inner[u] || u.Op == ir.OpMaxPool2d || u.Op == ir.OpReshape
	}
	// allU8 reports whether every use of v reads it as u8: a layer or an
	// Add that hands on f32 (an output, or one an f32 op reads) computes
	// it in f32 rather than rounding it to u8 first.
	allU8 := func(v *ir.Value) bool {
		ok := !output[v] && len(uses[v]) > 0
		for _, u := range uses[v] {
			ok = ok && takesU8(u)
		}
		return ok
	}
	// From the last Add back, as an Add's uses come after it.
	for i := len(all) - 1; i >= 0; i-- {
		a := all[i]
		if l, ok := layers[a.Name]; ok && l.Add && (l.U8 || allU8(a.Value)) {
			adds[a.Value] = a
			if a.Relu {
				inner[a.Value.Args[0]] = true
			}
		}
	}

	type qval struct {
		v     *ir.Value
		scale float64
		zp    int
	}
	qv := map[*ir.Value]qval{}        // a replaced f32 value → its u8 form
	repl := map[*ir.Value]*ir.Value{} // a replaced f32 value → its f32 replacement
	quantized := map[[3]any]*ir.Value{}
	old := g.Values
	g.Values = nil
	getFloat := func(x *ir.Value) *ir.Value {
		if r, ok := repl[x]; ok {
			return r
		}
		q, ok := qv[x]
		if !ok {
			return x
		}
		d := g.NewValue(ir.OpDequantize, ir.Attrs{{Key: "scale", Val: q.scale}, {Key: "zero_point", Val: q.zp}}, x.Pos, q.v)
		repl[x] = d
		return d
	}
	getU8 := func(x *ir.Value, scale float64, zp int) *ir.Value {
		if q, ok := qv[x]; ok && q.scale == scale && q.zp == zp {
			return q.v
		}
		key := [3]any{x, scale, zp}
		if q, ok := quantized[key]; ok {
			return q
		}
		attrs := ir.Attrs{{Key: "scale", Val: scale}, {Key: "zero_point", Val: zp}}
		f := getFloat(x)
		var q *ir.Value
		if f.Op == ir.OpReshape && f.Args[0].Type.DType == ir.F32 {
			// A flatten before the first layer: quantized from its
			// input into its shape, with no copy of the floats.
			q = g.NewDeclared(ir.OpQuantize, ir.Type{DType: ir.U8, Shape: f.Type.Shape.Clone()}, attrs, x.Pos, f.Args[0])
		} else {
			q = g.NewValue(ir.OpQuantize, attrs, x.Pos, f)
		}
		quantized[key] = q
		return q
	}
	param := func(name string, t ir.Type, pos diag.Pos) *ir.Value {
		p := g.NewDeclared(ir.OpParam, t, nil, pos)
		p.Name = name
		return p
	}
	for _, v := range old {
		if name, l, ok := layerOf(v); ok {
			toU8 := !l.Float && (l.U8 || allU8(v))
			x := getU8(v.Args[0], l.InScale, l.InZP)
			ws := v.Args[1].Type.Shape
			if v.Args[1].Op == ir.OpBNFoldWeight {
				ws = v.Args[1].Args[0].Type.Shape
			}
			w := param(name+".weight", ir.Type{DType: ir.I8, Shape: ws.Clone()}, v.Pos)
			if !l.Conv {
				// A Linear's weights packed for the kernels, once by
				// the loader (kernels.QPackLinear).
				w = param(name+".qweight", ir.Type{DType: ir.I8, Shape: ir.QPackedShape(ws[0], ws[1])}, v.Pos)
			}
			b := param(name+".qbias", ir.Type{DType: ir.I32, Shape: ir.Shape{ws[0]}}, v.Pos)
			s := param(name+".weight_scale", ir.Type{DType: ir.F32, Shape: ir.Shape{ws[0]}}, v.Pos)
			relu := v.Op == ir.OpLinearRelu || v.Op == ir.OpConv2dRelu
			var attrs ir.Attrs
			op := ir.OpQLinear
			if l.Conv {
				op = ir.OpQConv2d
				attrs = ir.Attrs{{Key: "stride", Val: v.AttrInt("stride")}, {Key: "padding", Val: v.AttrInt("padding")}}
			}
			attrs = append(attrs, ir.Attrs{{Key: "in_scale", Val: l.InScale}, {Key: "in_zero_point", Val: l.InZP}}...)
			if toU8 {
				attrs = append(attrs, ir.Attrs{{Key: "out_scale", Val: l.OutScale}, {Key: "out_zero_point", Val: l.OutZP}}...)
			}
			attrs = append(attrs, ir.Attrs{{Key: "relu", Val: relu}, {Key: "float", Val: !toU8}}...)
			nv := g.NewValue(op, attrs, v.Pos, x, w, b, s)
			nv.Name = v.Name
			if toU8 {
				qv[v] = qval{nv, l.OutScale, l.OutZP}
			} else {
				repl[v] = nv
			}
			continue
		}
		if inner[v] {
			continue // made with the ReLU after it
		}
		if a, ok := adds[v]; ok {
			add := v
			if a.Relu {
				add = v.Args[0]
			}
			qa, oka := qv[add.Args[0]]
			qb, okb := qv[add.Args[1]]
			if !oka || !okb {
				// An operand some f32 op reads too stays f32: so does
				// the sum.
				if a.Relu {
					for i, x := range add.Args {
						add.Args[i] = getFloat(x)
					}
					g.Values = append(g.Values, add)
				}
				for i, x := range v.Args {
					v.Args[i] = getFloat(x)
				}
				g.Values = append(g.Values, v)
				continue
			}
			l := layers[a.Name]
			nv := g.NewValue(ir.OpQAdd, ir.Attrs{{Key: "a_scale", Val: qa.scale}, {Key: "a_zero_point", Val: qa.zp},
				{Key: "b_scale", Val: qb.scale}, {Key: "b_zero_point", Val: qb.zp},
				{Key: "out_scale", Val: l.OutScale}, {Key: "out_zero_point", Val: l.OutZP}, {Key: "relu", Val: a.Relu}},
				v.Pos, qa.v, qb.v)
			nv.Name = v.Name
			qv[v] = qval{nv, l.OutScale, l.OutZP}
			continue
		}
		if q, ok := qv[firstArg(v)]; ok && (v.Op == ir.OpMaxPool2d || v.Op == ir.OpReshape) {
			var nv *ir.Value
			if v.Op == ir.OpMaxPool2d {
				nv = g.NewValue(ir.OpQMaxPool2d, v.Attrs, v.Pos, q.v)
			} else {
				nv = g.NewDeclared(ir.OpReshape, ir.Type{DType: ir.U8, Shape: v.Type.Shape.Clone()}, v.Attrs, v.Pos, q.v)
			}
			nv.Name = v.Name
			qv[v] = qval{nv, q.scale, q.zp}
			continue
		}
		for i, a := range v.Args {
			v.Args[i] = getFloat(a)
		}
		g.Values = append(g.Values, v)
	}
	for i := range g.Outputs {
		g.Outputs[i].Value = getFloat(g.Outputs[i].Value)
	}
	if err := deadcode(g); err != nil {
		return err
	}
	// The f32 parameters of the replaced layers (and batch norms folded
	// into them) are read by nothing now.
	used := map[*ir.Value]bool{}
	for _, v := range g.Values {
		for _, a := range v.Args {
			used[a] = true
		}
	}
	g.Retain(func(v *ir.Value) bool {
		return (v.Op != ir.OpParam && v.Op != ir.OpBuffer) || used[v]
	})
	if err := ir.Verify(g); err != nil {
		return fmt.Errorf("internal error: after quantize: %v", err)
	}
	return memplan(g)
}

func firstArg(v *ir.Value) *ir.Value {
	if len(v.Args) == 0 {
		return nil
	}
	return v.Args[0]
}

// Int8Candidate reports whether v is a layer Quantize can run in int8: a
// Linear or LinearRelu over [N, in], or a Conv2d or Conv2dRelu, whose
// weight is a parameter NAME.weight (or one folded with a batch norm). It
// returns NAME and whether v is a convolution.
func Int8Candidate(v *ir.Value) (name string, conv, ok bool) {
	conv = v.Op == ir.OpConv2d || v.Op == ir.OpConv2dRelu
	if !conv && v.Op != ir.OpLinear && v.Op != ir.OpLinearRelu {
		return "", false, false
	}
	if !conv && v.Args[0].Type.Shape.Rank() != 2 {
		return "", false, false
	}
	if v.Args[0].Type.DType != ir.F32 {
		return "", false, false
	}
	w := v.Args[1]
	if w.Op == ir.OpBNFoldWeight {
		w = w.Args[0]
	}
	name, ok = strings.CutSuffix(w.Name, ".weight")
	if w.Op != ir.OpParam || !ok {
		return "", false, false
	}
	return name, conv, true
}

// Int8Add is a residual Add Quantize can run in int8.
type Int8Add struct {
	Name  string    // "add0", "add1", ... in the order of the graph
	Value *ir.Value // the Add, or the ReLU over it
	Relu  bool      // Value is relu(Add), the ReLU fused
}

// Int8Adds returns the Adds of g, a fused forward graph, that Quantize can
// run in int8 given every Int8Candidate layer quantized: an Add of two f32
// values of its own shape that are each an int8 layer's output, or max
// pooling, reshapes or such an Add of one. A ReLU that alone reads such an
// Add is fused into it: its value is the ReLU. Their names, add0, add1, ...
// in the order of the graph, are those of the int8 checkpoint's tensors
// addK.output_scale and addK.output_zero_point.
func Int8Adds(g *ir.Graph) []Int8Add {
	uses := map[*ir.Value]int{}
	for _, v := range g.Values {
		for _, a := range v.Args {
			uses[a]++
		}
	}
	for _, o := range g.Outputs {
		uses[o.Value]++
	}
	u8 := map[*ir.Value]bool{}
	isAdd := func(v *ir.Value) bool {
		return v.Op == ir.OpAdd && v.Type.DType == ir.F32 && u8[v.Args[0]] && u8[v.Args[1]] &&
			v.Args[0].Type.Equal(v.Type) && v.Args[1].Type.Equal(v.Type)
	}
	var adds []Int8Add
	at := map[*ir.Value]int{} // an Add → its index in adds
	for _, v := range g.Values {
		if _, _, ok := Int8Candidate(v); ok {
			u8[v] = true
			continue
		}
		switch {
		case (v.Op == ir.OpMaxPool2d || v.Op == ir.OpReshape) && u8[v.Args[0]]:
			u8[v] = true
		case v.Op == ir.OpRelu && isAdd(v.Args[0]) && uses[v.Args[0]] == 1:
			adds[at[v.Args[0]]] = Int8Add{Value: v, Relu: true}
			u8[v] = true
		case isAdd(v):
			at[v] = len(adds)
			adds = append(adds, Int8Add{Value: v})
			u8[v] = true
		}
	}
	for i := range adds {
		adds[i].Name = fmt.Sprintf("add%d", i)
	}
	return adds
}
