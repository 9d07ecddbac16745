package onnx

import (
	"slices"

	"github.com/nnc-go/nnc/ir"
)

// handlers import one op whose inputs are (some of them) computed at run
// time; they read the node's inputs with im.in and set its outputs.
var handlers map[string]func(im *importer) error

func init() {
	handlers = map[string]func(im *importer) error{
		"Identity":           (*importer).identity,
		"Dropout":            (*importer).dropout,
		"Add":                binaryOp(ir.OpAdd),
		"Sub":                binaryOp(ir.OpSub),
		"Mul":                binaryOp(ir.OpMul),
		"Div":                binaryOp(ir.OpDiv),
		"Neg":                numUnaryOp(ir.OpNeg),
		"Relu":               unaryOp(ir.OpRelu),
		"Sigmoid":            unaryOp(ir.OpSigmoid),
		"Tanh":               unaryOp(ir.OpTanh),
		"MatMul":             (*importer).matmul,
		"Gemm":               (*importer).gemm,
		"Softmax":            softmax(ir.OpSoftmax),
		"LogSoftmax":         softmax(ir.OpLogSoftmax),
		"Conv":               (*importer).conv,
		"MaxPool":            (*importer).maxPool,
		"BatchNormalization": (*importer).batchNorm,
		"LayerNormalization": (*importer).layerNorm,
		"Flatten":            (*importer).flatten,
		"Reshape":            (*importer).reshape,
		"Unsqueeze":          (*importer).unsqueeze,
		"Squeeze":            (*importer).squeeze,
		"Transpose":          (*importer).transpose,
		"Gather":             (*importer).gather,
	}
}

// importNode imports the current node: a Constant, a node folded over
// constant inputs, or one computed at run time.
func (im *importer) importNode() error {
	n := im.node
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		return im.errorf("operators of domain %q are not supported", d)
	}
	for _, o := range n.Output {
		if o != "" && (im.vals[o] != nil || im.consts[o] != nil) {
			return im.errorf("output %q is defined twice", o)
		}
	}
	op := n.GetOpType()
	if op == "Constant" {
		t, err := im.constantNode()
		if err != nil {
			return err
		}
		if err := im.unread(); err != nil {
			return err
		}
		return im.setConst(0, t)
	}
	if op == "Size" && len(n.Input) == 1 {
		if v, ok := im.vals[n.Input[0]]; ok {
			if v.Type.Shape.HasBatch() {
				return im.notSupported("the size of a batched value (nnc folds it when compiling)")
			}
			return im.setConst(0, &Tensor{DType: ir.I64, Shape: []int{}, I: []int64{int64(v.Type.Shape.Elems())}})
		}
	}
	if op == "Shape" && len(n.Input) == 1 {
		if v, ok := im.vals[n.Input[0]]; ok {
			t, err := im.shapeOf(v.Type)
			if err != nil {
				return err
			}
			if err := im.unread(); err != nil {
				return err
			}
			return im.setConst(0, t)
		}
	}
	if fold, ok := folders[op]; ok && im.allConst() && len(n.Input) > 0 {
		in := make([]*Tensor, len(n.Input))
		for i, name := range n.Input {
			if name != "" {
				in[i] = im.consts[name]
			}
		}
		if in[0] == nil {
			return im.errorf("its first input is missing")
		}
		t, err := fold(im, in)
		if err != nil {
			return err
		}
		if err := im.unread(); err != nil {
			return err
		}
		return im.setConst(0, t)
	}
	h, ok := handlers[op]
	if !ok {
		if _, ok := folders[op]; ok {
			return im.errorf("nnc folds %s over constant inputs only, and an input is computed at run time", op)
		}
		return im.errorf("the op is not supported")
	}
	if err := h(im); err != nil {
		return err
	}
	return im.unread()
}

// allConst reports whether every input of the node is known when
// compiling.
func (im *importer) allConst() bool {
	for _, name := range im.node.Input {
		if name == "" {
			continue
		}
		if _, ok := im.consts[name]; !ok {
			return false
		}
	}
	return true
}

