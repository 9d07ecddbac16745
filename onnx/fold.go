package onnx

import (
	"math"
	"slices"

	"github.com/nnc-go/nnc/ir"
)

// Folding evaluates, when compiling, the nodes whose inputs are all known
// then: the shape computations PyTorch exports (x.view(x.size(0), -1) is
// Shape → Gather → Unsqueeze → Concat → Reshape) and arithmetic on
// constants. The symbolic batch size travels through them as batchDim and
// may be copied, not computed with.

// folders evaluate one op over constant inputs.
var folders = map[string]func(im *importer, in []*Tensor) (*Tensor, error){
	"Identity":        foldIdentity,
	"Cast":            foldCast,
	"Gather":          foldGather,
	"Unsqueeze":       foldUnsqueeze,
	"Squeeze":         foldSqueeze,
	"Concat":          foldConcat,
	"Reshape":         foldReshape,
	"Slice":           foldSlice,
	"Add":             foldBinary(func(a, b float64) float64 { return a + b }),
	"Sub":             foldBinary(func(a, b float64) float64 { return a - b }),
	"Mul":             foldBinary(func(a, b float64) float64 { return a * b }),
	"Div":             foldBinary(func(a, b float64) float64 { return a / b }),
	"Equal":           foldBinary(func(a, b float64) float64 { return b2f(a == b) }),
	"Less":            foldBinary(func(a, b float64) float64 { return b2f(a < b) }),
	"Greater":         foldBinary(func(a, b float64) float64 { return b2f(a > b) }),
	"Neg":             foldUnary(func(a float64) float64 { return -a }),
	"Sqrt":            foldUnary(math.Sqrt),
	"Where":           foldWhere,
	"ConstantOfShape": foldConstantOfShape,
	"Range":           foldRange,
	"Size": func(im *importer, in []*Tensor) (*Tensor, error) {
		return &Tensor{DType: ir.I64, Shape: []int{}, I: []int64{int64(in[0].Elems())}}, nil
	},
	"Shape": func(im *importer, in []*Tensor) (*Tensor, error) {
		return im.shapeOf(ir.Type{DType: in[0].DType, Shape: in[0].Shape})
	},
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func foldIdentity(im *importer, in []*Tensor) (*Tensor, error) {
	if len(in) != 1 {
		return nil, im.errorf("takes one input, has %d", len(in))
	}
	return in[0], nil
}

// get returns element i as a float64, refusing the batch size.
func (t *Tensor) get(i int) (float64, bool) {
	if t.DType.IsFloat() {
		return t.F[i], true
	}
	if t.I[i] == batchDim {
		return 0, false
	}
	return float64(t.I[i]), true
}

func newTensor(dt ir.DType, shape []int) *Tensor {
	t := &Tensor{DType: dt, Shape: shape}
	if dt.IsFloat() {
		t.F = make([]float64, t.Elems())
	} else {
		t.I = make([]int64, t.Elems())
	}
	return t
}

func (t *Tensor) set(i int, v float64) {
	switch {
	case t.DType.IsFloat():
		if t.DType == ir.F32 {
			v = float64(float32(v))
		}
		t.F[i] = v
	case t.DType == ir.Bool:
		t.I[i] = int64(b2f(v != 0))
	default:
		t.I[i] = int64(v)
	}
}

// copyElem copies element j of s to element i of t, of the same kind.
func (t *Tensor) copyElem(i int, s *Tensor, j int) {
	if t.DType.IsFloat() {
		t.F[i] = s.F[j]
	} else {
		t.I[i] = s.I[j]
	}
}

func foldCast(im *importer, in []*Tensor) (*Tensor, error) {
	to, err := im.attrInt("to", 0)
	if err != nil {
		return nil, err
	}
	im.attr("saturate")
	dt, ok := dtypeOf(int32(to))
	if !ok {
		return nil, im.notSupported("cast to %s", typeName(int32(to)))
	}
	x := in[0]
	if x.DType.IsFloat() == dt.IsFloat() && dt != ir.Bool {
		out := *x
		out.DType = dt
		return &out, nil
	}
	out := newTensor(dt, slices.Clone(x.Shape))
	for i := range out.Elems() {
		v, ok := x.get(i)
		if !ok {
			return nil, im.errorf("casts the symbolic batch size")
		}
		if !dt.IsFloat() && dt != ir.Bool {
			v = math.Trunc(v)
		}
		out.set(i, v)
	}
	return out, nil
}

// broadcastShapes returns the NumPy broadcast of a and b.
func broadcastShapes(a, b []int) ([]int, bool) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, false
		}
	}
	return out, true
}

