package ir

import "fmt"

// The lowering column of the op table. Each op says how it is computed as a
// list of calls to functions of package kernels, described here without
// knowing that package: which kernel, and for each of its parameters where
// the argument comes from (a value's buffer, a scratch buffer, a size, an
// attribute). Both back ends are driven by these calls: the interpreter
// binds each to the kernel function once and runs it, the code generator
// prints it as Go. Neither knows what an op means.

// Call is one kernel call of a lowered value.
type Call struct {
	Kernel string // the name of a function of package kernels
	Args   []Operand
}

// OperandKind says where a kernel argument comes from.
type OperandKind uint8

const (
	// OpdBuf is the buffer of Value, sliced to its elements for the batch.
	OpdBuf OperandKind = iota
	// OpdScratch is scratch buffer Index of Value, sliced to its elements
	// for the batch.
	OpdScratch
	// OpdNil is a nil slice (an optional buffer not given).
	OpdNil
	// OpdInt is Dim: a constant or a multiple of the batch size.
	OpdInt
	// OpdFloat is the constant Float, given as a float64.
	OpdFloat
	// OpdBool is the constant Bool.
	OpdBool
	// OpdShape is Value's shape with the batch filled in, as an []int.
	OpdShape
	// OpdConvShape is a kernels.ConvShape whose fields are Dims, in the
	// order of ConvShapeFields.
	OpdConvShape
	// OpdPoolShape is a kernels.PoolShape whose fields are Dims, in the
	// order of PoolShapeFields.
	OpdPoolShape
	// OpdRNG is the back end's random generator (dropout masks).
	OpdRNG
	// OpdInts is a constant list of integers, Dims (none of them a
	// multiple of the batch), as an []int: Slice's starts and steps, Pad's
	// pads.
	OpdInts
)

// The fields of the struct operands, in order.
var (
	ConvShapeFields = []string{"N", "C", "H", "W", "K", "KH", "KW", "Stride", "Pad"}
	PoolShapeFields = []string{"N", "C", "H", "W", "Kernel", "Stride"}
)

// Operand is one argument of a Call.
type Operand struct {
	Kind  OperandKind
	Value *Value // OpdBuf, OpdScratch, OpdShape
	Index int    // OpdScratch
	Dim   Dim    // OpdInt
	Float float64
	Bool  bool
	Dims  []Dim // OpdConvShape, OpdPoolShape
}

// Dim is an integer known when the graph runs: C, or C times the batch
// size when Batch is set. Every size of a graph with one symbolic batch
// dimension is of this form.
type Dim struct {
	C     int
	Batch bool
}

// At returns d for a batch of n rows.
func (d Dim) At(n int) int {
	if d.Batch {
		return d.C * n
	}
	return d.C
}

func (d Dim) String() string {
	switch {
	case !d.Batch:
		return fmt.Sprint(d.C)
	case d.C == 1:
		return "n"
	}
	return fmt.Sprintf("n*%d", d.C)
}

// Scratch is a buffer an op needs while it runs (a convolution's unfolded
// input, pooling's argmax indices). The memory plan places it in the arena
// like a value; it lives from its op to Until (the op itself when nil), so
// a later op can read what the first left there.
type Scratch struct {
	Type  Type
	Until *Value
}

// Lowering returns the calls that compute v in g, and the scratch buffers
// they use.
func Lowering(g *Graph, v *Value) ([]Call, []Scratch, error) {
	info := v.Op.Info()
	if info.Source && info.Lower == nil {
		return nil, nil, nil
	}
	if info.Lower == nil {
		return nil, nil, fmt.Errorf("ir: %s has no lowering", v.Op)
	}
	return info.Lower(g, v), ScratchOf(g, v), nil
}

// Operand constructors for the lowering rules.

func buf(v *Value) Operand            { return Operand{Kind: OpdBuf, Value: v} }
func scratch(v *Value, i int) Operand { return Operand{Kind: OpdScratch, Value: v, Index: i} }
func num(c int) Operand               { return Operand{Kind: OpdInt, Dim: Dim{C: c}} }
func dim(d Dim) Operand               { return Operand{Kind: OpdInt, Dim: d} }
func flt(f float64) Operand           { return Operand{Kind: OpdFloat, Float: f} }
func flag(b bool) Operand             { return Operand{Kind: OpdBool, Bool: b} }
func shapeOf(v *Value) Operand        { return Operand{Kind: OpdShape, Value: v} }

