package train

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/passes"
)

// QuantizeOptions configure Quantize.
type QuantizeOptions struct {
	Weights string // the float checkpoint
	Out     string // the int8 checkpoint to write
	Calib   int    // samples of the training data that calibrate the ranges (0: 1000)
	Method  string // "minmax" (default) or "percentile" (0.01% and 99.99%)
	JSON    bool
	Stdout  io.Writer
}

// QuantizeReport is what Quantize did.
type QuantizeReport struct {
	Layers        []string
	Adds          []string // the residual Adds run in int8 (passes.Int8Adds)
	Samples       int
	FloatBytes    int64 // the float checkpoint's weights the int8 model replaces, in bytes
	Int8Bytes     int64 // theirs in the int8 checkpoint
	Split         string
	FloatAccuracy float64
	Int8Accuracy  float64
	FloatLoss     float64
	Int8Loss      float64
}

// Quantize writes an int8 checkpoint of p's model: post-training
// quantization with TFLite's scheme (see int8.go), its activation ranges
// calibrated on the first opt.Calib samples of the train block's data with
// the float checkpoint opt.Weights, then evaluates the float and the int8
// model on the test set (the training data without one).
func Quantize(p *ir.Program, src []byte, opt QuantizeOptions) (*QuantizeReport, error) {
	if p.Train == nil {
		return nil, fmt.Errorf("model %s has no train block to take the calibration data from", p.Model)
	}
	if in := p.Forward.Sources(ir.OpInput); len(in) != 1 || in[0].Type.DType != ir.F32 {
		return nil, fmt.Errorf("int8 quantization needs a model with one f32 input")
	}
	method := cmp.Or(opt.Method, "minmax")
	if method != "minmax" && method != "percentile" {
		return nil, fmt.Errorf("unknown calibration method %q; the methods are minmax and percentile", method)
	}
	calib := cmp.Or(opt.Calib, 1000)
	if calib < 0 {
		return nil, fmt.Errorf("--calib %d: the calibration needs at least one sample", calib)
	}
	f, err := checkpoint.Read(opt.Weights)
	if err != nil {
		return nil, err
	}
	if IsInt8(f) {
		return nil, fmt.Errorf("%s is already an int8 checkpoint: quantize its float checkpoint", opt.Weights)
	}
	cfg := p.Train
	dir := filepath.Dir(p.File)
	trainSet, err := Load(cfg.Data, dir, cfg.Loss, ShapeOf(p))
	if err != nil {
		return nil, err
	}
	evalSet, split := trainSet, "train"
	if cfg.Test != nil {
		if evalSet, err = Load(cfg.Test, dir, cfg.Loss, ShapeOf(p)); err != nil {
			return nil, err
		}
		split = "test"
	}
	if _, err := standardize(cfg.Data, trainSet, evalSet, opt.Weights); err != nil {
		return nil, err
	}

	// The calibration graph: the forward pass with the input, the output
	// and the weights of each candidate layer as outputs.
	g := p.Forward.Clone()
	var cands []*ir.Value
	for _, v := range g.Values {
		if _, _, ok := passes.Int8Candidate(v); ok {
			cands = append(cands, v)
		}
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("model %s has no Linear or Conv2d layer to quantize", p.Model)
	}
	// The checkpoint holds one input and one output scale per layer, so a
	// layer applied at two places (whose activations have two ranges, one
	// of them perhaps the layer's own output) cannot be stored.
	uses := map[string]int{}
	for _, v := range cands {
		name, _, _ := passes.Int8Candidate(v)
		if uses[name]++; uses[name] == 2 {
			return nil, fmt.Errorf("layer %s is applied more than once in model %s: an int8 checkpoint stores one input and one output scale per layer, so give each use a layer of its own", name, p.Model)
		}
	}
	adds := passes.Int8Adds(g)
	for i, a := range adds {
		g.SetOutput("calib.add."+strconv.Itoa(i), a.Value)
	}
	for i, v := range cands {
		g.SetOutput("calib.in."+strconv.Itoa(i), v.Args[0])
		g.SetOutput("calib.out."+strconv.Itoa(i), v)
		for j, a := range v.Args[1:] {
			if a.Op != ir.OpParam {
				g.SetOutput(fmt.Sprintf("calib.arg%d.%d", j+1, i), a)
			}
		}
	}
	memplan, _ := passes.Lookup("memplan")
	if err := memplan.Fn(g); err != nil {
		return nil, err
	}
	store := interp.NewStore[float32]()
	if err := store.Init(g, 0); err != nil {
		return nil, err
	}
	if err := loadTensors[float32](store, g, f, opt.Weights); err != nil {
		return nil, err
	}
	m, err := interp.New(g, store, 0)
	if err != nil {
		return nil, err
	}
	calib = min(calib, trainSet.N)
	obs := make([]*observer, 2*len(cands))
	for i, v := range cands {
		obs[2*i] = newObserver(v.Args[0].Type.Shape.Elems(), calib)
		obs[2*i+1] = newObserver(v.Type.Shape.Elems(), calib)
	}
	addObs := make([]*observer, len(adds))
	for i, a := range adds {
		addObs[i] = newObserver(a.Value.Type.Shape.Elems(), calib)
	}
	loader := data.NewLoader(trainSet, m.Batch(), false, 0)
	feed := newFeeder(machineSide(m), trainSet)
	for b, seen := 0, 0; seen < calib; b++ {
		n := feed.batch(loader, b)
		if err := m.Run(n); err != nil {
			return nil, fmt.Errorf("calibration, batch %d: %w", b+1, err)
		}
		rows := min(n, calib-seen)
		for i := range cands {
			obs[2*i].add(m.OutputTensor("calib.in."+strconv.Itoa(i)), rows)
			obs[2*i+1].add(m.OutputTensor("calib.out."+strconv.Itoa(i)), rows)
		}
		for i := range adds {
			addObs[i].add(m.OutputTensor("calib.add."+strconv.Itoa(i)), rows)
		}
		seen += rows
	}

	// The int8 checkpoint.
	out := &checkpoint.File{Metadata: map[string]string{}}
	for k, v := range f.Metadata {
		out.Metadata[k] = v
	}
	out.Metadata[Int8Key] = "int8"
	out.Metadata["quantization_scheme"] = "weights i8 symmetric per output channel; activations u8 asymmetric per tensor; bias i32 at input_scale*weight_scale"
	out.Metadata["calibration"] = fmt.Sprintf("%s on %d samples", method, calib)
	type qp struct {
		scale float64
		zp    int
	}
	outQ := map[*ir.Value]qp{}
	rep := &QuantizeReport{Samples: calib, Split: split, Adds: []string{}}
	// The residual Adds: the range of the sum (after the ReLU it fuses).
	for i, a := range adds {
		var o qp
		o.scale, o.zp = affineParams(addObs[i].bounds(method))
		outQ[a.Value] = o
		rep.Adds = append(rep.Adds, a.Name)
		out.Tensors = append(out.Tensors,
			&checkpoint.Tensor{Name: a.Name + ".output_scale", Shape: []int{}, F32: []float32{float32(o.scale)}},
			&checkpoint.Tensor{Name: a.Name + ".output_zero_point", Shape: []int{}, I64: []int64{int64(o.zp)}},
		)
	}
	for i, v := range cands {
		name, _, _ := passes.Int8Candidate(v)
		rep.Layers = append(rep.Layers, name)
		var in qp
		in.scale, in.zp = affineParams(obs[2*i].bounds(method))
		// An input that is the u8 output of a quantized layer, through max
		// pooling and reshapes, keeps that layer's parameters, so that the
		// values pass on with no requantization.
		src := v.Args[0]
		for src.Op == ir.OpMaxPool2d || src.Op == ir.OpReshape {
			src = src.Args[0]
		}
		if q, ok := outQ[src]; ok {
			in = q
		}
		var o qp
		o.scale, o.zp = affineParams(obs[2*i+1].bounds(method))
		outQ[v] = o
		w, b := floatArg(m, store, v, 1, i), floatArg(m, store, v, 2, i)
		wt := v.Args[1].Type.Shape
		if v.Args[1].Op == ir.OpBNFoldWeight {
			wt = v.Args[1].Args[0].Type.Shape
		}
		outs := wt[0]
		qw, ws := quantizeWeights(w, outs)
		qb := make([]int32, outs)
		for o := range outs {
			if b != nil {
				x := math.RoundToEven(float64(b[o]) / (in.scale * float64(ws[o])))
				qb[o] = int32(max(math.MinInt32, min(math.MaxInt32, x)))
			}
		}
		out.Tensors = append(out.Tensors,
			&checkpoint.Tensor{Name: name + ".weight", Shape: slices.Clone([]int(wt)), I8: qw},
			&checkpoint.Tensor{Name: name + ".weight_scale", Shape: []int{outs}, F32: ws},
			&checkpoint.Tensor{Name: name + ".bias", Shape: []int{outs}, I32: qb},
			&checkpoint.Tensor{Name: name + ".input_scale", Shape: []int{}, F32: []float32{float32(in.scale)}},
			&checkpoint.Tensor{Name: name + ".input_zero_point", Shape: []int{}, I64: []int64{int64(in.zp)}},
			&checkpoint.Tensor{Name: name + ".output_scale", Shape: []int{}, F32: []float32{float32(o.scale)}},
			&checkpoint.Tensor{Name: name + ".output_zero_point", Shape: []int{}, I64: []int64{int64(o.zp)}},
		)
		rep.Int8Bytes += int64(len(qw) + 4*outs + 4*outs)
		rep.FloatBytes += int64(4 * (len(qw) + outs))
	}
	// The float parameters the int8 model still reads.
	layers, err := Int8Layers(out)
	if err != nil {
		return nil, fmt.Errorf("internal error: %v", err)
	}
	qg := p.Forward.Clone()
	if err := passes.Quantize(qg, layers); err != nil {
		return nil, err
	}
	for _, v := range qg.Values {
		// The loader derives the i32 biases and the packed weights.
		if (v.Op == ir.OpParam || v.Op == ir.OpBuffer) && out.Get(v.Name) == nil && v.Type.DType != ir.I32 && !strings.HasSuffix(v.Name, ".qweight") {
			t := f.Get(v.Name)
			if t == nil {
				return nil, fmt.Errorf("%s: no tensor %s", opt.Weights, v.Name)
			}
			out.Tensors = append(out.Tensors, t)
		}
	}
	if err := checkpoint.Write(opt.Out, out); err != nil {
		return nil, err
	}

	// Float and int8, side by side, on the evaluation data.
	var ferr error
	rep.FloatLoss, rep.FloatAccuracy, ferr = evalWith(p.EvalGraph, f, opt.Weights, evalSet, false)
	if ferr != nil {
		return nil, ferr
	}
	back, err := checkpoint.Read(opt.Out)
	if err != nil {
		return nil, err
	}
	if rep.Int8Loss, rep.Int8Accuracy, err = evalWith(p.EvalGraph, back, opt.Out, evalSet, true); err != nil {
		return nil, err
	}
	if !cfg.Loss.Classification() {
		rep.FloatAccuracy, rep.Int8Accuracy = math.NaN(), math.NaN()
	}
	return rep, nil
}