// strides returns the row-major strides of shape.
func strides(shape []int) []int {
	s := make([]int, len(shape))
	n := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = n
		n *= shape[i]
	}
	return s
}

// bindex maps flat index i of shape out to the flat index of an operand of
// shape in broadcast to it.
func bindex(i int, out, in []int) int {
	j, stride := 0, 1
	for d := len(out) - 1; d >= 0; d-- {
		c := i % out[d]
		i /= out[d]
		if k := d - (len(out) - len(in)); k >= 0 {
			if in[k] != 1 {
				j += c * stride
			}
			stride *= in[k]
		}
	}
	return j
}

func foldBinary(f func(a, b float64) float64) func(im *importer, in []*Tensor) (*Tensor, error) {
	return func(im *importer, in []*Tensor) (*Tensor, error) {
		if len(in) != 2 {
			return nil, im.errorf("takes two inputs, has %d", len(in))
		}
		a, b := in[0], in[1]
		bshape, err := im.legacyBroadcast(len(a.Shape), b.Shape)
		if err != nil {
			return nil, err
		}
		b = &Tensor{DType: b.DType, Shape: bshape, F: b.F, I: b.I}
		shape, ok := broadcastShapes(a.Shape, b.Shape)
		if !ok {
			return nil, im.errorf("shapes %v and %v do not broadcast", a.Shape, b.Shape)
		}
		if !checkElems(shape) {
			return nil, im.errorf("a result of more than %d elements", MaxFolded)
		}
		dt := a.DType
		switch im.node.GetOpType() {
		case "Equal", "Less", "Greater":
			dt = ir.Bool
		}
		out := newTensor(dt, shape)
		intDiv := im.node.GetOpType() == "Div" && !a.DType.IsFloat()
		for i := range out.Elems() {
			x, ok1 := a.get(bindex(i, shape, a.Shape))
			y, ok2 := b.get(bindex(i, shape, b.Shape))
			if !ok1 || !ok2 {
				return nil, im.errorf("computes with the symbolic batch size, which nnc cannot fold")
			}
			if intDiv {
				if y == 0 {
					return nil, im.errorf("integer division by zero")
				}
				out.set(i, math.Trunc(x/y))
				continue
			}
			out.set(i, f(x, y))
		}
		return out, nil
	}
}

// MaxFolded bounds the elements of a tensor computed when compiling:
// folding is for shapes and small constants, and a hostile file must not
// make it allocate much.
const MaxFolded = 1 << 20

// checkElems reports whether a tensor of shape may be computed when
// compiling.
func checkElems(shape []int) bool { return checkSize(shape, MaxFolded) }

// checkSize reports whether shape has at most limit elements.
func checkSize(shape []int, limit int) bool {
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > limit/d) {
			return false
		}
		n *= d
	}
	return true
}

func foldUnary(f func(float64) float64) func(im *importer, in []*Tensor) (*Tensor, error) {
	return func(im *importer, in []*Tensor) (*Tensor, error) {
		out := newTensor(in[0].DType, slices.Clone(in[0].Shape))
		for i := range out.Elems() {
			x, ok := in[0].get(i)
			if !ok {
				return nil, im.errorf("computes with the symbolic batch size, which nnc cannot fold")
			}
			out.set(i, f(x))
		}
		return out, nil
	}
}