// intList is the constant list xs as an []int operand.
func intList(xs []int) Operand {
	ds := make([]Dim, len(xs))
	for i, x := range xs {
		ds[i] = Dim{C: x}
	}
	return Operand{Kind: OpdInts, Dims: ds}
}

var (
	none = Operand{Kind: OpdNil}
	rng  = Operand{Kind: OpdRNG}
	// batchN is the batch size itself.
	batchN = Dim{C: 1, Batch: true}
)

// optArg is argument i of v's buffer, or nil when v has fewer arguments.
func optArg(v *Value, i int) Operand {
	if len(v.Args) > i {
		return buf(v.Args[i])
	}
	return none
}

// call builds a Call.
func call(kernel string, args ...Operand) Call { return Call{Kernel: kernel, Args: args} }

// elems is the number of elements of s, as a Dim.
func elems(s Shape) Dim {
	d := Dim{C: 1}
	for _, x := range s {
		if x == Batch {
			d.Batch = true
		} else {
			d.C *= x
		}
	}
	return d
}

// rows is the number of rows of k elements in a value of shape s.
func rows(s Shape, k int) Dim {
	d := elems(s)
	d.C /= k
	return d
}

// lead is the first dimension of s, the samples of a convolution or a
// batch norm: the batch, or a fixed size (a model whose input has none).
func lead(s Shape) Dim {
	if s[0] == Batch {
		return batchN
	}
	return Dim{C: s[0]}
}

// axisDims splits s around axis k: the sizes before, at and after it.
func axisDims(s Shape, k int) (outer, at, inner Dim) {
	at = Dim{C: s[k]}
	if s[k] == Batch {
		at = batchN
	}
	return elems(s[:k]), at, elems(s[k+1:])
}

// convShape describes Conv2d's geometry from its input x and weight w.
func convShape(x, w Shape, v *Value) Operand {
	return Operand{Kind: OpdConvShape, Dims: []Dim{lead(x), {C: x[1]}, {C: x[2]}, {C: x[3]}, {C: w[0]}, {C: w[2]}, {C: w[3]},
		{C: v.AttrInt("stride")}, {C: v.AttrInt("padding")}}}
}

// ConvColSize is the size of the unfolded input buffer of a convolution
// over x with weight w (one sample at a time), as kernels.ConvShape.ColSize
// computes it.
func convColType(dt DType, x, w Shape, v *Value) Type {
	s, p := v.AttrInt("stride"), v.AttrInt("padding")
	oh, ow := ConvOut(x[2], w[2], s, p), ConvOut(x[3], w[3], s, p)
	return Type{DType: dt, Shape: Shape{x[1] * w[2] * w[3] * oh * ow}}
}

func poolShape(x Shape, v *Value) Operand {
	k, s := v.AttrInt("kernel"), v.AttrInt("stride")
	if s == 0 {
		s = k
	}
	return Operand{Kind: OpdPoolShape, Dims: []Dim{lead(x), {C: x[1]}, {C: x[2]}, {C: x[3]}, {C: k}, {C: s}}}
}

// channels is the channel count and the elements per channel and sample
// of x, [N, C] or [N, C, H, W].
func channels(x *Value) (c, hw int) { return x.Type.Shape.Channels() }

// The lowering rules.

func lowerUnary(kernel string) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call { return []Call{call(kernel, buf(v), buf(v.Args[0]))} }
}

func lowerBinary(kernel string) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		return []Call{call(kernel, buf(v), buf(v.Args[0]), buf(v.Args[1]))}
	}
}

// lowerBroadcast is an element-wise binary op: the plain kernel when both
// operands have the result's shape, else its broadcasting form; of i64
// (ONNX's integer arithmetic), the broadcasting form's I64 kernel.
func lowerBroadcast(kernel string) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		a, b := v.Args[0], v.Args[1]
		if a.Type.Shape.Equal(v.Type.Shape) && b.Type.Shape.Equal(v.Type.Shape) && v.Type.DType != I64 {
			return []Call{call(kernel, buf(v), buf(a), buf(b))}
		}
		return []Call{call(i64Kernel("Broadcast"+kernel, v), buf(v), shapeOf(v), buf(a), shapeOf(a), buf(b), shapeOf(b))}
	}
}

