package onnx

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/onnx/onnxpb"
)

// Options configure Import.
type Options struct {
	// Dims fixes symbolic dimensions by their name in the model
	// (dim_param), as --set T=16 does; a symbolic first dimension that is
	// not fixed is the batch.
	Dims map[string]int
	// FloatQDQ runs every QuantizeLinear and DequantizeLinear as float
	// ops, as ONNX defines them, rather than a QDQ model's layers on
	// nnc's int8 kernels (qdqint8.go).
	FloatQDQ bool
}

// Imported is an ONNX model as nnc compiles it.
type Imported struct {
	Program *ir.Program
	// Weights holds the initializers (and the constants the graph reads
	// at run time) under the names of the parameters and buffers.
	Weights *checkpoint.File
	// Inputs and Outputs map the names of the graph's inputs and outputs
	// in the IR (Go identifiers; a single output is "out") to their names
	// in the ONNX file, in order.
	Inputs, Outputs []Name
}

// Name pairs a name in the IR with its name in the ONNX file.
type Name struct{ IR, ONNX string }

// batchDim stands for the symbolic batch size in a folded shape tensor.
const batchDim = math.MinInt64 + 1

// Import builds the forward graph of m. Problems with the model are a
// *diag.ErrorList naming the node, its op and the opset.
func Import(m *Model, opt Options) (res *Imported, err error) {
	defer func() {
		// The importer checks what it reads; a panic is a bug, reported
		// as an error rather than crashing the command on a hostile file.
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("onnx: internal error importing %s: %v", m.Path, r)
		}
		// Names from the file (ops, nodes, tensors) may hold newlines:
		// an error stays on one line.
		var el *diag.ErrorList
		switch {
		case errors.As(err, &el):
			for _, d := range el.Diags {
				d.Msg = printable(d.Msg)
			}
		case err != nil && strings.ContainsFunc(err.Error(), unicode.IsControl):
			err = errors.New(printable(err.Error()))
		}
	}()
	file := m.Path
	if file == "" {
		file = "model.onnx"
	}
	gp := m.Proto.Graph
	// The model is named after its file (mlp.onnx: mlp), as a .nn
	// model after its declaration; else after the graph.
	name := ident(strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)))
	if name == "" || m.Path == "" {
		name = ident(gp.GetName())
	}
	if name == "" {
		name = "onnx"
	}
	im := &importer{m: m, opt: opt, file: file, b: ir.NewBuilder(name+".forward", file),
		vals: map[string]*ir.Value{}, consts: map[string]*Tensor{}, inits: map[string]bool{},
		weights: &checkpoint.File{Metadata: map[string]string{"format": "onnx"}}, used: map[string]bool{}}
	if err := im.graph(gp); err != nil {
		var el *diag.ErrorList
		if errors.As(err, &el) {
			return nil, err
		}
		return nil, &diag.ErrorList{Diags: []*diag.Diagnostic{{Pos: diag.Pos{File: file}, Msg: err.Error()}}}
	}
	g := im.b.Graph()
	if err := im.int8Weights(g); err != nil {
		return nil, fmt.Errorf("onnx: %s: %v", file, err)
	}
	p := &ir.Program{File: file, Model: name, Forward: g}
	return &Imported{Program: p, Weights: im.weights, Inputs: im.inputs, Outputs: im.outputs}, nil
}

