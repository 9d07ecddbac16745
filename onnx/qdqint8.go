package onnx

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/onnx/onnxpb"
	"github.com/nnc-go/nnc/passes"
)

// A model in QDQ form (QuantizeLinear / DequantizeLinear around Gemm,
// MatMul and Conv, as nnc export and ONNX Runtime's static quantizer
// write it) runs on nnc's int8 kernels, as ONNX Runtime fuses QDQ into
// QLinearMatMul and QLinearConv. The importer recognises, per layer,
//
//	DequantizeLinear(QuantizeLinear(x, s_x, zp_x))  the input, u8 or s8 per tensor
//	DequantizeLinear(W, s_w)                         an int8 initializer, per output channel or per tensor, zero point 0
//	DequantizeLinear(B, s_x·s_w)                     an optional int32 initializer, zero point 0
//
// into Gemm, MatMul (+ Add of the bias) or Conv, optionally
// followed by Relu, whose output QuantizeLinear alone reads (the layer
// then hands on u8 values requantized in its store) or which stays float
// (the last layer: it stores f32). MaxPool, Reshape and Flatten between a
// DequantizeLinear and a QuantizeLinear of the same scale and zero point,
// and an Add of two dequantized layer outputs followed by QuantizeLinear,
// run on the u8 values (QMaxPool2d, a u8 Reshape, QAdd).
//
// The importer does not lower them itself: it builds the float graph of
// the layers (a Linear or Conv2d over parameters NAME.weight and
// NAME.bias reading x itself, the QuantizeLinear and DequantizeLinear of
// the pattern left out) and an int8 checkpoint of them (the int8
// weights, scales and zero points under the names nnc quantize writes,
// train.Int8Layers), its Weights, so that the one int8 lowering
// (passes.Quantize, train.Int8Graph) runs it as it runs nnc quantize's
// checkpoints: predict, bench and build of the .onnx run the int8
// kernels. s8 activations (ONNX Runtime's QInt8) are nnc's u8 ones with
// 128 added to values and zero point, which gives the same real values.
//
// Whatever does not match (a weight zero point other than 0, an op nnc
// has no int8 kernel for, a scale computed at run time) keeps the float
// QuantizeLinear and DequantizeLinear of qdq.go, with ONNX's arithmetic.

// qact is a tensor DequantizeLinear(QuantizeLinear(raw, scale, zp))
// makes: the float tensor raw rounded to the u8 grid of scale and zp
// (zp in [0, 255]: an s8 zero point plus 128).
type qact struct {
	raw, q string // the tensor quantized, and the QuantizeLinear's output
	qp     qp
}

// qp is a scale and a u8 zero point.
type qp struct {
	scale float64
	zp    int
}

// qlayer is a Gemm, MatMul (+ Add) or Conv the importer lowers.
type qlayer struct {
	name   string // the prefix of its checkpoint tensors
	conv   bool
	in     qact
	w      []int8 // [out, ...] as nnc's Linear and Conv2d hold weights
	wshape []int
	wscale []float32
	bias   []int32 // nil: no bias
	out    *qp     // nil: the output stays f32
	stride int
	pad    int

	biasAdd int    // the index of a MatMul's bias Add, or -1
	mmOut   string // the output of its MatMul
	failed  bool
	done    bool // lowered: its float graph is built
	relu    bool
}

// qdqPlan is what the importer lowers, by node index.
type qdqPlan struct {
	layers map[int]*qlayer // by the index of its Gemm, MatMul or Conv
	bias   map[int]*qlayer // by the index of a MatMul's bias Add
	raw    map[int]bool    // MaxPool, Reshape, Flatten and Add nodes that read the raw tensors of their qact inputs
	adds   map[int]qp      // the Adds among raw, and their output's parameters
	acts   map[string]qact // the qact of each DequantizeLinear output
	skip   map[int]bool    // Q and DQ nodes imported only if a value needs them
	// subst maps DequantizeLinear outputs that every reader reads as the
	// raw tensor (u8 in the int8 graph) to it.
	subst map[string]string
	// deferred maps the outputs of skipped nodes to the node.
	deferred map[string]int
	addVals  map[*ir.Value]qp // the Adds built, to name them as passes.Int8Adds does
}