// matmulCalls is op(a)·op(b) into out: one GEMM over the rows of a when b
// is 2-D, else one per leading index.
func matmulCalls(v *Value) []Call {
	as, bs := v.Args[0].Type.Shape, v.Args[1].Type.Shape
	ta, tb := v.AttrBool("ta"), v.AttrBool("tb")
	ra, rb := len(as), len(bs)
	kb, nn := bs[rb-2], bs[rb-1] // b as stored
	cols := nn
	if tb {
		cols = kb
	}
	a, b := buf(v.Args[0]), buf(v.Args[1])
	if rb == 2 {
		ka := as[ra-1] // a as stored: rows × ka
		m, k := rows(as, ka), Dim{C: ka}
		if ta {
			m, k = Dim{C: ka}, Dim{C: as[0], Batch: as[0] == Batch}
			if k.Batch {
				k.C = 1
			}
		}
		return []Call{call("MatMul", flag(ta), flag(tb), dim(m), num(cols), dim(k), a, num(ka), b, num(nn), buf(v), num(cols))}
	}
	r, c := as[ra-2], as[ra-1]
	mm, k := r, c
	if ta {
		mm, k = c, r
	}
	return []Call{call("MatMulBatched", dim(elems(as[:ra-2])), flag(ta), flag(tb), num(mm), num(cols), num(k),
		a, num(c), num(r*c), b, num(nn), num(kb*nn), buf(v), num(cols), num(mm*cols))}
}

func lowerMatMul(_ *Graph, v *Value) []Call { return matmulCalls(v) }

func lowerMatMulReluMask(_ *Graph, v *Value) []Call {
	return append(matmulCalls(v), call("ReluBackward", buf(v), buf(v), buf(v.Args[2])))
}

func lowerMatMulTN(_ *Graph, v *Value) []Call {
	k, nn := v.Type.Shape[0], v.Type.Shape[1]
	return []Call{call("MatMul", flag(true), flag(false), num(k), num(nn), dim(rows(v.Args[0].Type.Shape, k)),
		buf(v.Args[0]), num(k), buf(v.Args[1]), num(nn), buf(v), num(nn))}
}

func lowerLinear(relu bool) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		w := v.Args[1].Type.Shape
		return []Call{call("Linear", buf(v), buf(v.Args[0]), buf(v.Args[1]), optArg(v, 2),
			dim(rows(v.Type.Shape, w[0])), num(w[1]), num(w[0]), flag(relu))}
	}
}

// lowerAxis is softmax, log-softmax and their gradients, along the dim
// attribute.
func lowerAxis(kernel string) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		k, _ := NormAxis(v.AttrInt("dim"), v.Type.Shape.Rank())
		o, d, in := axisDims(v.Type.Shape, k)
		args := []Operand{buf(v)}
		for _, a := range v.Args {
			args = append(args, buf(a))
		}
		return []Call{call(kernel, append(args, dim(o), dim(d), dim(in))...)}
	}
}

// lowerReduce is a sum or mean over the dim attribute.
func lowerReduce(kernel string) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		xs := v.Args[0].Type.Shape
		k, _ := NormAxis(v.AttrInt("dim"), xs.Rank())
		o, d, in := axisDims(xs, k)
		return []Call{call(kernel, buf(v), buf(v.Args[0]), dim(o), dim(d), dim(in))}
	}
}

func lowerSumAll(_ *Graph, v *Value) []Call {
	return []Call{call("Sum", buf(v), buf(v.Args[0]), num(1), dim(elems(v.Args[0].Type.Shape)), num(1))}
}

func lowerShaped(kernel string) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		return []Call{call(kernel, buf(v), shapeOf(v), buf(v.Args[0]), shapeOf(v.Args[0]))}
	}
}

// classes is the class count of a loss's logits.
func classes(x *Value) int { return x.Type.Shape[x.Type.Shape.Rank()-1] }

// lowerLoss is a loss over (prediction, targets), or its gradient over
// (dloss, prediction, targets).
func lowerClassLoss(kernel string) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		args := []Operand{buf(v)}
		for _, a := range v.Args {
			args = append(args, buf(a))
		}
		x := v.Args[len(v.Args)-2]
		return []Call{call(kernel, append(args, dim(rows(x.Type.Shape, classes(x))), num(classes(x)))...)}
	}
}

