package codegen

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/nnc-go/nnc/ir"
)

// graph returns the statements computing gr's values for a batch of n rows,
// in order. prefix ("f", "t") keeps the fields of two graphs apart.
func (g *gen) graph(gr *ir.Graph, prefix string) string {
	e := &emitter{g: g, gr: gr, pre: prefix, elemSize: map[string]int{"float32": 4, "float64": 8}[g.elem], shared: map[int]string{}}
	fmt.Fprintf(&g.fields, "arena%s []%s // the memory plan of %s: %d bytes\n", prefix, g.elem, comment(gr.Name), gr.Plan.ArenaBytes)
	fmt.Fprintf(&g.inits, "m.arena%s = make([]%s, %d)\n", prefix, g.elem, (gr.Plan.ArenaBytes+e.elemSize-1)/e.elemSize)
	if prefix != "t" {
		e.hoist()
	}
	for _, v := range gr.Values {
		if g.hoisted[v] {
			// Computed from the weights alone: once per change of the
			// weights, in prepare, into storage of its own.
			body := e.body
			e.body = bytes.Buffer{}
			e.field(fmt.Sprintf("%sh%d", prefix, v.ID), "[]"+g.elem, fmt.Sprintf("make([]%s, %d)", g.elem, v.Type.Shape.Elems()))
			e.value(v)
			e.prep.Write(e.body.Bytes())
			e.body = body
			continue
		}
		e.value(v)
	}
	if e.prep.Len() == 0 {
		return e.body.String()
	}
	g.stale = append(g.stale, prefix)
	e.field("stale"+prefix, "bool", "true")
	fmt.Fprintf(&g.extra, "// prepare%s computes the values of %s that depend on the weights\n// alone (batch norm folded into a layer), after the weights change.\nfunc (m *Model) prepare%s() {\n%s}\n\n", prefix, comment(gr.Name), prefix, e.prep.String())
	return fmt.Sprintf("if m.stale%s {\nm.prepare%s()\nm.stale%s = false\n}\n", prefix, prefix, prefix) + e.body.String()
}

// hoist marks the values computed from parameters, buffers and constants
// alone: the same for every call until the weights change.
func (e *emitter) hoist() {
	for _, v := range e.gr.Values {
		if v.Op.Info().Source || v.Type.Shape.HasBatch() || !v.Type.DType.IsFloat() || len(v.Args) == 0 {
			continue
		}
		ok := true
		for _, a := range v.Args {
			switch {
			case a.Op == ir.OpParam || a.Op == ir.OpBuffer || a.Op == ir.OpConst:
			case e.g.hoisted[a]:
			default:
				ok = false
			}
		}
		if ok {
			e.g.hoisted[v] = true
		}
	}
}

type emitter struct {
	g        *gen
	gr       *ir.Graph
	pre      string
	elemSize int
	cur      int // the ID of the value being emitted
	body     bytes.Buffer
	shared   map[int]string // gradients computed early, by value ID: their buffers
	prep     bytes.Buffer   // the statements of prepare
}

func (e *emitter) line(format string, args ...any) {
	fmt.Fprintf(&e.body, format, args...)
	e.body.WriteByte('\n')
}

// field declares a field of Model and its initialisation in New.
func (e *emitter) field(name, typ, init string) string {
	fmt.Fprintf(&e.g.fields, "%s %s\n", name, typ)
	if init != "" {
		fmt.Fprintf(&e.g.inits, "m.%s = %s\n", name, init)
	}
	return "m." + name
}

// dim is a dimension as a Go expression: n for the batch.
func dim(d int) string {
	if d == ir.Batch {
		return "n"
	}
	return strconv.Itoa(d)
}

// prod multiplies dimensions into one Go expression, constants folded.
func prod(dims []int) string { return rowsExpr(dims, 1) }