// planQDQ plans the lowering of gp's QDQ layers (none with
// Options.FloatQDQ).
func (im *importer) planQDQ(gp *onnxpb.GraphProto) {
	pl := &qdqPlan{layers: map[int]*qlayer{}, bias: map[int]*qlayer{}, raw: map[int]bool{}, adds: map[int]qp{},
		acts: map[string]qact{}, skip: map[int]bool{}, deferred: map[string]int{}, addVals: map[*ir.Value]qp{}}
	im.qdq = pl
	if im.opt.FloatQDQ {
		return
	}
	init := map[string]*onnxpb.TensorProto{}
	for _, t := range gp.Initializer {
		init[t.GetName()] = t
	}
	producer := map[string]int{}
	consumers := map[string][]int{}
	for i, n := range gp.Node {
		for _, o := range n.Output {
			if o != "" {
				producer[o] = i
			}
		}
		for _, in := range n.Input {
			if in != "" {
				consumers[in] = append(consumers[in], i)
			}
		}
	}
	output := map[string]bool{}
	for _, o := range gp.Output {
		output[o.GetName()] = true
	}
	node := func(name string) *onnxpb.NodeProto {
		if i, ok := producer[name]; ok {
			return gp.Node[i]
		}
		return nil
	}
	in := func(n *onnxpb.NodeProto, i int) string {
		if i < len(n.Input) {
			return n.Input[i]
		}
		return ""
	}
	isOp := func(n *onnxpb.NodeProto, op string) bool {
		return n != nil && n.GetOpType() == op && (n.GetDomain() == "" || n.GetDomain() == "ai.onnx")
	}
	// only reports whether n has no attributes but those allowed.
	only := func(n *onnxpb.NodeProto, allowed ...string) bool {
		for _, a := range n.Attribute {
			if !slices.Contains(allowed, a.GetName()) {
				return false
			}
		}
		return true
	}
	attrInt := func(n *onnxpb.NodeProto, name string, def int64) int64 {
		for _, a := range n.Attribute {
			if a.GetName() == name {
				return a.GetI()
			}
		}
		return def
	}
	attrInts := func(n *onnxpb.NodeProto, name string) ([]int64, bool) {
		for _, a := range n.Attribute {
			if a.GetName() == name {
				return a.Ints, true
			}
		}
		return nil, false
	}
	// actParams reads the scale and zero point (inputs 1 and 2) of a QDQ
	// node over an activation: constant scalars, a positive finite f32
	// scale, a u8 or s8 zero point (as u8).
	actParams := func(n *onnxpb.NodeProto) (qp, bool) {
		s, ok := init[in(n, 1)]
		if !ok || s.GetDataType() != int32(onnxpb.TensorProto_FLOAT) {
			return qp{}, false
		}
		st := im.consts[in(n, 1)]
		if st == nil || st.Elems() != 1 || len(st.Shape) > 1 || !positiveScale(st.F[0]) {
			return qp{}, false
		}
		p := qp{scale: st.F[0]}
		if z := in(n, 2); z != "" {
			zt, ok := init[z]
			c := im.consts[z]
			if !ok || c == nil || c.Elems() != 1 || len(c.Shape) > 1 {
				return qp{}, false
			}
			switch onnxpb.TensorProto_DataType(zt.GetDataType()) {
			case onnxpb.TensorProto_UINT8:
				p.zp = int(c.I[0])
			case onnxpb.TensorProto_INT8:
				p.zp = int(c.I[0]) + 128
			default:
				return qp{}, false
			}
			if p.zp < 0 || p.zp > 255 {
				return qp{}, false
			}
		}
		return p, true
	}
	// zpType is the element type of a QDQ node's zero point.
	zpType := func(n *onnxpb.NodeProto) int32 {
		if t, ok := init[in(n, 2)]; ok {
			return t.GetDataType()
		}
		return int32(onnxpb.TensorProto_UINT8)
	}
	// The DequantizeLinear(QuantizeLinear(x)) pairs of one scale and zero
	// point.
	for _, n := range gp.Node {
		if !isOp(n, "DequantizeLinear") || len(n.Output) != 1 || !only(n, "axis") {
			continue
		}
		q := node(in(n, 0))
		if !isOp(q, "QuantizeLinear") || len(q.Output) != 1 || !only(q, "axis") || in(q, 0) == "" {
			continue
		}
		pq, ok1 := actParams(q)
		pd, ok2 := actParams(n)
		if !ok1 || !ok2 || pq != pd || zpType(q) != zpType(n) {
			continue
		}
		if _, isInit := init[in(q, 0)]; isInit {
			continue
		}
		pl.acts[n.Output[0]] = qact{raw: in(q, 0), q: q.Output[0], qp: pq}
	}
	// quantOut reports the parameters of the QuantizeLinear nodes that
	// alone read y, all of one scale and zero point.
	quantOut := func(y string) (qp, bool) {
		cs := consumers[y]
		if output[y] || len(cs) == 0 {
			return qp{}, false
		}
		var p qp
		for k, c := range cs {
			n := gp.Node[c]
			if !isOp(n, "QuantizeLinear") || in(n, 0) != y || !only(n, "axis") {
				return qp{}, false
			}
			pc, ok := actParams(n)
			if !ok || (k > 0 && pc != p) {
				return qp{}, false
			}
			p = pc
		}
		return p, true
	}
	// weight reads DequantizeLinear(W int8, s_w per channel along axis or
	// per tensor, zero point 0) of rank r: the weights, the scales of
	// the channels along axis (or one per tensor).
	weight := func(name string, rank, axis int) ([]int8, []int, []float32, bool) {
		n := node(name)
		if !isOp(n, "DequantizeLinear") || len(n.Output) != 1 || !only(n, "axis") {
			return nil, nil, nil, false
		}
		wt, ok := init[in(n, 0)]
		w := im.consts[in(n, 0)]
		if !ok || w == nil || wt.GetDataType() != int32(onnxpb.TensorProto_INT8) || len(w.Shape) != rank || slices.Contains(w.Shape, 0) {
			return nil, nil, nil, false
		}
		st, ok := init[in(n, 1)]
		s := im.consts[in(n, 1)]
		if !ok || s == nil || st.GetDataType() != int32(onnxpb.TensorProto_FLOAT) {
			return nil, nil, nil, false
		}
		a := int(attrInt(n, "axis", 1))
		if a < 0 {
			a += rank
		}
		var scales []float32
		switch {
		case s.Elems() == 1 && len(s.Shape) <= 1:
			for range w.Shape[axis] {
				scales = append(scales, float32(s.F[0]))
			}
		case len(s.Shape) == 1 && a == axis && s.Shape[0] == w.Shape[axis]:
			for _, f := range s.F {
				scales = append(scales, float32(f))
			}
		default:
			return nil, nil, nil, false
		}
		for _, f := range scales {
			if !positiveScale(float64(f)) {
				return nil, nil, nil, false
			}
		}
		if z := in(n, 2); z != "" {
			zt, ok := init[z]
			c := im.consts[z]
			if !ok || c == nil || zt.GetDataType() != int32(onnxpb.TensorProto_INT8) || (c.Elems() != 1 && c.Elems() != len(scales)) {
				return nil, nil, nil, false
			}
			if slices.ContainsFunc(c.I, func(v int64) bool { return v != 0 }) {
				return nil, nil, nil, false
			}
		}
		q := make([]int8, len(w.I))
		for i, v := range w.I {
			if v < -127 || v > 127 {
				// -128 has no symmetric counterpart: nnc's kernels
				// take weights in [-127, 127].
				return nil, nil, nil, false
			}
			q[i] = int8(v)
		}
		return q, slices.Clone(w.Shape), scales, true
	}
	// bias reads DequantizeLinear(B int32 [out], s_x·s_w, zero point 0).
	bias := func(name string, inScale float64, wscale []float32) ([]int32, bool) {
		n := node(name)
		if !isOp(n, "DequantizeLinear") || len(n.Output) != 1 || !only(n, "axis") {
			return nil, false
		}
		bt, ok := init[in(n, 0)]
		b := im.consts[in(n, 0)]
		if !ok || b == nil || bt.GetDataType() != int32(onnxpb.TensorProto_INT32) || len(b.Shape) != 1 || b.Shape[0] != len(wscale) {
			return nil, false
		}
		st, ok := init[in(n, 1)]
		s := im.consts[in(n, 1)]
		if !ok || s == nil || st.GetDataType() != int32(onnxpb.TensorProto_FLOAT) || len(s.Shape) > 1 || (s.Elems() != 1 && s.Elems() != len(wscale)) {
			return nil, false
		}
		for o, ws := range wscale {
			bs := s.F[0]
			if s.Elems() > 1 {
				bs = s.F[o]
			}
			// The bias's scale is the product of the input's and
			// the weights' (rounded to f32), as the int32 sum's.
			want := inScale * float64(ws)
			if math.Abs(bs-want) > 1e-6*want {
				return nil, false
			}
		}
		if z := in(n, 2); z != "" {
			c := im.consts[z]
			if c == nil || slices.ContainsFunc(c.I, func(v int64) bool { return v != 0 }) {
				return nil, false
			}
		}
		out := make([]int32, len(b.I))
		for i, v := range b.I {
			out[i] = int32(v)
		}
		return out, true
	}
	// finish reads what follows a layer's output y: a Relu alone, then
	// QuantizeLinear alone (the output's parameters) or anything (f32).
	finish := func(l *qlayer, y string) {
		if cs := consumers[y]; len(cs) == 1 && !output[y] {
			if r := gp.Node[cs[0]]; isOp(r, "Relu") && len(r.Output) == 1 && len(r.Attribute) == 0 {
				l.relu, y = true, r.Output[0]
			}
		}
		if p, ok := quantOut(y); ok {
			l.out = &p
		}
		l.biasAdd = -1
		// An Add or BatchNormalization alone reading a float output
		// would be fused into the layer (passes' fuse), the int8
		// lowering leaving it out.
		if cs := consumers[y]; !l.relu && l.out == nil && len(cs) == 1 && !output[y] &&
			(isOp(gp.Node[cs[0]], "Add") || isOp(gp.Node[cs[0]], "BatchNormalization")) {
			l.failed = true
		}
	}
	// layerName names a layer's checkpoint tensors after its weight.
	layerName := func(w string) string {
		base := strings.TrimSuffix(strings.TrimSuffix(w, "_dequantized"), ".weight")
		if base == "" {
			base = "layer"
		}
		suffixes := []string{".weight", ".qweight", ".bias", ".qbias", ".weight_scale", ".input_scale", ".input_zero_point", ".output_scale", ".output_zero_point"}
		name := base
		for i := 2; slices.ContainsFunc(suffixes, func(s string) bool { return im.used[name+s] }); i++ {
			name = fmt.Sprintf("%s_%d", base, i)
		}
		for _, s := range suffixes {
			im.used[name+s] = true
		}
		return name
	}
	// lower plans the lowering of Gemm or Conv node i as l, with the
	// bias its third input dequantizes, unless that is not an int32
	// initializer at the input scale times the weight scales.
	lower := func(i int, n *onnxpb.NodeProto, l *qlayer) {
		if c := in(n, 2); c != "" {
			var ok bool
			if l.bias, ok = bias(c, l.in.qp.scale, l.wscale); !ok {
				return
			}
		}
		finish(l, n.Output[0])
		l.name = layerName(in(n, 1))
		pl.layers[i] = l
	}
	for i, n := range gp.Node {
		if len(n.Output) != 1 {
			continue
		}
		switch {
		case isOp(n, "Gemm") && only(n, "alpha", "beta", "transA", "transB"):
			act, ok := pl.acts[in(n, 0)]
			tb := attrInt(n, "transB", 0)
			if !ok || (tb != 0 && tb != 1) || attrInt(n, "transA", 0) != 0 {
				continue
			}
			if a := attrFloatOf(n, "alpha", 1); a != 1 {
				continue
			}
			if b := attrFloatOf(n, "beta", 1); b != 1 {
				continue
			}
			// B is [out, in] with transB, else [in, out].
			w, ws, scales, ok := weight(in(n, 1), 2, int(1-tb))
			if !ok {
				continue
			}
			if tb == 0 {
				w, ws = transpose(w, ws)
			}
			l := &qlayer{in: act, w: w, wshape: ws, wscale: scales}
			lower(i, n, l)
		case isOp(n, "MatMul") && len(n.Attribute) == 0:
			act, ok := pl.acts[in(n, 0)]
			if !ok {
				continue
			}
			w, ws, scales, ok := weight(in(n, 1), 2, 1)
			if !ok {
				continue
			}
			wt, wts := transpose(w, ws)
			l := &qlayer{in: act, w: wt, wshape: wts, wscale: scales}
			y, badd := n.Output[0], -1
			if cs := consumers[y]; len(cs) == 1 && !output[y] {
				if a := gp.Node[cs[0]]; isOp(a, "Add") && len(a.Attribute) == 0 && len(a.Input) == 2 && len(a.Output) == 1 {
					other := a.Input[0]
					if other == y {
						other = a.Input[1]
					}
					if b, ok := bias(other, act.qp.scale, scales); ok && other != y {
						l.bias, badd, y = b, cs[0], a.Output[0]
					}
				}
			}
			failed := l.failed
			finish(l, y)
			l.failed = l.failed || failed
			l.biasAdd, l.mmOut = badd, n.Output[0]
			l.name = layerName(in(n, 1))
			pl.layers[i] = l
			if badd >= 0 {
				pl.bias[badd] = l
			}
		case isOp(n, "Conv") && only(n, "group", "kernel_shape", "strides", "pads", "dilations", "auto_pad"):
			act, ok := pl.acts[in(n, 0)]
			if !ok || attrInt(n, "group", 1) != 1 {
				continue
			}
			w, ws, scales, ok := weight(in(n, 1), 4, 0)
			if !ok || ws[2] != ws[3] {
				continue
			}
			if ks, ok := attrInts(n, "kernel_shape"); ok && !slices.Equal(ks, []int64{int64(ws[2]), int64(ws[3])}) {
				continue
			}
			stride, pad := 1, 0
			if s, ok := attrInts(n, "strides"); ok {
				if len(s) != 2 || s[0] != s[1] || s[0] <= 0 || s[0] > math.MaxInt32 {
					continue
				}
				stride = int(s[0])
			}
			if d, ok := attrInts(n, "dilations"); ok && slices.ContainsFunc(d, func(v int64) bool { return v != 1 }) {
				continue
			}
			if p, ok := attrInts(n, "pads"); ok {
				if len(p) != 4 || slices.ContainsFunc(p, func(v int64) bool { return v != p[0] }) || p[0] < 0 || p[0] > math.MaxInt32 {
					continue
				}
				pad = int(p[0])
			}
			for _, a := range n.Attribute {
				if a.GetName() == "auto_pad" && string(a.GetS()) != "NOTSET" && string(a.GetS()) != "VALID" {
					pad = -1
				} else if a.GetName() == "auto_pad" && string(a.GetS()) == "VALID" {
					pad = 0
				}
			}
			if pad < 0 {
				continue
			}
			l := &qlayer{conv: true, in: act, w: w, wshape: ws, wscale: scales, stride: stride, pad: pad}
			lower(i, n, l)
		}
	}
	for _, l := range pl.layers {
		// The int32 sums and the bias corrected for the input's zero
		// point stay within int32.
		k := len(l.w) / l.wshape[0]
		for _, b := range l.bias {
			if math.Abs(float64(b))+float64(k)*255*127 >= 1<<31 {
				l.failed = true
			}
		}
		if float64(k)*255*127 >= 1<<31 {
			l.failed = true
		}
	}
	for i, l := range pl.layers {
		if l.failed {
			delete(pl.layers, i)
			if l.biasAdd >= 0 {
				delete(pl.bias, l.biasAdd)
			}
		}
	}
	// MaxPool, Reshape and Flatten between a DequantizeLinear and a
	// QuantizeLinear of one scale and zero point: on the raw tensor, as
	// rounding is monotonic (max and reshapes commute with it), the
	// QuantizeLinear after them gives the same integers.
	for i, n := range gp.Node {
		if len(n.Output) != 1 || !(isOp(n, "MaxPool") || isOp(n, "Reshape") || isOp(n, "Flatten")) {
			continue
		}
		act, ok := pl.acts[in(n, 0)]
		if !ok {
			continue
		}
		if p, ok := quantOut(n.Output[0]); ok && p == act.qp {
			pl.raw[i] = true
		}
	}
	// layerOut returns the lowered layer whose output (after its Relu)
	// raw is, or whether an Add among pl.adds makes it.
	layerOut := func(raw string) (l *qlayer, add bool) {
		i, ok := producer[raw]
		if !ok {
			return nil, false
		}
		relu := isOp(gp.Node[i], "Relu")
		if relu {
			if i, ok = producer[in(gp.Node[i], 0)]; !ok {
				return nil, false
			}
		}
		if l := pl.layers[i]; l != nil && l.relu == relu && l.biasAdd < 0 {
			return l, false
		}
		if l := pl.bias[i]; l != nil && l.relu == relu {
			return l, false
		}
		_, add = pl.adds[i]
		return nil, add
	}
	// pool reports whether the raw MaxPool, Reshape or Flatten node i
	// is lowered.
	pool := func(i int) bool { return pl.raw[i] && !isOp(gp.Node[i], "Add") }
	// u8 reports whether the tensor raw is stored u8 by a lowered layer
	// (or a max pooling, reshape or Add of one).
	var u8 func(raw string, depth int) bool
	u8 = func(raw string, depth int) bool {
		i, ok := producer[raw]
		if !ok || depth > len(gp.Node) {
			return false
		}
		if l, add := layerOut(raw); l != nil || add {
			return add || l.out != nil
		}
		if pool(i) {
			return u8(pl.acts[in(gp.Node[i], 0)].raw, depth+1)
		}
		return false
	}
	lowered := func(c int) bool {
		_, add := pl.adds[c]
		return pl.layers[c] != nil || pl.bias[c] != nil || pl.raw[c] || add
	}
	// The Adds of two dequantized u8 values followed by QuantizeLinear
	// (a Relu between fused): QAdd, kept while both operands are u8.
	for i, n := range gp.Node {
		if !isOp(n, "Add") || len(n.Output) != 1 || len(n.Input) != 2 || len(n.Attribute) != 0 || pl.bias[i] != nil {
			continue
		}
		if _, ok := pl.acts[n.Input[0]]; !ok {
			continue
		}
		if _, ok := pl.acts[n.Input[1]]; !ok {
			continue
		}
		y := n.Output[0]
		if cs := consumers[y]; len(cs) == 1 && !output[y] {
			if r := gp.Node[cs[0]]; isOp(r, "Relu") && len(r.Output) == 1 && len(r.Attribute) == 0 {
				y = r.Output[0]
			}
		}
		if p, ok := quantOut(y); ok {
			pl.adds[i] = p
		}
	}
	for changed := true; changed; {
		changed = false
		for i, n := range gp.Node {
			if _, ok := pl.adds[i]; !ok {
				continue
			}
			for _, x := range n.Input {
				if !u8(pl.acts[x].raw, 0) {
					delete(pl.adds, i)
					changed = true
					break
				}
			}
		}
	}
	for i := range pl.adds {
		pl.raw[i] = true
	}
	// The int8 checkpoint stores the output of a lowered layer or Add
	// that has QuantizeLinear's parameters u8 whatever reads it
	// (passes.QLayer.U8), as do a max pooling or reshape of it: so every
	// reader of DequantizeLinear(QuantizeLinear(·)) of them, float ops
	// too, reads them (the Dequantize the int8 lowering places).
	pl.subst = map[string]string{}
	for dq, a := range pl.acts {
		if u8(a.raw, 0) {
			pl.subst[dq] = a.raw
		}
	}
	// The QuantizeLinear and DequantizeLinear nodes whose outputs only
	// lowered nodes (or other such nodes) read are imported when a value
	// needs them, as when a layer is not lowered after all.
	for i := len(gp.Node) - 1; i >= 0; i-- {
		n := gp.Node[i]
		if !isOp(n, "QuantizeLinear") && !isOp(n, "DequantizeLinear") {
			continue
		}
		// A DequantizeLinear of subst is its raw tensor to every reader.
		_, skip := pl.subst[firstOut(n)]
		if !skip {
			skip = true
			for _, o := range n.Output {
				if output[o] {
					skip = false
				}
				for _, c := range consumers[o] {
					if !pl.skip[c] && !lowered(c) {
						skip = false
					}
				}
			}
		}
		if skip {
			pl.skip[i] = true
			for _, o := range n.Output {
				if o != "" {
					pl.deferred[o] = i
				}
			}
		}
	}
}