func lowerValueLoss(kernel string) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		args := []Operand{buf(v)}
		for _, a := range v.Args {
			args = append(args, buf(a))
		}
		return []Call{call(kernel, args...)}
	}
}

// The softmax cross-entropy computes its gradient in the same pass over the
// exponentials when the step needs it later: into a scratch buffer that
// lives until the gradient op, which then only scales it.

func scratchCrossEntropy(g *Graph, v *Value) []Scratch {
	if gv := g.CrossEntropyGrad(v); gv != nil {
		return []Scratch{{Type: v.Args[0].Type, Until: gv}}
	}
	return nil
}

// by64 names the int64-target form of a class-loss kernel when the
// targets t are token ids.
func by64(kernel string, t *Value) string {
	if t.Type.DType == I64 {
		return kernel + "64"
	}
	return kernel
}

func lowerCrossEntropy(g *Graph, v *Value) []Call {
	x, y := v.Args[0], v.Args[1]
	grad := none
	if g.CrossEntropyGrad(v) != nil {
		grad = scratch(v, 0)
	}
	return []Call{call(by64("CrossEntropyLoss", y), buf(v), grad, buf(x), buf(y), dim(rows(x.Type.Shape, classes(x))), num(classes(x)))}
}

func lowerCrossEntropyGrad(g *Graph, v *Value) []Call {
	if loss := g.crossEntropyLoss(v); loss != nil {
		return []Call{call("CopyScale", buf(v), scratch(loss, 0), buf(v.Args[0]))}
	}
	return lowerClassLoss(by64("CrossEntropyGrad", v.Args[2]))(g, v)
}

func scratchCorrect(_ *Graph, v *Value) []Scratch {
	x := v.Args[0].Type.Shape
	return []Scratch{{Type: Type{DType: I32, Shape: x[:x.Rank()-1].Clone()}}}
}

func lowerCorrect(_ *Graph, v *Value) []Call {
	x := v.Args[0]
	return []Call{call(by64("CountCorrect", v.Args[1]), buf(v), scratch(v, 0), buf(x), buf(v.Args[1]), dim(rows(x.Type.Shape, classes(x))), num(classes(x)))}
}

func lowerConv(relu bool) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		x, w := v.Args[0].Type.Shape, v.Args[1].Type.Shape
		cs := []Call{call("Conv2d", buf(v), buf(v.Args[0]), buf(v.Args[1]), optArg(v, 2), scratch(v, 0), convShape(x, w, v))}
		if relu {
			cs = append(cs, call("Relu", buf(v), buf(v)))
		}
		return cs
	}
}

// scratchConv is the unfolded input of a convolution over args[x], weight
// args[x+1].
func scratchConv(x int) func(*Graph, *Value) []Scratch {
	return func(_ *Graph, v *Value) []Scratch {
		return []Scratch{{Type: convColType(v.Type.DType, v.Args[x].Type.Shape, v.Args[x+1].Type.Shape, v)}}
	}
}

func lowerConvGrad(input bool) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		dx, dw := buf(v), none
		if !input {
			dx, dw = none, buf(v)
		}
		x, w := v.Args[1].Type.Shape, v.Args[2].Type.Shape
		return []Call{call("Conv2dBackward", dx, dw, none, buf(v.Args[0]), buf(v.Args[1]), buf(v.Args[2]), scratch(v, 0), convShape(x, w, v))}
	}
}

func scratchPool(_ *Graph, v *Value) []Scratch {
	return []Scratch{{Type: Type{DType: I32, Shape: v.Type.Shape.Clone()}}}
}

func lowerMaxPool(_ *Graph, v *Value) []Call {
	return []Call{call("MaxPool2d", buf(v), scratch(v, 0), buf(v.Args[0]), poolShape(v.Args[0].Type.Shape, v))}
}

// The gradient of max pooling finds each window's maximum again: the
// pooled values and their indices are scratch.
func scratchPoolGrad(_ *Graph, v *Value) []Scratch {
	y := v.Args[0].Type
	return []Scratch{{Type: y}, {Type: Type{DType: I32, Shape: y.Shape.Clone()}}}
}