func foldWhere(im *importer, in []*Tensor) (*Tensor, error) {
	if len(in) != 3 {
		return nil, im.errorf("takes three inputs, has %d", len(in))
	}
	c, a, b := in[0], in[1], in[2]
	shape, ok := broadcastShapes(c.Shape, a.Shape)
	if ok {
		shape, ok = broadcastShapes(shape, b.Shape)
	}
	if !ok || !checkElems(shape) {
		return nil, im.errorf("shapes %v, %v and %v do not broadcast", c.Shape, a.Shape, b.Shape)
	}
	out := newTensor(a.DType, shape)
	for i := range out.Elems() {
		if c.I[bindex(i, shape, c.Shape)] != 0 {
			out.copyElem(i, a, bindex(i, shape, a.Shape))
		} else {
			out.copyElem(i, b, bindex(i, shape, b.Shape))
		}
	}
	return out, nil
}

// axisList reads the axes of Unsqueeze, Squeeze or a reduction: the
// attribute before opset 13, the second input from it.
func (im *importer) axisList(in []*Tensor, opset13 int) ([]int, bool, error) {
	if im.m.Opset >= opset13 {
		if len(in) < 2 || in[1] == nil {
			return nil, false, nil
		}
		if in[1].DType.IsFloat() || len(in[1].I) > MaxRank*2 {
			return nil, false, im.errorf("axes must be a short list of integers")
		}
		out := make([]int, len(in[1].I))
		for i, x := range in[1].I {
			if x < -MaxRank*2 || x > MaxRank*2 {
				return nil, false, im.errorf("axis %d out of range", x)
			}
			out[i] = int(x)
		}
		return out, true, nil
	}
	return im.attrInts("axes")
}

// unsqueezeShape inserts the axes into shape.
func (im *importer) unsqueezeShape(shape []int, axes []int) ([]int, error) {
	r := len(shape) + len(axes)
	if r > MaxRank {
		return nil, im.errorf("more than %d dimensions", MaxRank)
	}
	mark := make([]bool, r)
	for _, a := range axes {
		if a < 0 {
			a += r
		}
		if a < 0 || a >= r || mark[a] {
			return nil, im.errorf("axes %v out of range or repeated for rank %d", axes, r)
		}
		mark[a] = true
	}
	out := make([]int, 0, r)
	j := 0
	for i := range r {
		if mark[i] {
			out = append(out, 1)
		} else {
			out = append(out, shape[j])
			j++
		}
	}
	return out, nil
}

// squeezeShape removes the axes (every axis of size 1 when there are none).
func (im *importer) squeezeShape(shape []int, axes []int, given bool) ([]int, error) {
	mark := make([]bool, len(shape))
	if !given {
		for i, d := range shape {
			mark[i] = d == 1
		}
	}
	for _, a := range axes {
		if a < 0 {
			a += len(shape)
		}
		if a < 0 || a >= len(shape) || shape[a] != 1 {
			return nil, im.errorf("cannot squeeze axis %d of shape %v", a, shape)
		}
		mark[a] = true
	}
	var out []int
	for i, d := range shape {
		if !mark[i] {
			out = append(out, d)
		}
	}
	return out, nil
}

func foldUnsqueeze(im *importer, in []*Tensor) (*Tensor, error) {
	axes, _, err := im.axisList(in, 13)
	if err != nil {
		return nil, err
	}
	shape, err := im.unsqueezeShape(in[0].Shape, axes)
	if err != nil {
		return nil, err
	}
	out := *in[0]
	out.Shape = shape
	return &out, nil
}

func foldSqueeze(im *importer, in []*Tensor) (*Tensor, error) {
	axes, given, err := im.axisList(in, 13)
	if err != nil {
		return nil, err
	}
	shape, err := im.squeezeShape(in[0].Shape, axes, given)
	if err != nil {
		return nil, err
	}
	out := *in[0]
	out.Shape = shape
	return &out, nil
}