// slice is the Go expression of value v's buffer for the current batch.
func (g *gen) slice(gr *ir.Graph, v *ir.Value) string {
	size := prod(v.Type.Shape)
	pre := map[*ir.Graph]string{g.p.Forward: "f", g.p.TrainGraph: "t", g.p.EvalGraph: "e"}[gr]
	if g.hoisted[v] {
		return fmt.Sprintf("m.%sh%d", pre, v.ID)
	}
	switch v.Op {
	case ir.OpInput:
		return "x[:" + size + "]"
	case ir.OpTarget:
		return "y[:" + size + "]"
	case ir.OpParam, ir.OpBuffer, ir.OpState:
		pr := g.byName[v.Name]
		if pr.i64 {
			return fmt.Sprintf("m.pi[%d]", pr.index)
		}
		return fmt.Sprintf("m.p[%d]", pr.index)
	case ir.OpConst:
		return fmt.Sprintf("m.%sc%d[:]", pre, v.ID)
	}
	switch v.Type.DType {
	case ir.I32:
		return fmt.Sprintf("m.%si%d[:]", pre, v.ID)
	case ir.I64:
		return fmt.Sprintf("m.%sl%d[:]", pre, v.ID)
	}
	elem := map[string]int{"float32": 4, "float64": 8}[g.elem]
	off := gr.Plan.Offset[v.ID] / elem
	return fmt.Sprintf("m.arena%s[%d:%d+%s]", pre, off, off, size)
}

func (e *emitter) s(v *ir.Value) string { return e.g.slice(e.gr, v) }

// shape declares a field holding v's shape and returns it as a slice
// expression, after a statement that fills in the batch size.
func (e *emitter) shape(v *ir.Value, what string) string {
	sh := v.Type.Shape
	dims := make([]string, len(sh))
	batch := -1
	for i, d := range sh {
		dims[i] = strconv.Itoa(d)
		if d == ir.Batch {
			dims[i], batch = "0", i
		}
	}
	name := fmt.Sprintf("%ss%d%s", e.pre, e.cur, what)
	e.field(name, fmt.Sprintf("[%d]int", len(sh)), fmt.Sprintf("[%d]int{%s}", len(sh), strings.Join(dims, ", ")))
	if batch >= 0 {
		e.line("m.%s[%d] = n", name, batch)
	}
	return "m." + name + "[:]"
}