func lowerMaxPoolGrad(_ *Graph, v *Value) []Call {
	ps := poolShape(v.Args[1].Type.Shape, v)
	return []Call{
		call("MaxPool2d", scratch(v, 0), scratch(v, 1), buf(v.Args[1]), ps),
		call("MaxPool2dBackward", buf(v), buf(v.Args[0]), scratch(v, 1), ps),
	}
}

// perChannel is n scratch vectors of x's channel count.
func perChannel(n, x int) func(*Graph, *Value) []Scratch {
	return func(_ *Graph, v *Value) []Scratch {
		c, _ := channels(v.Args[x])
		s := make([]Scratch, n)
		for i := range s {
			s[i] = Scratch{Type: Type{DType: v.Args[x].Type.DType, Shape: Shape{c}}}
		}
		return s
	}
}

// BatchNormTrain's kernel also computes running statistics: here scratch,
// since RunningMean and RunningVar are values of their own.
func lowerBatchNormTrain(_ *Graph, v *Value) []Call {
	c, hw := channels(v.Args[0])
	return []Call{call("BatchNormTrain", buf(v), buf(v.Args[0]), buf(v.Args[1]), buf(v.Args[2]),
		scratch(v, 0), scratch(v, 1), scratch(v, 2), scratch(v, 3), dim(lead(v.Args[0].Type.Shape)), num(c), num(hw),
		flt(v.AttrFloat("momentum")), flt(v.AttrFloat("eps")))}
}

func lowerBatchNormGrad(input bool) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		c, hw := channels(v.Args[1])
		dx, dw := buf(v), none
		if !input {
			dx, dw = none, buf(v)
		}
		return []Call{
			call("BatchStats", scratch(v, 0), scratch(v, 1), buf(v.Args[1]), dim(lead(v.Args[1].Type.Shape)), num(c), num(hw), flt(v.AttrFloat("eps"))),
			call("BatchNormBackward", dx, dw, none, buf(v.Args[0]), buf(v.Args[1]), buf(v.Args[2]), scratch(v, 0), scratch(v, 1), dim(lead(v.Args[1].Type.Shape)), num(c), num(hw)),
		}
	}
}

func lowerRunning(kernel string) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		c, hw := channels(v.Args[1])
		return []Call{call(kernel, buf(v), buf(v.Args[0]), buf(v.Args[1]), dim(lead(v.Args[1].Type.Shape)), num(c), num(hw), flt(v.AttrFloat("momentum")))}
	}
}

func lowerChannelSum(_ *Graph, v *Value) []Call {
	c, hw := channels(v.Args[0])
	return []Call{call("ChannelSum", buf(v), buf(v.Args[0]), dim(rows(v.Args[0].Type.Shape, c*hw)), num(c), num(hw))}
}

func lowerBatchNorm(_ *Graph, v *Value) []Call {
	c, hw := channels(v.Args[0])
	args := []Operand{buf(v)}
	for _, a := range v.Args {
		args = append(args, buf(a))
	}
	return []Call{call("BatchNormEval", append(args, dim(lead(v.Args[0].Type.Shape)), num(c), num(hw), flt(v.AttrFloat("eps")))...)}
}

func lowerBNFoldWeight(_ *Graph, v *Value) []Call {
	c := v.Type.Shape[0]
	return []Call{call("BNFoldWeight", buf(v), buf(v.Args[0]), buf(v.Args[1]), buf(v.Args[2]), num(c), num(v.Type.Shape.Elems()/c), flt(v.AttrFloat("eps")))}
}

func lowerBNFoldBias(_ *Graph, v *Value) []Call {
	args := []Operand{buf(v)}
	for _, a := range v.Args {
		args = append(args, buf(a))
	}
	return []Call{call("BNFoldBias", append(args, num(v.Type.Shape[0]), flt(v.AttrFloat("eps")))...)}
}

func lowerDropoutMask(_ *Graph, v *Value) []Call {
	return []Call{call("DropoutMask", buf(v), flt(v.AttrFloat("p")), rng)}
}

// The optimizer updates. A flag attribute's default is false; the numbers'
// defaults are torch.optim's.

func lowerSGDBuf(_ *Graph, v *Value) []Call {
	return []Call{call("SGDBufAt", buf(v), buf(v.Args[0]), buf(v.Args[1]), buf(v.Args[2]), buf(v.Args[3]),
		flt(v.AttrFloat("momentum")), flt(v.AttrFloat("dampening")), flt(v.AttrFloat("weight_decay")))}
}