// transpose turns the [in, out] weights w of shape ws into [out, in].
func transpose(w []int8, ws []int) ([]int8, []int) {
	k, m := ws[0], ws[1]
	wt := make([]int8, len(w))
	for r := range k {
		for c := range m {
			wt[c*k+r] = w[r*m+c]
		}
	}
	return wt, []int{m, k}
}

// firstOut is n's first output, or "".
func firstOut(n *onnxpb.NodeProto) string {
	if len(n.Output) == 0 {
		return ""
	}
	return n.Output[0]
}

func attrFloatOf(n *onnxpb.NodeProto, name string, def float64) float64 {
	for _, a := range n.Attribute {
		if a.GetName() == name {
			return float64(a.GetF())
		}
	}
	return def
}

// positiveScale is train's test of a usable scale: positive, finite, its
// reciprocal too.
func positiveScale(s float64) bool { return s > 1e-30 && s < 1e30 }

// importDeferred imports the skipped node i, which a value needs after
// all.
func (im *importer) importDeferred(i int) error {
	gp := im.m.Proto.Graph
	for _, o := range gp.Node[i].Output {
		delete(im.qdq.deferred, o)
	}
	if raw, ok := im.qdq.subst[firstOut(gp.Node[i])]; ok {
		v, err := im.value(raw)
		if err != nil {
			return err
		}
		im.vals[firstOut(gp.Node[i])] = v
		return nil
	}
	node, index, read := im.node, im.index, im.read
	defer func() { im.node, im.index, im.read = node, index, read }()
	im.node, im.index, im.read = gp.Node[i], i, map[string]bool{}
	if err := im.importNode(); err != nil {
		return fmt.Errorf("%s: %v", im.describe(), err)
	}
	return nil
}