func float(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

var binaryOps = map[ir.Op]string{ir.OpAdd: "Add", ir.OpSub: "Sub", ir.OpMul: "Mul", ir.OpDiv: "Div"}

var unaryKernels = map[ir.Op]string{ir.OpNeg: "Neg", ir.OpRelu: "Relu", ir.OpSigmoid: "Sigmoid", ir.OpTanh: "Tanh", ir.OpGelu: "Gelu"}

var gradKernels = map[ir.Op]string{ir.OpReluGrad: "ReluBackward", ir.OpSigmoidGrad: "SigmoidBackward", ir.OpTanhGrad: "TanhBackward", ir.OpGeluGrad: "GeluBackward"}

// value emits the statements computing v.
func (e *emitter) value(v *ir.Value) {
	e.cur = v.ID
	g := e.g
	a := v.Attrs
	arg := func(i int) string { return e.s(v.Args[i]) }
	switch v.Op {
	case ir.OpInput, ir.OpTarget, ir.OpParam, ir.OpBuffer, ir.OpState:
		return
	case ir.OpConst:
		e.field(fmt.Sprintf("%sc%d", e.pre, v.ID), fmt.Sprintf("[1]%s", g.elem), fmt.Sprintf("[1]%s{%s}", g.elem, float(a.Float("value", 0))))
		return
	}
	switch v.Type.DType {
	case ir.I32:
		e.field(fmt.Sprintf("%si%d", e.pre, v.ID), "[1]int32", "")
	case ir.I64:
		e.field(fmt.Sprintf("%sl%d", e.pre, v.ID), "[1]int64", "")
	}
	e.line("// v%d = %s %s", v.ID, v.Op, comment(v.Name))
	out := e.s(v)
	switch v.Op {
	case ir.OpAdd, ir.OpSub, ir.OpMul, ir.OpDiv:
		x, y := v.Args[0], v.Args[1]
		if x.Type.Shape.Equal(v.Type.Shape) && y.Type.Shape.Equal(v.Type.Shape) {
			e.line("kernels.%s(%s, %s, %s)", binaryOps[v.Op], out, arg(0), arg(1))
			return
		}
		so, sx, sy := e.shape(v, "o"), e.shape(x, "a"), e.shape(y, "b")
		e.line("kernels.Broadcast(kernels.Op%s, %s, %s, %s, %s, %s, %s)", binaryOps[v.Op], out, so, arg(0), sx, arg(1), sy)
	case ir.OpNeg, ir.OpRelu, ir.OpSigmoid, ir.OpTanh, ir.OpGelu:
		e.line("kernels.%s(%s, %s)", unaryKernels[v.Op], out, arg(0))
	case ir.OpReluGrad, ir.OpSigmoidGrad, ir.OpTanhGrad, ir.OpGeluGrad:
		e.line("kernels.%s(%s, %s, %s)", gradKernels[v.Op], out, arg(0), arg(1))
	case ir.OpReshape:
		e.line("copy(%s, %s)", out, arg(0))
	case ir.OpMatMul:
		e.matmul(v, out)
	case ir.OpMatMulReluMask:
		e.matmul(v, out)
		e.line("kernels.ReluBackward(%s, %s, %s)", out, out, arg(2))
	case ir.OpMatMulTN:
		k, nn := v.Type.Shape[0], v.Type.Shape[1]
		rows := rowsExpr(v.Args[0].Type.Shape, k)
		e.line("kernels.Gemm(true, false, %d, %d, %s, 1, %s, %d, %s, %d, 0, %s, %d)", k, nn, rows, arg(0), k, arg(1), nn, out, nn)
	case ir.OpLinear, ir.OpLinearRelu:
		w := v.Args[1].Type.Shape
		bias := "nil"
		if len(v.Args) == 3 {
			bias = arg(2)
		}
		e.line("kernels.Linear(%s, %s, %s, %s, %s, %d, %d, %v)", out, arg(0), arg(1), bias, rowsExpr(v.Type.Shape, w[0]), w[1], w[0], v.Op == ir.OpLinearRelu)
	case ir.OpSoftmax, ir.OpLogSoftmax, ir.OpSoftmaxGrad, ir.OpLogSoftmaxGrad:
		k, _ := ir.NormAxis(a.Int("dim", -1), v.Type.Shape.Rank())
		o, d, in := axisExprs(v.Type.Shape, k)
		name := map[ir.Op]string{ir.OpSoftmax: "Softmax", ir.OpLogSoftmax: "LogSoftmax", ir.OpSoftmaxGrad: "SoftmaxBackward", ir.OpLogSoftmaxGrad: "LogSoftmaxBackward"}[v.Op]
		if len(v.Args) == 2 {
			e.line("kernels.%s(%s, %s, %s, %s, %s, %s)", name, out, arg(0), arg(1), o, d, in)
		} else {
			e.line("kernels.%s(%s, %s, %s, %s, %s)", name, out, arg(0), o, d, in)
		}
	case ir.OpSum, ir.OpMean:
		xs := v.Args[0].Type.Shape
		k, _ := ir.NormAxis(a.Int("dim", -1), xs.Rank())
		o, d, in := axisExprs(xs, k)
		e.line("kernels.%s(%s, %s, %s, %s, %s)", map[ir.Op]string{ir.OpSum: "Sum", ir.OpMean: "Mean"}[v.Op], out, arg(0), o, d, in)
	case ir.OpSumAll:
		e.line("kernels.Sum(%s, %s, 1, %s, 1)", out, arg(0), prod(v.Args[0].Type.Shape))
	case ir.OpSumTo:
		so, sx := e.shape(v, "o"), e.shape(v.Args[0], "a")
		e.line("kernels.ReduceTo(%s, %s, %s, %s)", out, so, arg(0), sx)
	case ir.OpBroadcastTo:
		so, sx := e.shape(v, "o"), e.shape(v.Args[0], "a")
		zero := e.field(fmt.Sprintf("%sz%d", e.pre, v.ID), fmt.Sprintf("[1]%s", g.elem), "")
		e.line("kernels.Broadcast(kernels.OpAdd, %s, %s, %s, %s, %s[:], nil)", out, so, arg(0), sx, zero)
	case ir.OpNLLLoss:
		e.line("%s[0] = %s(kernels.NLLLoss(nil, %s, %s, n, %d, 0))", out, g.elem, arg(0), arg(1), v.Args[0].Type.Shape[1])
	case ir.OpNLLLossGrad:
		e.line("kernels.NLLLoss(%s, %s, %s, n, %d, float64(%s[0]))", out, arg(1), arg(2), v.Args[1].Type.Shape[1], arg(0))
	case ir.OpSoftmaxCrossEntropy:
		grad := "nil"
		if gv := e.gr.CrossEntropyGrad(v); gv != nil {
			// The gradient comes later with the same logits and targets:
			// computed here in the same pass, kept in a buffer of its own.
			grad = e.field(fmt.Sprintf("%ssce%d", e.pre, gv.ID), "[]"+g.elem, fmt.Sprintf("make([]%s, %d)", g.elem, v.Args[0].Type.Shape.Size(e.gr.Plan.Batch)))
			e.shared[gv.ID] = grad
		}
		e.line("if l, _ := kernels.CrossEntropy(%s, %s, %s, n, %d); true {\n%s[0] = %s(l)\n}", grad, arg(0), arg(1), v.Args[0].Type.Shape[1], out, g.elem)
	case ir.OpSoftmaxCrossEntropyGrad:
		if grad, ok := e.shared[v.ID]; ok {
			e.line("copy(%s, %s)", out, grad)
		} else {
			e.line("kernels.CrossEntropy(%s, %s, %s, n, %d)", out, arg(1), arg(2), v.Args[1].Type.Shape[1])
		}
		e.line("if d := %s[0]; d != 1 {\nkernels.Scale(%s, d, %s)\n}", arg(0), out, out)
	case ir.OpCorrect:
		c := v.Args[0].Type.Shape[1]
		pred := e.field(fmt.Sprintf("%spred%d", e.pre, v.ID), "[]int32", fmt.Sprintf("make([]int32, %d)", e.gr.Plan.Batch))
		e.line("kernels.Argmax(%s, %s, n, %d)\n%s[0] = 0\nfor i, p := range %s[:n] {\nif p == %s[i] {\n%s[0]++\n}\n}", pred, arg(0), c, out, pred, arg(1), out)
	case ir.OpMSELoss, ir.OpBCEWithLogitsLoss:
		name := map[ir.Op]string{ir.OpMSELoss: "MSE", ir.OpBCEWithLogitsLoss: "BCEWithLogits"}[v.Op]
		e.line("%s[0] = %s(kernels.%s(nil, %s, %s))", out, g.elem, name, arg(0), arg(1))
	case ir.OpMSELossGrad, ir.OpBCEWithLogitsLossGrad:
		name := map[ir.Op]string{ir.OpMSELossGrad: "MSE", ir.OpBCEWithLogitsLossGrad: "BCEWithLogits"}[v.Op]
		e.line("kernels.%s(%s, %s, %s)", name, out, arg(1), arg(2))
		e.line("if d := %s[0]; d != 1 {\nkernels.Scale(%s, d, %s)\n}", arg(0), out, out)
	case ir.OpCorrectBinary:
		e.line("%s[0] = 0\nfor i, z := range %s {\nif (z > 0) == (%s[i] > 0.5) {\n%s[0]++\n}\n}", out, arg(0), arg(1), out)
	case ir.OpDropoutMask:
		e.line("kernels.DropoutMask(%s, %s, m.rng)", out, float(a.Float("p", 0)))
	case ir.OpIncrement:
		e.line("%s[0] = %s[0] + 1", out, arg(0))
	case ir.OpSGDBuf:
		e.line("kernels.SGDBuf(%s, %s, %s, %s, %s, %s, %s, %s[0] == 1)", out, arg(0), arg(1), arg(2), float(a.Float("momentum", 0)), float(a.Float("dampening", 0)), float(a.Float("weight_decay", 0)), arg(3))
	case ir.OpSGDStep:
		buf := "nil"
		if len(v.Args) == 3 {
			buf = arg(2)
		}
		e.line("kernels.SGDStep(%s, %s, %s, %s, %s, %s, %s, %v)", out, arg(0), arg(1), buf, float(a.Float("lr", 0)), float(a.Float("momentum", 0)), float(a.Float("weight_decay", 0)), a.Bool("nesterov"))
	case ir.OpAdamM:
		e.line("kernels.AdamM(%s, %s, %s, %s, %s, %s)", out, arg(0), arg(1), arg(2), float(a.Float("beta1", 0.9)), float(a.Float("weight_decay", 0)))
	case ir.OpAdamV:
		e.line("kernels.AdamV(%s, %s, %s, %s, %s, %s)", out, arg(0), arg(1), arg(2), float(a.Float("beta2", 0.999)), float(a.Float("weight_decay", 0)))
	case ir.OpAdamStep:
		e.line("kernels.AdamStep(%s, %s, %s, %s, int(%s[0]), %s, %s, %s, %s, %s, %v)", out, arg(0), arg(1), arg(2), arg(3),
			float(a.Float("lr", 0)), float(a.Float("beta1", 0.9)), float(a.Float("beta2", 0.999)), float(a.Float("eps", 1e-8)), float(a.Float("weight_decay", 0)), a.Bool("decoupled"))
	case ir.OpBNFoldWeight:
		c := v.Type.Shape[0]
		e.line("kernels.BNFoldWeight(%s, %s, %s, %s, %d, %d, %s)", out, arg(0), arg(1), arg(2), c, v.Type.Shape.Elems()/c, float(a.Float("eps", 1e-5)))
	case ir.OpBNFoldBias:
		e.line("kernels.BNFoldBias(%s, %s, %s, %s, %s, %s, %d, %s)", out, arg(0), arg(1), arg(2), arg(3), arg(4), v.Type.Shape[0], float(a.Float("eps", 1e-5)))
	case ir.OpConv2d, ir.OpConv2dRelu:
		xs, ws := v.Args[0].Type.Shape, v.Args[1].Type.Shape
		shape := fmt.Sprintf("kernels.ConvShape{N: n, C: %d, H: %d, W: %d, K: %d, KH: %d, KW: %d, Stride: %d, Pad: %d}", xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], a.Int("stride", 1), a.Int("padding", 0))
		col := e.field(fmt.Sprintf("%scol%d", e.pre, v.ID), "[]"+g.elem, fmt.Sprintf("make([]%s, %s.ColSize())", g.elem, strings.Replace(shape, "N: n", "N: 1", 1)))
		bias := "nil"
		if len(v.Args) == 3 {
			bias = arg(2)
		}
		e.line("kernels.Conv2d(%s, %s, %s, %s, %s, %s)", out, arg(0), arg(1), bias, col, shape)
		if v.Op == ir.OpConv2dRelu {
			e.line("kernels.Relu(%s, %s)", out, out)
		}
	case ir.OpMaxPool2d:
		xs := v.Args[0].Type.Shape
		k := a.Int("kernel", 1)
		idx := e.field(fmt.Sprintf("%sidx%d", e.pre, v.ID), "[]int32", fmt.Sprintf("make([]int32, %d)", v.Type.Shape.Size(e.gr.Plan.Batch)))
		e.line("kernels.MaxPool2d(%s, %s, %s, kernels.PoolShape{N: n, C: %d, H: %d, W: %d, Kernel: %d, Stride: %d})", out, idx, arg(0), xs[1], xs[2], xs[3], k, a.Int("stride", k))
	case ir.OpBatchNormTrain:
		c, hw := v.Args[0].Type.Shape.Channels()
		scratch := e.field(fmt.Sprintf("%sbn%d", e.pre, v.ID), fmt.Sprintf("[4][%d]%s", c, g.elem), "")
		e.line("kernels.BatchNormTrain(%s, %s, %s, %s, %s[0][:], %s[1][:], %s[2][:], %s[3][:], n, %d, %d, %s, %s)", out, arg(0), arg(1), arg(2), scratch, scratch, scratch, scratch, c, hw, float(a.Float("momentum", 0.1)), float(a.Float("eps", 1e-5)))
	case ir.OpBatchNormGradInput, ir.OpBatchNormGradWeight:
		c, hw := v.Args[1].Type.Shape.Channels()
		stats := e.field(fmt.Sprintf("%sbs%d", e.pre, v.ID), fmt.Sprintf("[2][%d]%s", c, g.elem), "")
		e.line("kernels.BatchStats(%s[0][:], %s[1][:], %s, n, %d, %d, %s)", stats, stats, arg(1), c, hw, float(a.Float("eps", 1e-5)))
		dx, dw := out, "nil"
		if v.Op == ir.OpBatchNormGradWeight {
			dx, dw = "nil", out
		}
		e.line("kernels.BatchNormBackward(%s, %s, nil, %s, %s, %s, %s[0][:], %s[1][:], n, %d, %d)", dx, dw, arg(0), arg(1), arg(2), stats, stats, c, hw)
	case ir.OpRunningMean, ir.OpRunningVar:
		c, hw := v.Args[1].Type.Shape.Channels()
		name := map[ir.Op]string{ir.OpRunningMean: "RunningMean", ir.OpRunningVar: "RunningVar"}[v.Op]
		e.line("kernels.%s(%s, %s, %s, n, %d, %d, %s)", name, out, arg(0), arg(1), c, hw, float(a.Float("momentum", 0.1)))
	case ir.OpChannelSum:
		c, hw := v.Args[0].Type.Shape.Channels()
		e.line("kernels.ChannelSum(%s, %s, %s, %d, %d)", out, arg(0), rowsExpr(v.Args[0].Type.Shape, c*hw), c, hw)
	case ir.OpConv2dGradInput, ir.OpConv2dGradWeight:
		xs, ws := v.Args[1].Type.Shape, v.Args[2].Type.Shape
		shape := fmt.Sprintf("kernels.ConvShape{N: n, C: %d, H: %d, W: %d, K: %d, KH: %d, KW: %d, Stride: %d, Pad: %d}", xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], a.Int("stride", 1), a.Int("padding", 0))
		col := e.field(fmt.Sprintf("%scol%d", e.pre, v.ID), "[]"+g.elem, fmt.Sprintf("make([]%s, %s.ColSize())", g.elem, strings.Replace(shape, "N: n", "N: 1", 1)))
		dx, dw := out, "nil"
		if v.Op == ir.OpConv2dGradWeight {
			dx, dw = "nil", out
		}
		e.line("kernels.Conv2dBackward(%s, %s, nil, %s, %s, %s, %s, %s)", dx, dw, arg(0), arg(1), arg(2), col, shape)
	case ir.OpMaxPool2dGrad:
		xs := v.Args[1].Type.Shape
		k := a.Int("kernel", 1)
		ysize := v.Args[0].Type.Shape.Size(e.gr.Plan.Batch)
		tmp := e.field(fmt.Sprintf("%sptmp%d", e.pre, v.ID), "[]"+g.elem, fmt.Sprintf("make([]%s, %d)", g.elem, ysize))
		idx := e.field(fmt.Sprintf("%spidx%d", e.pre, v.ID), "[]int32", fmt.Sprintf("make([]int32, %d)", ysize))
		shape := fmt.Sprintf("kernels.PoolShape{N: n, C: %d, H: %d, W: %d, Kernel: %d, Stride: %d}", xs[1], xs[2], xs[3], k, a.Int("stride", k))
		e.line("kernels.MaxPool2d(%s, %s, %s, %s)", tmp, idx, arg(1), shape)
		e.line("kernels.MaxPool2dBackward(%s, %s, %s, %s)", out, arg(0), idx, shape)
	case ir.OpBatchNorm:
		xs := v.Args[0].Type.Shape
		hw := 1
		if xs.Rank() == 4 {
			hw = xs[2] * xs[3]
		}
		e.line("kernels.BatchNormEval(%s, %s, %s, %s, %s, %s, n, %d, %d, %s)", out, arg(0), arg(1), arg(2), arg(3), arg(4), xs[1], hw, float(a.Float("eps", 1e-5)))
	default:
		panic(fmt.Sprintf("codegen: no code for %s", v.Op))
	}
}