func lowerSGDStep(_ *Graph, v *Value) []Call {
	return []Call{call("SGDStep", buf(v), buf(v.Args[0]), buf(v.Args[1]), optArg(v, 2),
		flt(v.AttrFloat("lr")), flt(v.AttrFloat("momentum")), flt(v.AttrFloat("weight_decay")), flag(v.AttrBool("nesterov")))}
}

func lowerAdamMoment(kernel, beta string) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		return []Call{call(kernel, buf(v), buf(v.Args[0]), buf(v.Args[1]), buf(v.Args[2]), flt(v.AttrFloat(beta)), flt(v.AttrFloat("weight_decay")))}
	}
}

func lowerAdamStep(_ *Graph, v *Value) []Call {
	return []Call{call("AdamStepAt", buf(v), buf(v.Args[0]), buf(v.Args[1]), buf(v.Args[2]), buf(v.Args[3]),
		flt(v.AttrFloat("lr")), flt(v.AttrFloat("beta1")), flt(v.AttrFloat("beta2")), flt(v.AttrFloat("eps")),
		flt(v.AttrFloat("weight_decay")), flag(v.AttrBool("decoupled")))}
}

// Volume is the number of elements of s as a Dim: a multiple of the batch
// size when s has the batch dimension.
func (s Shape) Volume() Dim { return elems(s) }

// ScratchOf returns the scratch buffers of v's op, in the order the memory
// plan's Scratch offsets follow.
func ScratchOf(g *Graph, v *Value) []Scratch {
	if f := v.Op.Info().Scratch; f != nil {
		return f(g, v)
	}
	return nil
}

func lowerEmbedding(_ *Graph, v *Value) []Call {
	w := v.Args[1].Type.Shape
	return []Call{call("Embedding", buf(v), buf(v.Args[1]), buf(v.Args[0]), num(w[0]), num(w[1]))}
}

func lowerEmbeddingGrad(_ *Graph, v *Value) []Call {
	w := v.Type.Shape
	return []Call{call("EmbeddingBackward", buf(v), buf(v.Args[0]), buf(v.Args[1]), num(w[0]), num(w[1]))}
}

// LayerNorm keeps each row's mean and 1/std in scratch buffers that live
// until the last gradient op that reads them, which finds them through its
// argument y, the LayerNorm value.
func scratchLayerNorm(g *Graph, v *Value) []Scratch {
	var until *Value
	for _, u := range g.Values {
		if (u.Op == OpLayerNormGradInput || u.Op == OpLayerNormGradWeight) && u.Args[len(u.Args)-1] == v {
			until = u
		}
	}
	x := v.Type.Shape
	t := Type{DType: v.Type.DType, Shape: x[:x.Rank()-1].Clone()}
	return []Scratch{{Type: t, Until: until}, {Type: t, Until: until}}
}

// lastDim is the size of the last dimension of x and the number of rows
// before it.
func lastDim(x *Value) (rowsDim Dim, d int) {
	s := x.Type.Shape
	d = s[s.Rank()-1]
	return rows(s, d), d
}

func lowerLayerNorm(_ *Graph, v *Value) []Call {
	r, d := lastDim(v)
	return []Call{call("LayerNorm", buf(v), buf(v.Args[0]), buf(v.Args[1]), buf(v.Args[2]), scratch(v, 0), scratch(v, 1),
		dim(r), num(d), flt(v.AttrFloat("eps")))}
}

func lowerLayerNormGradInput(_ *Graph, v *Value) []Call {
	r, d := lastDim(v)
	y := v.Args[3]
	return []Call{call("LayerNormGradInput", buf(v), buf(v.Args[0]), buf(v.Args[1]), buf(v.Args[2]), scratch(y, 0), scratch(y, 1), dim(r), num(d))}
}

func lowerLayerNormGradWeight(_ *Graph, v *Value) []Call {
	r, d := lastDim(v.Args[1])
	y := v.Args[2]
	return []Call{call("LayerNormGradWeight", buf(v), buf(v.Args[0]), buf(v.Args[1]), scratch(y, 0), scratch(y, 1), dim(r), num(d))}
}