// floatArg returns argument i of layer v as float32s: a parameter's
// tensor, or the calibration graph's output calib.argI.K (a weight or bias
// folded with a batch norm); nil for a missing bias.
func floatArg(m *interp.Machine[float32], store *interp.Store[float32], v *ir.Value, i, k int) []float32 {
	if i >= len(v.Args) {
		return nil
	}
	a := v.Args[i]
	if a.Op == ir.OpParam {
		return store.Float(a.Name)
	}
	if a.Op == ir.OpConst {
		return make([]float32, v.Type.Shape[1])
	}
	return m.OutputTensor(fmt.Sprintf("calib.arg%d.%d", i, k))[:a.Type.Shape.Elems()]
}

// evalWith evaluates the graph g (the forward pass and the loss) with the
// checkpoint f over ds: the mean loss and the accuracy. int8 runs the int8
// rewrite of g.
func evalWith(g *ir.Graph, f *checkpoint.File, path string, ds *data.Dataset, int8 bool) (loss, acc float64, err error) {
	load := loadTensors[float32]
	if int8 {
		if g, err = Int8Graph(g, f); err != nil {
			return 0, 0, fmt.Errorf("%s: %v", path, err)
		}
		load = loadInt8[float32]
	}
	store := interp.NewStore[float32]()
	if err := store.Init(g, 0); err != nil {
		return 0, 0, err
	}
	if err := load(store, g, f, path); err != nil {
		return 0, 0, err
	}
	m, err := interp.New(g, store, 0)
	if err != nil {
		return 0, 0, err
	}
	e, err := evaluate(machineSide(m), ds)
	return e.Loss, e.Accuracy, err
}