// importPlanned imports node i as planQDQ planned it; handled is false
// for the nodes it left alone.
func (im *importer) importPlanned(i int) (handled bool, err error) {
	pl := im.qdq
	if l := pl.layers[i]; l != nil {
		ok, err := im.lowerLayer(l)
		if err != nil || ok {
			return true, err
		}
		l.failed = true
		// Its output is f32 after all: what planQDQ read as u8 past it
		// (DequantizeLinear of it to float readers, the Adds of it)
		// keeps the float QDQ ops.
		clear(pl.subst)
		for j := range pl.adds {
			if j > i {
				delete(pl.adds, j)
				delete(pl.raw, j)
			}
		}
		return false, nil
	}
	if l := pl.bias[i]; l != nil {
		if l.failed {
			return false, nil
		}
		// The bias Add of a MatMul lowered: its bias parameter.
		mm, err := im.value(l.mmOut)
		if err != nil {
			return true, im.errorf("%v", err)
		}
		b, err := im.layerParam(l.name+".bias", ir.Shape{l.wshape[0]})
		if err != nil {
			return true, err
		}
		y, err := im.op(ir.OpAdd, nil, mm, b)
		if err != nil {
			return true, err
		}
		return true, im.set(0, y)
	}
	if pl.raw[i] {
		// The raw tensors of the dequantized inputs, which the node
		// reads as the int8 graph's u8 values.
		saved := map[string]*ir.Value{}
		for _, x := range im.node.Input {
			a, ok := pl.acts[x]
			if !ok {
				continue
			}
			if _, done := saved[x]; done {
				continue
			}
			raw, err := im.value(a.raw)
			if err != nil {
				return true, im.errorf("%v", err)
			}
			saved[x] = im.vals[x]
			im.vals[x] = raw
		}
		defer func() {
			for x, v := range saved {
				if v == nil {
					delete(im.vals, x)
				} else {
					im.vals[x] = v
				}
			}
		}()
		if err := im.importNode(); err != nil {
			return true, err
		}
		if p, ok := pl.adds[i]; ok {
			y := im.vals[im.node.Output[0]]
			if y != nil && y.Op == ir.OpAdd && y.Args[0].Type.Equal(y.Type) && y.Args[1].Type.Equal(y.Type) {
				pl.addVals[y] = p
			}
		}
		return true, nil
	}
	return false, nil
}