func lowerArange(_ *Graph, v *Value) []Call { return []Call{call("Arange", buf(v))} }

// Gradient clipping (clip_grad_norm).

func lowerGradSqNorm(_ *Graph, v *Value) []Call {
	return []Call{call("GradSqNorm", buf(v), buf(v.Args[0]), optArg(v, 1))}
}

func lowerClipGrad(_ *Graph, v *Value) []Call {
	return []Call{call("ClipGrad", buf(v), buf(v.Args[0]), buf(v.Args[1]), flt(v.AttrFloat("max_norm")))}
}

// Scaled dot-product attention computes each leading index's scores
// q kᵀ/√E and their softmax P into a scratch buffer [..., L, S], then P v.
// P stays there until the last backward op that reads it, which finds it
// through its argument y, the Attention value. The causal mask is never a
// tensor: the kernels skip the positions above the diagonal.

func scratchAttention(g *Graph, v *Value) []Scratch {
	var until *Value
	for _, u := range g.Values {
		if (u.Op == OpAttentionGradV || u.Op == OpAttentionGradScores) && u.Args[2] == v {
			until = u
		}
	}
	q, k := v.Args[0].Type.Shape, v.Args[1].Type.Shape
	r := q.Rank()
	p := append(q[:r-1].Clone(), k[r-2])
	return []Scratch{{Type: Type{DType: v.Type.DType, Shape: p}, Until: until}}
}

// attentionDims are the sizes of an Attention value y: the number of
// leading indices, L, S, E and Ev.
func attentionDims(y *Value) (count Dim, l, s, e, ev int) {
	q, k := y.Args[0].Type.Shape, y.Args[1].Type.Shape
	r := q.Rank()
	return elems(q[:r-2]), q[r-2], k[r-2], q[r-1], y.Type.Shape[r-1]
}

func lowerAttention(_ *Graph, v *Value) []Call {
	n, l, s, e, ev := attentionDims(v)
	return []Call{call("Attention", buf(v), scratch(v, 0), buf(v.Args[0]), buf(v.Args[1]), buf(v.Args[2]),
		dim(n), num(l), num(s), num(e), num(ev), flag(v.AttrBool("causal")))}
}

func lowerAttentionGradV(_ *Graph, v *Value) []Call {
	y := v.Args[2]
	n, l, s, _, ev := attentionDims(y)
	return []Call{call("AttentionBackwardV", buf(v), buf(v.Args[0]), scratch(y, 0), dim(n), num(l), num(s), num(ev))}
}

func lowerAttentionGradScores(_ *Graph, v *Value) []Call {
	y := v.Args[2]
	n, l, s, e, ev := attentionDims(y)
	return []Call{call("AttentionBackwardScores", buf(v), buf(v.Args[0]), buf(v.Args[1]), scratch(y, 0), dim(n), num(l), num(s), num(e), num(ev))}
}

// Attention written out by hand (issue 14).

// lowerGelu calls kernel (Gelu or GeluBackward) for the exact GELU, or
// the tanh form's (GeluTanh or GeluTanhBackward) when approximate is
// "tanh".
func lowerGelu(kernel string) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		k := kernel
		if v.AttrString("approximate") == "tanh" {
			k = "GeluTanh" + kernel[len("Gelu"):]
		}
		args := []Operand{buf(v)}
		for _, a := range v.Args {
			args = append(args, buf(a))
		}
		return []Call{call(k, args...)}
	}
}

// lowerTranspose views the argument as [outer, a, mid, b, inner], a and b
// the swapped axes, and the result as [outer, b, mid, a, inner].
func lowerTranspose(_ *Graph, v *Value) []Call {
	s := v.Args[0].Type.Shape
	d0, _ := NormAxis(v.AttrInt("d0"), s.Rank())
	d1, _ := NormAxis(v.AttrInt("d1"), s.Rank())
	if d0 > d1 {
		d0, d1 = d1, d0
	}
	if d0 == d1 {
		return []Call{call(copyKernel(v.Type.DType), buf(v), buf(v.Args[0]))}
	}
	return []Call{call("Transpose", buf(v), buf(v.Args[0]), dim(elems(s[:d0])), dim(elems(s[d0:d0+1])),
		dim(elems(s[d0+1:d1])), dim(elems(s[d1:d1+1])), dim(elems(s[d1+1:])))}
}