// EvalInt8 prints what `nnc eval` prints for the int8 checkpoint at path:
// the evaluation line on the test set (the training data without one).
func EvalInt8(p *ir.Program, path string, jsonOut bool, w io.Writer) (Epoch, error) {
	f, err := ReadInt8(path)
	if err != nil {
		return Epoch{}, err
	}
	if f == nil {
		return Epoch{}, fmt.Errorf("%s is not an int8 checkpoint", path)
	}
	cfg := p.Train
	dir := filepath.Dir(p.File)
	trainSet, err := Load(cfg.Data, dir, cfg.Loss, ShapeOf(p))
	if err != nil {
		return Epoch{}, err
	}
	evalSet, split := trainSet, "train"
	if cfg.Test != nil {
		if evalSet, err = Load(cfg.Test, dir, cfg.Loss, ShapeOf(p)); err != nil {
			return Epoch{}, err
		}
		split = "test"
	}
	if _, err := standardize(cfg.Data, trainSet, evalSet, path); err != nil {
		return Epoch{}, err
	}
	l, a, err := evalWith(p.EvalGraph, f, path, evalSet, true)
	if err != nil {
		return Epoch{}, err
	}
	e := Epoch{Split: split, Loss: l, Accuracy: a}
	pr := printer{out: w, json: jsonOut, classify: cfg.Loss.Classification()}
	if !pr.classify {
		e.Accuracy = math.NaN()
	}
	pr.final(e)
	return e, pr.err
}