func (im *importer) setConst(i int, t *Tensor) error {
	if i >= len(im.node.Output) {
		return im.errorf("has no output %d", i)
	}
	if len(t.Shape) > MaxRank {
		return im.errorf("a result of more than %d dimensions", MaxRank)
	}
	if name := im.node.Output[i]; name != "" {
		im.consts[name] = t
	}
	return nil
}

func (im *importer) set(i int, v *ir.Value) error {
	if i >= len(im.node.Output) {
		return im.errorf("has no output %d", i)
	}
	if name := im.node.Output[i]; name != "" {
		im.vals[name] = v
	}
	return nil
}

// onlyOutputs refuses a node whose outputs beyond the first n are used.
func (im *importer) onlyOutputs(n int) error {
	for i, o := range im.node.Output {
		if i >= n && o != "" {
			return im.errorf("output %d (%s) is not supported", i, o)
		}
	}
	return nil
}

// in returns input i, computed at run time (constants are materialized).
func (im *importer) in(i int) (*ir.Value, error) {
	if i >= len(im.node.Input) || im.node.Input[i] == "" {
		return nil, im.errorf("input %d is missing", i)
	}
	v, err := im.value(im.node.Input[i])
	if err != nil {
		return nil, im.errorf("%v", err)
	}
	return v, nil
}

// optIn returns input i or nil when it is absent.
func (im *importer) optIn(i int) (*ir.Value, error) {
	if i >= len(im.node.Input) || im.node.Input[i] == "" {
		return nil, nil
	}
	return im.in(i)
}

// constIn returns input i when it is known when compiling.
func (im *importer) constIn(i int) (*Tensor, bool) {
	if i >= len(im.node.Input) || im.node.Input[i] == "" {
		return nil, false
	}
	t, ok := im.consts[im.node.Input[i]]
	return t, ok
}

// op adds a value, its shape rule's refusal becoming the node's error.
func (im *importer) op(op ir.Op, attrs ir.Attrs, args ...*ir.Value) (*ir.Value, error) {
	v, err := im.b.Op(op, attrs, im.pos(), args...)
	if err != nil {
		return nil, im.errorf("%v", err)
	}
	return v, nil
}

func (im *importer) reshapeTo(x *ir.Value, shape ir.Shape) (*ir.Value, error) {
	if x.Type.Shape.Equal(shape) {
		return x, nil
	}
	v, err := im.b.Declared(ir.OpReshape, ir.Type{DType: x.Type.DType, Shape: shape}, nil, im.pos(), x)
	if err != nil {
		return nil, im.errorf("%v", err)
	}
	return v, nil
}

func (im *importer) floatIn(i int) (*ir.Value, error) {
	v, err := im.in(i)
	if err != nil {
		return nil, err
	}
	if !v.Type.DType.IsFloat() {
		return nil, im.notSupported("input %d of type %s (nnc computes this op in floats)", i, v.Type.DType)
	}
	return v, nil
}

// numIn is input i, of floats or i64 (the integer types nnc reads as
// i64: ONNX's arithmetic on them is exact in i64 while no result leaves
// the narrower type's range).
func (im *importer) numIn(i int) (*ir.Value, error) {
	v, err := im.in(i)
	if err != nil {
		return nil, err
	}
	if !v.Type.DType.IsFloat() && v.Type.DType != ir.I64 {
		return nil, im.notSupported("input %d of type %s (nnc computes this op on numbers)", i, v.Type.DType)
	}
	return v, nil
}

func (im *importer) identity() error {
	x, err := im.in(0)
	if err != nil {
		return err
	}
	return im.set(0, x)
}

