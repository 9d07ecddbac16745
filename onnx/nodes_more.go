package onnx

import (
	"github.com/nnc-go/nnc/ir"
)

// ArgMax, ArgMin, Trilu and the two losses of ONNX's operator set.

func init() {
	handlers["ArgMax"] = argOp(ir.OpArgMax)
	handlers["ArgMin"] = argOp(ir.OpArgMin)
	handlers["Trilu"] = (*importer).trilu
	handlers["ReduceProd"] = reduceAxes(ir.OpReduceProd, 18)
	handlers["NegativeLogLikelihoodLoss"] = (*importer).nllLoss
	handlers["SoftmaxCrossEntropyLoss"] = (*importer).softmaxCrossEntropyLoss
}

func argOp(op ir.Op) func(im *importer) error {
	return func(im *importer) error {
		attrs := ir.Attrs{}
		for _, a := range []struct {
			name string
			def  int
		}{{"axis", 0}, {"keepdims", 1}, {"select_last_index", 0}} {
			v, err := im.attrInt(a.name, a.def)
			if err != nil {
				return err
			}
			if a.name != "axis" && v != 0 && v != 1 {
				return im.errorf("attribute %s = %d, not 0 or 1", a.name, v)
			}
			attrs = append(attrs, ir.Attr{Key: a.name, Val: v})
		}
		x, err := im.in(0)
		if err != nil {
			return err
		}
		y, err := im.op(op, attrs, x)
		if err != nil {
			return err
		}
		return im.set(0, y)
	}
}

// trilu: the diagonal k, an optional input, is folded when compiling.
func (im *importer) trilu() error {
	upper, err := im.attrInt("upper", 1)
	if err != nil {
		return err
	}
	if upper != 0 && upper != 1 {
		return im.errorf("attribute upper = %d, not 0 or 1", upper)
	}
	x, err := im.in(0)
	if err != nil {
		return err
	}
	k, err := im.scalarIn(1, 0)
	if err != nil {
		return err
	}
	if k != float64(int64(k)) {
		return im.errorf("input 1 (k) = %v is not an integer", k)
	}
	// Beyond the matrix's size every diagonal keeps or zeroes it all.
	if s := x.Type.Shape; s.Rank() >= 2 && s[s.Rank()-1] > 0 {
		lim := float64(s[s.Rank()-2] + s[s.Rank()-1])
		k = max(-lim, min(lim, k))
	}
	y, err := im.op(ir.OpTrilu, ir.Attrs{{Key: "upper", Val: upper}, {Key: "k", Val: int(k)}}, x)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

// lossAttrs reads the reduction and ignore_index of NegativeLogLikelihoodLoss
// and SoftmaxCrossEntropyLoss.
func (im *importer) lossAttrs() (ir.Attrs, error) {
	red, err := im.attrString("reduction", "mean")
	if err != nil {
		return nil, err
	}
	if red != "none" && red != "sum" && red != "mean" {
		return nil, im.notSupported("reduction = %q", red)
	}
	attrs := ir.Attrs{{Key: "reduction", Val: red}}
	if im.has("ignore_index") {
		ii, err := im.attrInt("ignore_index", 0)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, ir.Attr{Key: "ignore_index", Val: ii})
	}
	return attrs, nil
}

// nll adds NegativeLogLikelihoodLoss of the log-probabilities logp and the
// node's targets (input 1) and class weights (input 2, optional).
func (im *importer) nll(logp *ir.Value, attrs ir.Attrs) (*ir.Value, error) {
	t, err := im.in(1)
	if err != nil {
		return nil, err
	}
	if t.Type.DType != ir.I64 {
		return nil, im.notSupported("targets of type %s (nnc takes i64 class indices)", t.Type.DType)
	}
	args := []*ir.Value{logp, t}
	w, err := im.optIn(2)
	if err != nil {
		return nil, err
	}
	if w != nil {
		args = append(args, w)
	}
	return im.op(ir.OpNegativeLogLikelihoodLoss, attrs, args...)
}

func (im *importer) nllLoss() error {
	attrs, err := im.lossAttrs()
	if err != nil {
		return err
	}
	x, err := im.floatIn(0)
	if err != nil {
		return err
	}
	y, err := im.nll(x, attrs)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

// softmaxCrossEntropyLoss is NegativeLogLikelihoodLoss of the LogSoftmax
// of the scores along axis 1, which is the optional output log_prob.
func (im *importer) softmaxCrossEntropyLoss() error {
	attrs, err := im.lossAttrs()
	if err != nil {
		return err
	}
	if err := im.onlyOutputs(2); err != nil {
		return err
	}
	x, err := im.floatIn(0)
	if err != nil {
		return err
	}
	if x.Type.Shape.Rank() < 2 {
		return im.errorf("scores %s: need [N, C, d...]", x.Type.Shape)
	}
	logp, err := im.op(ir.OpLogSoftmax, ir.Attrs{{Key: "dim", Val: 1}}, x)
	if err != nil {
		return err
	}
	y, err := im.nll(logp, attrs)
	if err != nil {
		return err
	}
	if err := im.set(0, y); err != nil {
		return err
	}
	if len(im.node.Output) > 1 {
		return im.set(1, logp)
	}
	return nil
}

func init() { handlers["Hardmax"] = (*importer).hardmax }

// hardmax is 1 where ArgMax along axis points, else 0: the index compared
// with a constant 0, 1, ..., d−1 along axis.
func (im *importer) hardmax() error {
	x, err := im.floatIn(0)
	if err != nil {
		return err
	}
	def := -1
	if im.m.Opset < 13 {
		def = 1
	}
	axis, err := im.attrInt("axis", def)
	if err != nil {
		return err
	}
	s := x.Type.Shape
	a, ok := ir.NormAxis(axis, s.Rank())
	if !ok {
		return im.errorf("axis %d out of range for %s", axis, s)
	}
	if im.m.Opset < 13 && a != s.Rank()-1 {
		return im.notSupported("axis = %d before opset 13 (the input flattened to 2-D from it)", axis)
	}
	if s[a] == ir.Batch {
		return im.notSupported("hardmax along the batch dimension")
	}
	am, err := im.op(ir.OpArgMax, ir.Attrs{{Key: "axis", Val: a}, {Key: "keepdims", Val: 1}}, x)
	if err != nil {
		return err
	}
	iota := &Tensor{DType: ir.I64, Shape: make([]int, s.Rank())}
	for i := range iota.Shape {
		iota.Shape[i] = 1
	}
	iota.Shape[a] = s[a]
	for i := range s[a] {
		iota.I = append(iota.I, int64(i))
	}
	name := im.node.Output[0] + ".hardmax_positions"
	for im.consts[name] != nil || im.vals[name] != nil {
		name += "_"
	}
	im.consts[name] = iota
	pos, err := im.value(name)
	if err != nil {
		return im.errorf("%v", err)
	}
	hit, err := im.op(ir.OpEqual, nil, am, pos)
	if err != nil {
		return err
	}
	y, err := im.op(ir.OpCast, ir.Attrs{{Key: "to", Val: x.Type.DType.String()}}, hit)
	if err != nil {
		return err
	}
	return im.set(0, y)
}