func foldConcat(im *importer, in []*Tensor) (*Tensor, error) {
	axis, err := im.attrInt("axis", 0)
	if err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, im.errorf("no inputs")
	}
	r := len(in[0].Shape)
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		return nil, im.errorf("axis out of range for rank %d", r)
	}
	shape := slices.Clone(in[0].Shape)
	shape[axis] = 0
	for _, t := range in {
		if len(t.Shape) != r || t.DType.IsFloat() != in[0].DType.IsFloat() {
			return nil, im.errorf("inputs of different ranks or types")
		}
		for d := range r {
			if d != axis && t.Shape[d] != shape[d] {
				return nil, im.errorf("shapes %v and %v differ off the axis", in[0].Shape, t.Shape)
			}
		}
		shape[axis] += t.Shape[axis]
	}
	if !checkElems(shape) {
		return nil, im.errorf("too large a result")
	}
	out := newTensor(in[0].DType, shape)
	outer := 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	inner := 1
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	k := 0
	for o := range outer {
		for _, t := range in {
			n := t.Shape[axis] * inner
			for j := range n {
				out.copyElem(k, t, o*n+j)
				k++
			}
		}
	}
	return out, nil
}

func foldGather(im *importer, in []*Tensor) (*Tensor, error) {
	axis, err := im.attrInt("axis", 0)
	if err != nil {
		return nil, err
	}
	if len(in) != 2 {
		return nil, im.errorf("takes two inputs")
	}
	data, idx := in[0], in[1]
	r := len(data.Shape)
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r || idx.DType.IsFloat() {
		return nil, im.errorf("axis out of range or float indices")
	}
	shape := slices.Concat(data.Shape[:axis], idx.Shape, data.Shape[axis+1:])
	if !checkElems(shape) || len(shape) > MaxRank {
		return nil, im.errorf("too large a result")
	}
	out := newTensor(data.DType, shape)
	outer := 1
	for _, d := range data.Shape[:axis] {
		outer *= d
	}
	inner := 1
	for _, d := range data.Shape[axis+1:] {
		inner *= d
	}
	n := data.Shape[axis]
	k := 0
	for o := range outer {
		for _, ix := range idx.I {
			if ix < 0 {
				ix += int64(n)
			}
			if ix < 0 || ix >= int64(n) {
				return nil, im.errorf("index %d out of range [0, %d)", ix, n)
			}
			for j := range inner {
				out.copyElem(k, data, (o*n+int(ix))*inner+j)
				k++
			}
		}
	}
	return out, nil
}

// targetShape resolves Reshape's shape tensor against the input's shape:
// 0 copies the input's dimension (unless allowzero), -1 is inferred,
// batchDim is the batch (returned as ir.Batch).
func (im *importer) targetShape(in []int, spec *Tensor) ([]int, error) {
	allowZero, err := im.attrInt("allowzero", 0)
	if err != nil {
		return nil, err
	}
	if spec.DType.IsFloat() || len(spec.Shape) != 1 || len(spec.I) > MaxRank {
		return nil, im.errorf("the shape must be a 1-D list of at most %d integers", MaxRank)
	}
	out := make([]int, len(spec.I))
	infer := -1
	known := 1
	for i, d := range spec.I {
		switch {
		case d == batchDim:
			out[i] = ir.Batch
			continue
		case d == 0 && allowZero == 0:
			if i >= len(in) {
				return nil, im.errorf("shape %v copies a dimension the input %v lacks", spec.I, in)
			}
			out[i] = in[i]
			if in[i] == ir.Batch {
				continue
			}
		case d == -1:
			if infer >= 0 {
				return nil, im.errorf("shape %v infers two dimensions", spec.I)
			}
			infer = i
			continue
		case d <= 0 || d > MaxElems:
			return nil, im.errorf("shape %v has dimension %d", spec.I, d)
		default:
			out[i] = int(d)
		}
		if out[i] > 0 && known > MaxElems/out[i] {
			return nil, im.errorf("shape %v is too large", spec.I)
		}
		known *= max(out[i], 1)
	}
	total := 1
	for _, d := range in {
		if d != ir.Batch {
			total *= d
		}
	}
	inBatch := slices.Contains(in, ir.Batch)
	outBatch := slices.Contains(out, ir.Batch)
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, im.errorf("cannot reshape %s into %v", ir.Shape(in), spec.I)
		}
		if inBatch && !outBatch {
			// [N, ...] to [-1, ...]: the inferred dimension is the batch
			// when the rest accounts for every other element.
			if total/known != 1 {
				return nil, im.errorf("reshape of %s into %v mixes the batch with other dimensions", ir.Shape(in), spec.I)
			}
			out[infer] = ir.Batch
		} else {
			out[infer] = total / known
		}
	}
	if slices.Contains(out, ir.Batch) != inBatch {
		return nil, im.errorf("reshape of %s into %v mixes the batch with other dimensions", ir.Shape(in), spec.I)
	}
	return out, nil
}