// layerParam adds the f32 parameter name of the float graph of a lowered
// layer; the int8 checkpoint has the tensors that replace it.
func (im *importer) layerParam(name string, shape ir.Shape) (*ir.Value, error) {
	v, err := im.b.Param(name, ir.Type{DType: ir.F32, Shape: shape}, ir.Attrs{{Key: "init", Val: "zeros"}}, im.pos())
	if err != nil {
		return nil, im.errorf("%v", err)
	}
	return v, nil
}

// lowerLayer builds the float graph of l reading its input's raw tensor;
// ok is false (and nothing built) when that tensor is not what nnc's
// int8 layers take: then the node is imported as it is.
func (im *importer) lowerLayer(l *qlayer) (ok bool, err error) {
	x, err := im.value(l.in.raw)
	if err != nil {
		return false, im.errorf("%v", err)
	}
	if x.Type.DType != ir.F32 || (!l.conv && x.Type.Shape.Rank() != 2) || (l.conv && x.Type.Shape.Rank() != 4) {
		return false, nil
	}
	wshape := ir.Shape(slices.Clone(l.wshape))
	if l.conv {
		if x.Type.Shape[1] != wshape[1] {
			return false, nil
		}
	} else if x.Type.Shape[1] != wshape[1] {
		return false, nil
	}
	w, err := im.layerParam(l.name+".weight", wshape)
	if err != nil {
		return true, err
	}
	var y *ir.Value
	if l.conv {
		args := []*ir.Value{x, w}
		if l.bias != nil {
			b, err := im.layerParam(l.name+".bias", ir.Shape{wshape[0]})
			if err != nil {
				return true, err
			}
			args = append(args, b)
		}
		if y, err = im.op(ir.OpConv2d, ir.Attrs{{Key: "stride", Val: l.stride}, {Key: "padding", Val: l.pad}}, args...); err != nil {
			return true, err
		}
	} else {
		if y, err = im.op(ir.OpMatMul, ir.Attrs{{Key: "tb", Val: true}}, x, w); err != nil {
			return true, err
		}
		if l.bias != nil && l.biasAdd < 0 {
			b, err := im.layerParam(l.name+".bias", ir.Shape{wshape[0]})
			if err != nil {
				return true, err
			}
			if y, err = im.op(ir.OpAdd, nil, y, b); err != nil {
				return true, err
			}
		}
	}
	// Gemm, MatMul and Conv read inputs the handlers would refuse as
	// unsupported attributes otherwise.
	for _, a := range im.node.Attribute {
		im.read[a.GetName()] = true
	}
	l.done = true
	return true, im.set(0, y)
}