// dropout is the identity at inference.
func (im *importer) dropout() error {
	im.attr("ratio")
	im.attr("seed")
	if err := im.onlyOutputs(1); err != nil {
		return err
	}
	if len(im.node.Input) > 2 && im.node.Input[2] != "" {
		t, ok := im.constIn(2)
		if !ok || (len(t.I) == 1 && t.I[0] != 0) {
			return im.notSupported("dropout in training mode")
		}
	}
	if im.m.Opset < 7 {
		if test, _ := im.attrInt("is_test", 0); test == 0 {
			return im.notSupported("dropout in training mode")
		}
	}
	return im.identity()
}

func binaryOp(op ir.Op) func(im *importer) error {
	return func(im *importer) error { return im.binary(op, nil, (*importer).numIn) }
}

// binary imports a binary op whose inputs in reads, with the legacy
// broadcast before opset 7.
func (im *importer) binary(op ir.Op, attrs ir.Attrs, in func(im *importer, i int) (*ir.Value, error)) error {
	a, err := in(im, 0)
	if err != nil {
		return err
	}
	b, err := in(im, 1)
	if err != nil {
		return err
	}
	shape, err := im.legacyBroadcast(a.Type.Shape.Rank(), []int(b.Type.Shape))
	if err != nil {
		return err
	}
	if b, err = im.reshapeTo(b, ir.Shape(shape)); err != nil {
		return err
	}
	y, err := im.op(op, attrs, a, b)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

// legacyBroadcast is the shape operand b of an element-wise op takes
// before opset 7: with broadcast=1 it is aligned with a (of rank ra) from
// dimension axis, by default so that the last dimensions meet as NumPy
// aligns them; without broadcast the shapes must be equal, which NumPy's
// broadcast checks. From opset 7 on b keeps its shape.
func (im *importer) legacyBroadcast(ra int, b []int) ([]int, error) {
	if im.m.Opset >= 7 {
		return b, nil
	}
	bc, err := im.attrInt("broadcast", 0)
	if err != nil {
		return nil, err
	}
	axis, err := im.attrInt("axis", ra-len(b))
	if err != nil {
		return nil, err
	}
	if bc == 0 {
		if im.has("axis") {
			return nil, im.errorf("attribute axis without broadcast=1")
		}
		return b, nil
	}
	if bc != 1 {
		return nil, im.notSupported("broadcast=%d", bc)
	}
	if axis < 0 {
		axis += ra
	}
	if len(b) > ra || axis < 0 || axis+len(b) > ra {
		return nil, im.errorf("the second operand's %d dimensions do not fit from axis %d into %d", len(b), axis, ra)
	}
	shape := make([]int, 0, ra)
	for range axis {
		shape = append(shape, 1)
	}
	shape = append(shape, b...)
	for len(shape) < ra {
		shape = append(shape, 1)
	}
	return shape, nil
}

func unaryOp(op ir.Op) func(im *importer) error { return unaryIn(op, (*importer).floatIn) }

// numUnaryOp is an element-wise op of floats or i64.
func numUnaryOp(op ir.Op) func(im *importer) error { return unaryIn(op, (*importer).numIn) }

func unaryIn(op ir.Op, in func(im *importer, i int) (*ir.Value, error)) func(im *importer) error {
	return func(im *importer) error {
		x, err := in(im, 0)
		if err != nil {
			return err
		}
		y, err := im.op(op, nil, x)
		if err != nil {
			return err
		}
		return im.set(0, y)
	}
}

// matmul is numpy.matmul: a 1-D operand is a row (a) or a column (b).
func (im *importer) matmul() error {
	a, err := im.floatIn(0)
	if err != nil {
		return err
	}
	b, err := im.floatIn(1)
	if err != nil {
		return err
	}
	ra, rb := a.Type.Shape.Rank(), b.Type.Shape.Rank()
	if ra == 0 || rb == 0 {
		return im.errorf("matmul of a scalar")
	}
	a2, b2 := a, b
	if ra == 1 {
		if a2, err = im.reshapeTo(a, ir.Shape{1, a.Type.Shape[0]}); err != nil {
			return err
		}
	}
	if rb == 1 {
		if b2, err = im.reshapeTo(b, ir.Shape{b.Type.Shape[0], 1}); err != nil {
			return err
		}
	}
	y, err := im.op(ir.OpMatMul, nil, a2, b2)
	if err != nil {
		return err
	}
	if ra == 1 || rb == 1 {
		s := y.Type.Shape
		out := slices.Clone(s[:s.Rank()-2])
		if ra != 1 {
			out = append(out, s[s.Rank()-2])
		}
		if rb != 1 {
			out = append(out, s[s.Rank()-1])
		}
		if y, err = im.reshapeTo(y, out); err != nil {
			return err
		}
	}
	return im.set(0, y)
}

// gemm is alpha·op(A)·op(B) + beta·C; with B transposed (PyTorch's
// Linear) it is the MatMul{tb} + Add that package build emits for Linear,
// which the fuse pass turns into one Linear.
func (im *importer) gemm() error {
	alpha, err := im.attrFloat("alpha", 1)
	if err != nil {
		return err
	}
	beta, err := im.attrFloat("beta", 1)
	if err != nil {
		return err
	}
	ta, err := im.attrInt("transA", 0)
	if err != nil {
		return err
	}
	tb, err := im.attrInt("transB", 0)
	if err != nil {
		return err
	}
	if im.m.Opset < 7 && im.has("broadcast") {
		im.attr("broadcast")
	}
	a, err := im.floatIn(0)
	if err != nil {
		return err
	}
	b, err := im.floatIn(1)
	if err != nil {
		return err
	}
	if a.Type.Shape.Rank() != 2 || b.Type.Shape.Rank() != 2 {
		return im.errorf("A %s and B %s must be 2-D", a.Type.Shape, b.Type.Shape)
	}
	var attrs ir.Attrs
	if ta != 0 {
		if a.Type.Shape.HasBatch() {
			return im.notSupported("transA of a batched input")
		}
		attrs = append(attrs, ir.Attr{Key: "ta", Val: true})
	}
	if tb != 0 {
		attrs = append(attrs, ir.Attr{Key: "tb", Val: true})
	}
	y, err := im.op(ir.OpMatMul, attrs, a, b)
	if err != nil {
		return err
	}
	if alpha != 1 {
		s, err := im.b.Const(alpha, y.Type.DType, im.pos())
		if err != nil {
			return im.errorf("%v", err)
		}
		if y, err = im.op(ir.OpMul, nil, y, s); err != nil {
			return err
		}
	}
	c, err := im.optIn(2)
	if err != nil {
		return err
	}
	if c != nil && beta != 0 {
		if beta != 1 {
			s, err := im.b.Const(beta, c.Type.DType, im.pos())
			if err != nil {
				return im.errorf("%v", err)
			}
			if c, err = im.op(ir.OpMul, nil, c, s); err != nil {
				return err
			}
		}
		if y, err = im.op(ir.OpAdd, nil, y, c); err != nil {
			return err
		}
	}
	return im.set(0, y)
}

// softmax: from opset 13 along one axis (default -1); before it, over the
// input flattened to 2-D at axis (default 1), the same when axis is the
// last, and computed through a reshape otherwise.
func softmax(op ir.Op) func(im *importer) error {
	return func(im *importer) error {
		x, err := im.floatIn(0)
		if err != nil {
			return err
		}
		r := x.Type.Shape.Rank()
		def := -1
		if im.m.Opset < 13 {
			def = 1
		}
		axis, err := im.attrInt("axis", def)
		if err != nil {
			return err
		}
		a, ok := ir.NormAxis(axis, r)
		if !ok {
			return im.errorf("axis %d out of range for %s", axis, x.Type.Shape)
		}
		if im.m.Opset >= 13 || a == r-1 {
			y, err := im.op(op, ir.Attrs{{Key: "dim", Val: a}}, x)
			if err != nil {
				return err
			}
			return im.set(0, y)
		}
		s := x.Type.Shape
		inner := 1
		for _, d := range s[a:] {
			if d == ir.Batch {
				return im.notSupported("softmax over the batch dimension")
			}
			inner *= d
		}
		outer := slices.Clone(s[:a])
		flat, err := im.reshapeTo(x, append(outer, inner))
		if err != nil {
			return err
		}
		y, err := im.op(op, ir.Attrs{{Key: "dim", Val: -1}}, flat)
		if err != nil {
			return err
		}
		if y, err = im.reshapeTo(y, s); err != nil {
			return err
		}
		return im.set(0, y)
	}
}

// pads2d checks the window attributes shared by Conv and MaxPool and
// returns the square kernel, the stride and the padding.
func (im *importer) window(x *ir.Value, kernel []int) (k, stride, pad int, err error) {
	if x.Type.Shape.Rank() != 4 || len(kernel) != 2 {
		return 0, 0, 0, im.notSupported("a window over %d spatial dimensions (nnc has 2-D windows)", x.Type.Shape.Rank()-2)
	}
	if kernel[0] != kernel[1] {
		return 0, 0, 0, im.notSupported("a %dx%d kernel (nnc's are square)", kernel[0], kernel[1])
	}
	k = kernel[0]
	strides, ok, err := im.attrInts("strides")
	if err != nil {
		return 0, 0, 0, err
	}
	stride = 1
	if ok {
		if len(strides) != 2 || strides[0] != strides[1] || strides[0] <= 0 {
			return 0, 0, 0, im.notSupported("strides %v (nnc's are equal)", strides)
		}
		stride = strides[0]
	}
	dil, ok, err := im.attrInts("dilations")
	if err != nil {
		return 0, 0, 0, err
	}
	if ok && slices.ContainsFunc(dil, func(d int) bool { return d != 1 }) {
		return 0, 0, 0, im.notSupported("dilations %v", dil)
	}
	pads, ok, err := im.attrInts("pads")
	if err != nil {
		return 0, 0, 0, err
	}
	if ok {
		if len(pads) != 4 || slices.ContainsFunc(pads, func(p int) bool { return p != pads[0] }) || pads[0] < 0 {
			return 0, 0, 0, im.notSupported("pads %v (nnc pads every side alike)", pads)
		}
		pad = pads[0]
	}
	autoPad, err := im.attrString("auto_pad", "NOTSET")
	if err != nil {
		return 0, 0, 0, err
	}
	switch autoPad {
	case "NOTSET":
	case "VALID":
		pad = 0
	case "SAME_UPPER", "SAME_LOWER":
		// The same padding on every side when it is even in total.
		h, w := x.Type.Shape[2], x.Type.Shape[3]
		if stride != 1 || (k-1)%2 != 0 || h <= 0 || w <= 0 {
			return 0, 0, 0, im.notSupported("auto_pad %s with kernel %d and stride %d (uneven padding)", autoPad, k, stride)
		}
		pad = (k - 1) / 2
	default:
		return 0, 0, 0, im.errorf("unknown auto_pad %q", autoPad)
	}
	return k, stride, pad, nil
}

func (im *importer) conv() error {
	x, err := im.floatIn(0)
	if err != nil {
		return err
	}
	w, err := im.floatIn(1)
	if err != nil {
		return err
	}
	b, err := im.optIn(2)
	if err != nil {
		return err
	}
	group, err := im.attrInt("group", 1)
	if err != nil {
		return err
	}
	kernel, ok, err := im.attrInts("kernel_shape")
	if err != nil {
		return err
	}
	if !ok && w.Type.Shape.Rank() > 2 {
		kernel = slices.Clone(w.Type.Shape[2:])
	}
	if w.Type.Shape.Rank() < 3 || !slices.Equal(kernel, []int(w.Type.Shape[2:])) {
		return im.errorf("kernel_shape %v disagrees with the weight %s", kernel, w.Type.Shape)
	}
	// nnc's Conv2d (which batch norm folds into, and the fuse pass fuses
	// with relu) when it fits; the N-d Conv otherwise.
	_, stride, pad, err := im.window(x, kernel)
	if err != nil || group != 1 {
		if _, nd := err.(*nodeError); err != nil && !nd {
			return err
		}
		return im.convND(x, w, b, group, kernel)
	}
	attrs := ir.Attrs{{Key: "stride", Val: stride}, {Key: "padding", Val: pad}}
	var y *ir.Value
	if b != nil {
		y, err = im.op(ir.OpConv2d, attrs, x, w, b)
	} else {
		y, err = im.op(ir.OpConv2d, attrs, x, w)
	}
	if err != nil {
		return err
	}
	return im.set(0, y)
}

func (im *importer) maxPool() error {
	x, err := im.floatIn(0)
	if err != nil {
		return err
	}
	if err := im.onlyOutputs(1); err != nil {
		return err
	}
	kernel, _, err := im.attrInts("kernel_shape")
	if err != nil {
		return err
	}
	ceil, err := im.attrInt("ceil_mode", 0)
	if err != nil {
		return err
	}
	order, err := im.attrInt("storage_order", 0)
	if err != nil {
		return err
	}
	if order != 0 {
		return im.notSupported("storage_order = %d", order)
	}
	k, stride, pad, err := im.window(x, kernel)
	if err != nil || pad != 0 || (ceil != 0 && (x.Type.Shape[2]-k)%stride != 0) {
		return im.maxPoolND(x, kernel)
	}
	y, err := im.op(ir.OpMaxPool2d, ir.Attrs{{Key: "kernel", Val: k}, {Key: "stride", Val: stride}}, x)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

func (im *importer) batchNorm() error {
	eps, err := im.attrFloat("epsilon", 1e-5)
	if err != nil {
		return err
	}
	im.attr("momentum")
	train, err := im.attrInt("training_mode", 0)
	if err != nil {
		return err
	}
	if im.m.Opset < 7 {
		if test, _ := im.attrInt("is_test", 0); test == 0 {
			return im.notSupported("batch normalization in training mode")
		}
	}
	if spatial, err := im.attrInt("spatial", 1); err != nil || spatial != 1 {
		return im.notSupported("spatial = 0")
	}
	if train != 0 {
		return im.notSupported("training_mode = 1")
	}
	if err := im.onlyOutputs(1); err != nil {
		return err
	}
	var args []*ir.Value
	for i := range 5 {
		v, err := im.floatIn(i)
		if err != nil {
			return err
		}
		args = append(args, v)
	}
	// [N, C, D...] other than [N, C] and [N, C, H, W] as [N, C, D, 1].
	s := args[0].Type.Shape
	if r := s.Rank(); r == 3 || r > 4 {
		d := 1
		for _, x := range s[2:] {
			d *= x
		}
		if args[0], err = im.reshapeTo(args[0], ir.Shape{s[0], s[1], d, 1}); err != nil {
			return err
		}
	}
	y, err := im.op(ir.OpBatchNorm, ir.Attrs{{Key: "eps", Val: eps}}, args...)
	if err != nil {
		return err
	}
	if y, err = im.reshapeTo(y, s); err != nil {
		return err
	}
	return im.set(0, y)
}

func (im *importer) layerNorm() error {
	eps, err := im.attrFloat("epsilon", 1e-5)
	if err != nil {
		return err
	}
	axis, err := im.attrInt("axis", -1)
	if err != nil {
		return err
	}
	stash, err := im.attrInt("stash_type", 1)
	if err != nil {
		return err
	}
	if err := im.onlyOutputs(3); err != nil {
		return err
	}
	x, err := im.floatIn(0)
	if err != nil {
		return err
	}
	// stash_type is the statistics' element type (TensorProto's codes):
	// nnc computes them in x's own, so it must be that one.
	if code := map[ir.DType]int{ir.F32: 1, ir.F64: 11}[x.Type.DType]; stash != code {
		return im.notSupported("stash_type = %d for %s input (nnc computes the statistics in the input's type, %d)", stash, x.Type.DType, code)
	}
	r := x.Type.Shape.Rank()
	a, ok := ir.NormAxis(axis, r)
	if !ok {
		return im.errorf("axis %d out of range for %s", axis, x.Type.Shape)
	}
	w, err := im.floatIn(1)
	if err != nil {
		return err
	}
	b, err := im.optIn(2)
	if err != nil {
		return err
	}
	outs := im.node.Output
	statsUsed := len(outs) > 1 && outs[1] != "" || len(outs) > 2 && outs[2] != ""
	if a == r-1 && b != nil && !statsUsed {
		y, err := im.op(ir.OpLayerNorm, ir.Attrs{{Key: "eps", Val: eps}}, x, w, b)
		if err != nil {
			return err
		}
		return im.set(0, y)
	}
	return im.layerNormND(x, w, b, a, eps)
}

// layerNormND is LayerNormalization over the axes from a on, written as
// ONNX's function body: Mean, D = x − Mean, InvStdDev = 1/√(mean(D²) +
// eps), y = D·InvStdDev·scale + bias; Mean and InvStdDev are outputs 1 and
// 2, their normalized axes kept as 1.
func (im *importer) layerNormND(x, w, b *ir.Value, a int, eps float64) error {
	var axes []int
	for i := a; i < x.Type.Shape.Rank(); i++ {
		axes = append(axes, i)
	}
	reduce := ir.Attrs{{Key: "axes", Val: axes}, {Key: "keepdims", Val: 1}}
	e, err := im.scalar(eps, x)
	if err != nil {
		return err
	}
	mean, err := im.op(ir.OpReduceMean, reduce, x)
	if err != nil {
		return err
	}
	d, err := im.op(ir.OpSub, nil, x, mean)
	if err != nil {
		return err
	}
	v, err := im.op(ir.OpMul, nil, d, d)
	if err == nil {
		v, err = im.op(ir.OpReduceMean, reduce, v)
	}
	if err == nil {
		v, err = im.op(ir.OpAdd, nil, v, e)
	}
	if err == nil {
		v, err = im.op(ir.OpSqrt, nil, v)
	}
	var inv *ir.Value
	if err == nil {
		inv, err = im.op(ir.OpReciprocal, nil, v)
	}
	var y *ir.Value
	if err == nil {
		y, err = im.op(ir.OpMul, nil, d, inv)
	}
	if err == nil {
		y, err = im.op(ir.OpMul, nil, y, w)
	}
	if err == nil && b != nil {
		y, err = im.op(ir.OpAdd, nil, y, b)
	}
	if err != nil {
		return err
	}
	if !y.Type.Shape.Equal(x.Type.Shape) {
		return im.errorf("scale or bias does not broadcast to the normalized axes of %s", x.Type.Shape)
	}
	for i, o := range []*ir.Value{y, mean, inv} {
		if i < len(im.node.Output) {
			if err := im.set(i, o); err != nil {
				return err
			}
		}
	}
	return nil
}

func (im *importer) flatten() error {
	axis, err := im.attrInt("axis", 1)
	if err != nil {
		return err
	}
	x, err := im.in(0)
	if err != nil {
		return err
	}
	s := x.Type.Shape
	a := axis
	if a < 0 {
		a += s.Rank()
	}
	if a < 0 || a > s.Rank() {
		return im.errorf("axis %d out of range for %s", axis, s)
	}
	prod := func(ds ir.Shape) (int, error) {
		n := 1
		for _, d := range ds {
			if d == ir.Batch {
				if len(ds) != 1 {
					return 0, im.notSupported("flattening the batch dimension with others")
				}
				return ir.Batch, nil
			}
			n *= d
		}
		return n, nil
	}
	d0, err := prod(s[:a])
	if err != nil {
		return err
	}
	d1, err := prod(s[a:])
	if err != nil {
		return err
	}
	y, err := im.reshapeTo(x, ir.Shape{d0, d1})
	if err != nil {
		return err
	}
	return im.set(0, y)
}

func (im *importer) reshape() error {
	x, err := im.in(0)
	if err != nil {
		return err
	}
	var spec *Tensor
	if im.m.Opset < 5 {
		s, _, err := im.attrInts("shape")
		if err != nil {
			return err
		}
		spec = &Tensor{DType: ir.I64, Shape: []int{len(s)}}
		for _, d := range s {
			spec.I = append(spec.I, int64(d))
		}
	} else {
		var ok bool
		if spec, ok = im.constIn(1); !ok {
			return im.notSupported("a shape computed at run time (nnc folds shapes when compiling)")
		}
	}
	shape, err := im.targetShape(x.Type.Shape, spec)
	if err != nil {
		return err
	}
	y, err := im.reshapeTo(x, shape)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

func (im *importer) unsqueeze() error {
	x, err := im.in(0)
	if err != nil {
		return err
	}
	var in []*Tensor
	if t, ok := im.constIn(1); ok {
		in = []*Tensor{nil, t}
	} else if im.m.Opset >= 13 {
		return im.notSupported("axes computed at run time")
	}
	axes, _, err := im.axisList(in, 13)
	if err != nil {
		return err
	}
	shape, err := im.unsqueezeShape(x.Type.Shape, axes)
	if err != nil {
		return err
	}
	y, err := im.reshapeTo(x, shape)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

func (im *importer) squeeze() error {
	x, err := im.in(0)
	if err != nil {
		return err
	}
	var in []*Tensor
	if t, ok := im.constIn(1); ok {
		in = []*Tensor{nil, t}
	} else if im.m.Opset >= 13 && len(im.node.Input) > 1 && im.node.Input[1] != "" {
		return im.notSupported("axes computed at run time")
	}
	axes, given, err := im.axisList(in, 13)
	if err != nil {
		return err
	}
	shape, err := im.squeezeShape(x.Type.Shape, axes, given)
	if err != nil {
		return err
	}
	y, err := im.reshapeTo(x, shape)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

// transpose applies perm as a sequence of swaps of two axes.
func (im *importer) transpose() error {
	x, err := im.in(0)
	if err != nil {
		return err
	}
	r := x.Type.Shape.Rank()
	perm, ok, err := im.attrInts("perm")
	if err != nil {
		return err
	}
	if !ok {
		for i := range r {
			perm = append(perm, r-1-i)
		}
	}
	if len(perm) != r {
		return im.errorf("perm %v for rank %d", perm, r)
	}
	seen := make([]bool, r)
	for _, p := range perm {
		if p < 0 || p >= r || seen[p] {
			return im.errorf("perm %v is not a permutation", perm)
		}
		seen[p] = true
	}
	// cur[i] is the input axis now at position i.
	cur := make([]int, r)
	for i := range cur {
		cur[i] = i
	}
	y := x
	for i := range r {
		if cur[i] == perm[i] {
			continue
		}
		j := slices.Index(cur, perm[i])
		if y, err = im.op(ir.OpTranspose, ir.Attrs{{Key: "d0", Val: i}, {Key: "d1", Val: j}}, y); err != nil {
			return err
		}
		cur[i], cur[j] = cur[j], cur[i]
	}
	return im.set(0, y)
}

// gather of the rows of a 2-D float table by run-time ids is an Embedding.
func (im *importer) gather() error {
	axis, err := im.attrInt("axis", 0)
	if err != nil {
		return err
	}
	w, err := im.in(0)
	if err != nil {
		return err
	}
	ids, err := im.in(1)
	if err != nil {
		return err
	}
	if axis != 0 || w.Type.Shape.Rank() != 2 || !w.Type.DType.IsFloat() || ids.Type.DType != ir.I64 || w.Op != ir.OpParam {
		y, err := im.op(ir.OpGather, ir.Attrs{{Key: "axis", Val: axis}}, w, ids)
		if err != nil {
			return err
		}
		return im.set(0, y)
	}
	y, err := im.op(ir.OpEmbedding, nil, ids, w)
	if err != nil {
		return err
	}
	return im.set(0, y)
}