func foldReshape(im *importer, in []*Tensor) (*Tensor, error) {
	if len(in) != 2 {
		return nil, im.errorf("takes two inputs")
	}
	shape, err := im.targetShape(in[0].Shape, in[1])
	if err != nil {
		return nil, err
	}
	if slices.Contains(shape, ir.Batch) || !checkSize(shape, MaxElems) {
		return nil, im.errorf("bad shape %v", shape)
	}
	out := *in[0]
	out.Shape = shape
	if out.Elems() != in[0].Elems() {
		return nil, im.errorf("cannot reshape %v into %v", in[0].Shape, shape)
	}
	return &out, nil
}

// sliceRange resolves one axis of Slice: start, end and step clamped as
// the spec says, and the number of elements taken.
func sliceRange(start, end, step int64, dim int) (int, int) {
	n := int64(dim)
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if step > 0 {
		start = min(max(start, 0), n)
		end = min(max(end, 0), n)
		if end <= start {
			return int(start), 0
		}
		return int(start), int((end - start + step - 1) / step)
	}
	start = min(max(start, -1), n-1)
	end = min(max(end, -1), n-1)
	if end >= start {
		return int(start), 0
	}
	return int(start), int((start - end - step - 1) / -step)
}

func foldSlice(im *importer, in []*Tensor) (*Tensor, error) {
	x := in[0]
	r := len(x.Shape)
	var starts, ends, axes, steps []int64
	if im.m.Opset < 10 {
		s, _, err := im.attrInts("starts")
		if err != nil {
			return nil, err
		}
		e, _, err := im.attrInts("ends")
		if err != nil {
			return nil, err
		}
		a, _, err := im.attrInts("axes")
		if err != nil {
			return nil, err
		}
		for i := range s {
			starts = append(starts, int64(s[i]))
		}
		for i := range e {
			ends = append(ends, int64(e[i]))
		}
		for i := range a {
			axes = append(axes, int64(a[i]))
		}
	} else {
		get := func(i int) []int64 {
			if i < len(in) && in[i] != nil && !in[i].DType.IsFloat() {
				return in[i].I
			}
			return nil
		}
		starts, ends, axes, steps = get(1), get(2), get(3), get(4)
	}
	if len(starts) != len(ends) || len(starts) > r {
		return nil, im.errorf("starts and ends of different lengths")
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	if steps == nil {
		steps = make([]int64, len(starts))
		for i := range steps {
			steps[i] = 1
		}
	}
	if len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, im.errorf("axes or steps of the wrong length")
	}
	begin := make([]int, r)
	step := make([]int, r)
	shape := slices.Clone(x.Shape)
	for i := range step {
		step[i] = 1
	}
	for i, a := range axes {
		if a < 0 {
			a += int64(r)
		}
		if a < 0 || a >= int64(r) || steps[i] == 0 {
			return nil, im.errorf("axis %d or step %d out of range", axes[i], steps[i])
		}
		begin[a], shape[a] = sliceRange(starts[i], ends[i], steps[i], x.Shape[a])
		step[a] = int(steps[i])
	}
	out := newTensor(x.DType, shape)
	st := strides(x.Shape)
	for i := range out.Elems() {
		j, rem := 0, i
		for d := r - 1; d >= 0; d-- {
			c := rem % shape[d]
			rem /= shape[d]
			j += (begin[d] + c*step[d]) * st[d]
		}
		out.copyElem(i, x, j)
	}
	return out, nil
}