// int8Weights adds the int8 checkpoint of the lowered layers (and Adds) to
// the weights, as train.Int8Layers reads it, after checking that the
// pipeline makes of each what passes.Quantize lowers: the layers that it
// would not (none, unless a pass changes) get float weights, the
// dequantized int8 ones.
func (im *importer) int8Weights(g *ir.Graph) error {
	pl := im.qdq
	var layers []*qlayer
	for _, l := range pl.layers {
		if l.done {
			layers = append(layers, l)
		}
	}
	if len(layers) == 0 {
		return nil
	}
	slices.SortFunc(layers, func(a, b *qlayer) int { return strings.Compare(a.name, b.name) })
	// The fused graph, as predict, bench and build compile it, names
	// the Adds (passes.Int8Adds) and shows the layers to lower.
	c := g.Clone()
	if err := passes.Run(c, passes.Options{After: "deadcode"}); err != nil {
		return err
	}
	candidates := map[string]bool{}
	byName := map[string]*qlayer{}
	for _, l := range layers {
		byName[l.name] = l
	}
	for _, v := range c.Values {
		if name, _, ok := passes.Int8Candidate(v); ok && byName[name] != nil {
			// The layer as built: its weight and bias, nothing folded
			// or fused in that the int8 weights leave out.
			l := byName[name]
			if v.Args[1].Op != ir.OpParam || (len(v.Args) == 3) != (l.bias != nil) ||
				(l.bias != nil && (v.Args[2].Op != ir.OpParam || v.Args[2].Name != name+".bias")) {
				return fmt.Errorf("internal error: the int8 layer %s fused with other ops", name)
			}
			candidates[name] = true
		}
	}
	f := im.weights
	floats := len(f.Tensors) // the initializers the graph reads as they are
	add := func(t *checkpoint.Tensor) { f.Tensors = append(f.Tensors, t) }
	qlayers := map[string]passes.QLayer{}
	scalar := func(name string, p qp) {
		add(&checkpoint.Tensor{Name: name + "_scale", Shape: []int{}, F32: []float32{float32(p.scale)}})
		add(&checkpoint.Tensor{Name: name + "_zero_point", Shape: []int{}, I64: []int64{int64(p.zp)}})
	}
	n := 0
	for _, l := range layers {
		out := l.wshape[0]
		bias := l.bias
		if bias == nil {
			bias = make([]int32, out)
		}
		if !candidates[l.name] {
			// Not a layer the int8 lowering finds (dead, or
			// unexpected): float weights.
			wf := make([]float32, len(l.w))
			k := len(l.w) / out
			for i, v := range l.w {
				wf[i] = float32(v) * l.wscale[i/k]
			}
			add(&checkpoint.Tensor{Name: l.name + ".weight", Shape: slices.Clone(l.wshape), F32: wf})
			if l.bias != nil {
				bf := make([]float32, out)
				for o, b := range l.bias {
					bf[o] = float32(float64(b) * l.in.qp.scale * float64(l.wscale[o]))
				}
				add(&checkpoint.Tensor{Name: l.name + ".bias", Shape: []int{out}, F32: bf})
			}
			continue
		}
		n++
		ql := passes.QLayer{InScale: float64(float32(l.in.qp.scale)), InZP: l.in.qp.zp, Conv: l.conv, OutShape0: out, Float: l.out == nil, U8: true}
		if l.out != nil {
			ql.OutScale, ql.OutZP = float64(float32(l.out.scale)), l.out.zp
		}
		qlayers[l.name] = ql
		add(&checkpoint.Tensor{Name: l.name + ".weight", Shape: slices.Clone(l.wshape), I8: l.w})
		add(&checkpoint.Tensor{Name: l.name + ".weight_scale", Shape: []int{out}, F32: l.wscale})
		add(&checkpoint.Tensor{Name: l.name + ".bias", Shape: []int{out}, I32: bias})
		scalar(l.name+".input", l.in.qp)
		if l.out != nil {
			scalar(l.name+".output", *l.out)
		}
	}
	if n == 0 {
		return nil
	}
	for _, a := range passes.Int8Adds(c) {
		v := a.Value
		if a.Relu {
			v = v.Args[0]
		}
		for av, p := range pl.addVals {
			if av.ID == v.ID {
				scalar(a.Name+".output", p)
				qlayers[a.Name] = passes.QLayer{Add: true, OutScale: float64(float32(p.scale)), OutZP: p.zp, U8: true}
			}
		}
	}
	// The int8 checkpoint holds what the int8 graph reads (as
	// train.Int8Tensors requires): the initializers that only the
	// layers now lowered read go. Those left whose names an int8
	// checkpoint gives a meaning (NAME.weight_scale marks a quantized
	// layer, NAME.output_scale an Add) are renamed.
	if err := passes.Quantize(c, qlayers); err != nil {
		return err
	}
	read := map[string]bool{}
	for _, v := range c.Values {
		if v.Op == ir.OpParam || v.Op == ir.OpBuffer {
			read[v.Name] = true
		}
	}
	params := map[string]*ir.Value{}
	for _, v := range g.Values {
		if v.Op == ir.OpParam || v.Op == ir.OpBuffer {
			params[v.Name] = v
		}
	}
	kept := f.Tensors[:0]
	for i, t := range f.Tensors {
		if i >= floats {
			kept = append(kept, t)
			continue
		}
		if !read[t.Name] {
			continue
		}
		if strings.HasSuffix(t.Name, ".weight_scale") || strings.HasSuffix(t.Name, ".output_scale") {
			name := t.Name + "_f"
			for k := 2; im.used[name]; k++ {
				name = fmt.Sprintf("%s_f%d", t.Name, k)
			}
			im.used[name] = true
			if v := params[t.Name]; v != nil {
				v.Name = name
			}
			t.Name = name
		}
		kept = append(kept, t)
	}
	f.Tensors = kept
	f.Metadata["quantization"] = "int8"
	f.Metadata["int8_store"] = "u8"
	return nil
}