// printable escapes the control characters of s as Go writes them in a
// string literal (\n, \x00).
func printable(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

type importer struct {
	m    *Model
	opt  Options
	file string
	b    *ir.Builder
	// vals are the tensors computed at run time, consts those known when
	// compiling (initializers, Constants, folded shapes); a name may be in
	// both once a constant has been materialized.
	vals    map[string]*ir.Value
	consts  map[string]*Tensor
	inits   map[string]bool
	weights *checkpoint.File
	used    map[string]bool // tensor names of the parameters and buffers
	inputs  []Name
	outputs []Name

	qdq *qdqPlan // the QDQ layers lowered to int8

	node  *onnxpb.NodeProto
	index int
	read  map[string]bool // the node's attributes a handler read
}

// nodeError is a problem with one node.
type nodeError struct{ msg string }

func (e *nodeError) Error() string { return e.msg }

func (im *importer) errorf(format string, a ...any) error {
	return &nodeError{fmt.Sprintf(format, a...)}
}

func (im *importer) pos() diag.Pos { return diag.Pos{File: im.file} }

func (im *importer) graph(gp *onnxpb.GraphProto) error {
	for _, t := range gp.Initializer {
		if t.GetName() == "" {
			return errors.New("an initializer without a name")
		}
		tt, err := im.m.Tensor(t)
		if err != nil {
			return err
		}
		im.consts[t.GetName()] = tt
		im.inits[t.GetName()] = true
	}
	if len(gp.SparseInitializer) > 0 {
		return errors.New("sparse initializers are not supported")
	}
	batchUsed := false
	for _, vi := range gp.Input {
		if im.inits[vi.GetName()] {
			continue // listed as an input too by IR versions before 4
		}
		t, err := im.inputType(vi, &batchUsed)
		if err != nil {
			return err
		}
		id := im.uniqueIdent(vi.GetName(), "input")
		v, err := im.b.Input(id, t, im.pos())
		if err != nil {
			return fmt.Errorf("input %s: %v", vi.GetName(), err)
		}
		im.vals[vi.GetName()] = v
		im.inputs = append(im.inputs, Name{IR: id, ONNX: vi.GetName()})
	}
	im.planQDQ(gp)
	for i, n := range gp.Node {
		if im.qdq.skip[i] {
			continue // imported if a value needs it
		}
		im.node, im.index, im.read = n, i, map[string]bool{}
		handled, err := im.importPlanned(i)
		if err == nil && !handled {
			err = im.importNode()
		}
		if err != nil {
			return &diag.ErrorList{Diags: []*diag.Diagnostic{{Pos: im.pos(), Msg: im.describe() + ": " + err.Error()}}}
		}
	}
	if len(gp.Output) == 0 {
		return errors.New("the graph has no output")
	}
	for _, o := range gp.Output {
		v, err := im.value(o.GetName())
		if err != nil {
			return fmt.Errorf("output %s: %v", o.GetName(), err)
		}
		id := "out"
		if len(gp.Output) > 1 {
			id = im.uniqueIdent(o.GetName(), "output")
		}
		for _, prev := range im.outputs {
			if prev.ONNX == o.GetName() {
				return fmt.Errorf("output %s listed twice", o.GetName())
			}
		}
		im.b.Output(id, v)
		im.outputs = append(im.outputs, Name{IR: id, ONNX: o.GetName()})
	}
	return nil
}

// describe names the current node for messages: node NAME (OP, opset V).
func (im *importer) describe() string {
	n := im.node
	name := n.GetName()
	if name == "" {
		name = fmt.Sprintf("#%d", im.index)
		if len(n.Output) > 0 && n.Output[0] != "" {
			name += " → " + n.Output[0]
		}
	}
	op := n.GetOpType()
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		op = d + "." + op
	}
	return fmt.Sprintf("node %s (%s, opset %d)", name, op, im.m.Opset)
}

// inputType is the IR type of a graph input: a symbolic first dimension is
// the batch (one input may not have it elsewhere); other symbolic ones must
// be fixed by Options.Dims.
func (im *importer) inputType(vi *onnxpb.ValueInfoProto, batchUsed *bool) (ir.Type, error) {
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return ir.Type{}, fmt.Errorf("input %s: only tensor inputs are supported", vi.GetName())
	}
	dt, ok := dtypeOf(tt.GetElemType())
	if !ok {
		return ir.Type{}, fmt.Errorf("input %s: element type %s is not supported", vi.GetName(), typeName(tt.GetElemType()))
	}
	if tt.Shape == nil {
		return ir.Type{}, fmt.Errorf("input %s has no declared shape", vi.GetName())
	}
	dims := tt.Shape.Dim
	if len(dims) > MaxRank {
		return ir.Type{}, fmt.Errorf("input %s: %d dimensions, more than %d", vi.GetName(), len(dims), MaxRank)
	}
	shape := make(ir.Shape, len(dims))
	n := 1
	for i, d := range dims {
		sym := ""
		if _, fixed := d.Value.(*onnxpb.TensorShapeProto_Dimension_DimValue); !fixed || d.GetDimValue() <= 0 {
			if sym = d.GetDimParam(); sym == "" {
				sym = "?"
			}
		}
		switch {
		case sym == "":
			if d.GetDimValue() > MaxElems {
				return ir.Type{}, fmt.Errorf("input %s: dimension %d out of range", vi.GetName(), d.GetDimValue())
			}
			shape[i] = int(d.GetDimValue())
		case im.opt.Dims[sym] > 0:
			shape[i] = im.opt.Dims[sym]
		case i == 0:
			shape[i] = ir.Batch
			*batchUsed = true
		default:
			return ir.Type{}, fmt.Errorf("input %s: symbolic dimension %q at axis %d: only the first (batch) dimension may be symbolic; fix it with --set %s=SIZE", vi.GetName(), sym, i, sym)
		}
		if shape[i] > 0 {
			if n > MaxElems/shape[i] {
				return ir.Type{}, fmt.Errorf("input %s: more than %d elements", vi.GetName(), int64(MaxElems))
			}
			n *= shape[i]
		}
	}
	return ir.Type{DType: dt, Shape: shape}, nil
}