// observer gathers the range of a tensor over the calibration samples:
// its minimum and maximum, and a sample of its values for percentiles.
type observer struct {
	lo, hi float64
	elems  int // per sample
	stride int
	kept   []float32
	seen   int
}

// maxKept bounds the values an observer keeps for percentiles.
const maxKept = 1 << 21

func newObserver(elems, samples int) *observer {
	return &observer{lo: math.Inf(1), hi: math.Inf(-1), elems: elems, stride: max(1, elems*samples/maxKept)}
}

func (o *observer) add(x []float32, rows int) {
	for _, v := range x[:rows*o.elems] {
		f := float64(v)
		o.lo, o.hi = min(o.lo, f), max(o.hi, f)
		if o.seen%o.stride == 0 {
			o.kept = append(o.kept, v)
		}
		o.seen++
	}
}

// bounds returns the range to quantize: the extremes for minmax, the 0.01
// and 99.99 percentiles for percentile.
func (o *observer) bounds(method string) (lo, hi float64) {
	if method != "percentile" || len(o.kept) == 0 {
		return o.lo, o.hi
	}
	slices.Sort(o.kept)
	at := func(q float64) float64 { return float64(o.kept[int(q*float64(len(o.kept)-1))]) }
	return at(0.0001), at(0.9999)
}