func foldConstantOfShape(im *importer, in []*Tensor) (*Tensor, error) {
	s := in[0]
	if s.DType.IsFloat() || len(s.I) > MaxRank {
		return nil, im.errorf("the shape must be integers")
	}
	shape := make([]int, len(s.I))
	for i, d := range s.I {
		if d < 0 || d > MaxElems {
			return nil, im.errorf("dimension %d out of range (a symbolic batch size cannot be folded)", d)
		}
		shape[i] = int(d)
	}
	if !checkElems(shape) {
		return nil, im.errorf("too large a result")
	}
	fill := &Tensor{DType: ir.F32, Shape: []int{1}, F: []float64{0}}
	if a := im.attr("value"); a != nil {
		t, err := im.m.Tensor(a.GetT())
		if err != nil {
			return nil, err
		}
		if t.Elems() != 1 {
			return nil, im.errorf("value must hold one element")
		}
		fill = t
	}
	out := newTensor(fill.DType, shape)
	for i := range out.Elems() {
		out.copyElem(i, fill, 0)
	}
	return out, nil
}

func foldRange(im *importer, in []*Tensor) (*Tensor, error) {
	if len(in) != 3 {
		return nil, im.errorf("takes three inputs")
	}
	var v [3]float64
	for i, t := range in {
		if t.Elems() != 1 {
			return nil, im.errorf("start, limit and delta must be scalars")
		}
		x, ok := t.get(0)
		if !ok {
			return nil, im.errorf("computes with the symbolic batch size, which nnc cannot fold")
		}
		v[i] = x
	}
	if v[2] == 0 {
		return nil, im.errorf("delta is 0")
	}
	n := math.Ceil((v[1] - v[0]) / v[2])
	if n < 0 || math.IsNaN(n) {
		n = 0
	}
	if n > MaxFolded {
		return nil, im.errorf("too large a result")
	}
	out := newTensor(in[0].DType, []int{int(n)})
	for i := range int(n) {
		out.set(i, v[0]+float64(i)*v[2])
	}
	return out, nil
}

// constantNode evaluates a Constant node.
func (im *importer) constantNode() (*Tensor, error) {
	switch {
	case im.has("value"):
		return im.m.Tensor(im.attr("value").GetT())
	case im.has("value_float"):
		f, err := im.attrFloat("value_float", 0)
		return &Tensor{DType: ir.F32, Shape: []int{}, F: []float64{f}}, err
	case im.has("value_floats"):
		a := im.attr("value_floats")
		t := &Tensor{DType: ir.F32, Shape: []int{len(a.Floats)}}
		for _, f := range a.Floats {
			t.F = append(t.F, float64(f))
		}
		return t, nil
	case im.has("value_int"):
		a := im.attr("value_int")
		return &Tensor{DType: ir.I64, Shape: []int{}, I: []int64{a.GetI()}}, nil
	case im.has("value_ints"):
		a := im.attr("value_ints")
		return &Tensor{DType: ir.I64, Shape: []int{len(a.Ints)}, I: slices.Clone(a.Ints)}, nil
	}
	im.attr("sparse_value")
	im.attr("value_string")
	im.attr("value_strings")
	return nil, im.errorf("only value, value_float(s) and value_int(s) constants are supported")
}

// shapeOf is the Shape of a run-time value, as an i64 tensor.
func (im *importer) shapeOf(t ir.Type) (*Tensor, error) {
	start, err := im.attrInt("start", 0)
	if err != nil {
		return nil, err
	}
	r := t.Shape.Rank()
	end, err := im.attrInt("end", r)
	if err != nil {
		return nil, err
	}
	if start < 0 {
		start += r
	}
	if end < 0 {
		end += r
	}
	start, end = min(max(start, 0), r), min(max(end, 0), r)
	out := &Tensor{DType: ir.I64, Shape: []int{max(end-start, 0)}}
	for _, d := range t.Shape[start:max(end, start)] {
		if d == ir.Batch {
			out.I = append(out.I, batchDim)
		} else {
			out.I = append(out.I, int64(d))
		}
	}
	return out, nil
}