// ident turns an ONNX name into a Go identifier ("input.1" → "input_1"),
// or "" when nothing of it is left.
func ident(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := strings.Trim(b.String(), "_")
	if out != "" && out[0] >= '0' && out[0] <= '9' {
		out = "x" + out
	}
	return out
}

func (im *importer) uniqueIdent(s, fallback string) string {
	base := ident(s)
	if base == "" || base == "out" {
		base = fallback
	}
	taken := func(id string) bool {
		for _, n := range im.inputs {
			if n.IR == id {
				return true
			}
		}
		for _, n := range im.outputs {
			if n.IR == id {
				return true
			}
		}
		return false
	}
	id := base
	for i := 2; taken(id); i++ {
		id = fmt.Sprintf("%s_%d", base, i)
	}
	return id
}

// value returns the run-time value of tensor name, materializing a
// constant as a parameter (a float initializer) or a buffer.
func (im *importer) value(name string) (*ir.Value, error) {
	if v, ok := im.vals[name]; ok {
		return v, nil
	}
	t, ok := im.consts[name]
	if i, deferred := im.qdq.deferred[name]; deferred && !ok {
		if err := im.importDeferred(i); err != nil {
			return nil, err
		}
		return im.value(name)
	}
	if !ok {
		return nil, fmt.Errorf("tensor %q is not defined before its use", name)
	}
	if t.DType == ir.Bool {
		return nil, fmt.Errorf("tensor %q: bool tensors cannot be used at run time", name)
	}
	var shape ir.Shape
	for _, d := range t.Shape {
		shape = append(shape, d)
	}
	if slices.Contains(t.I, batchDim) {
		return nil, fmt.Errorf("tensor %q holds the symbolic batch size, which nnc folds at compile time only", name)
	}
	if len(shape) == 0 && t.DType.IsFloat() {
		v, err := im.b.Const(t.F[0], t.DType, im.pos())
		if err != nil {
			return nil, err
		}
		im.vals[name] = v
		return v, nil
	}
	if t.Elems() == 0 {
		return nil, fmt.Errorf("tensor %q is empty", name)
	}
	pname := name
	for i := 2; im.used[pname]; i++ {
		pname = fmt.Sprintf("%s_%d", name, i)
	}
	im.used[pname] = true
	typ := ir.Type{DType: t.DType, Shape: shape}
	var v *ir.Value
	var err error
	if t.DType.IsFloat() && im.inits[name] {
		v, err = im.b.Param(pname, typ, ir.Attrs{{Key: "init", Val: "zeros"}}, im.pos())
	} else {
		v, err = im.b.Buffer(pname, typ, ir.Attrs{{Key: "init", Val: "zeros"}}, im.pos())
	}
	if err != nil {
		return nil, err
	}
	ct := &checkpoint.Tensor{Name: pname, Shape: slices.Clone(t.Shape)}
	switch t.DType {
	case ir.F32:
		ct.F32 = make([]float32, len(t.F))
		for i, x := range t.F {
			ct.F32[i] = float32(x)
		}
	case ir.F64:
		ct.F64 = slices.Clone(t.F)
	default:
		ct.I64 = slices.Clone(t.I)
	}
	if ct.Shape == nil {
		ct.Shape = []int{}
	}
	im.weights.Tensors = append(im.weights.Tensors, ct)
	im.vals[name] = v
	return v, nil
}