// rowsExpr is the number of rows of a value of shape s whose rows hold k
// elements: the product of s divided by k, as a Go expression in n.
func rowsExpr(s ir.Shape, k int) string {
	c, batch := 1, false
	for _, d := range s {
		if d == ir.Batch {
			batch = true
		} else {
			c *= d
		}
	}
	c /= k
	switch {
	case !batch:
		return strconv.Itoa(c)
	case c == 1:
		return "n"
	}
	return "n*" + strconv.Itoa(c)
}

func axisExprs(s ir.Shape, k int) (outer, d, inner string) {
	return prod(s[:k]), dim(s[k]), prod(s[k+1:])
}

// matmul emits op(a)·op(b) as interp's matmul computes it.
func (e *emitter) matmul(v *ir.Value, out string) {
	as, bs := v.Args[0].Type.Shape, v.Args[1].Type.Shape
	ta, tb := v.Attrs.Bool("ta"), v.Attrs.Bool("tb")
	ra, rb := len(as), len(bs)
	kb, nn := bs[rb-2], bs[rb-1]
	cols := nn
	if tb {
		cols = kb
	}
	a, b := e.s(v.Args[0]), e.s(v.Args[1])
	if rb == 2 {
		ka := as[ra-1]
		m, k := rowsExpr(as, ka), strconv.Itoa(ka)
		if ta {
			m, k = strconv.Itoa(ka), dim(as[0])
		}
		e.line("kernels.Gemm(%v, %v, %s, %d, %s, 1, %s, %d, %s, %d, 0, %s, %d)", ta, tb, m, cols, k, a, ka, b, nn, out, cols)
		return
	}
	r, c := as[ra-2], as[ra-1]
	mm, k := r, c
	if ta {
		mm, k = c, r
	}
	sa, sb, sc := r*c, kb*nn, mm*cols
	e.line("for i := 0; i < %s; i++ {\nkernels.Gemm(%v, %v, %d, %d, %d, 1, %s[i*%d:(i+1)*%d], %d, %s[i*%d:(i+1)*%d], %d, 0, %s[i*%d:(i+1)*%d], %d)\n}",
		prod(as[:ra-2]), ta, tb, mm, cols, k, a, sa, sa, c, b, sb, sb, nn, out, sc, sc, cols)
}
