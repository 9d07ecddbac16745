package onnx

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/ir"
)

// NN writes the imported model in the nnc language, and its weights as the
// state_dict the .nn file's layers name: the layers recognised where the
// graph allows (a product with a transposed weight P.weight plus P.bias is
// Linear P; Conv2d, BatchNorm, LayerNorm and Embedding likewise), named
// after the initializers, and every other op as its built-in. A tensor that
// is no layer's (a bare parameter) is a Parameter layer of its own.
func (im *Imported) NN() ([]byte, *checkpoint.File, error) {
	g := im.Program.Forward
	w := &nnWriter{g: g, uses: g.Uses(), names: map[int]string{}, layerOf: map[int]string{}, weights: im.Weights, renamed: map[string]string{},
		out: &checkpoint.File{Metadata: map[string]string{"format": "pt", "model": im.Program.Model}}}
	if err := w.layers(); err != nil {
		return nil, nil, err
	}
	if err := w.body(); err != nil {
		return nil, nil, err
	}
	w.int8()
	return []byte(w.text()), w.out, nil
}

// int8 completes the int8 checkpoint of a QDQ model whose layers the
// importer lowered (qdqint8.go): beside the int8 weights and biases of
// the .nn's layers, their scales and zero points under the layers' names,
// the residual Adds', and the metadata that marks it.
func (w *nnWriter) int8() {
	if w.weights.Metadata["quantization"] != "int8" {
		return
	}
	for _, k := range []string{"quantization", "int8_store"} {
		w.out.Metadata[k] = w.weights.Metadata[k]
	}
	for _, t := range slices.Clone(w.out.Tensors) {
		layer, ok := strings.CutSuffix(t.Name, ".weight")
		if !ok || t.DType() != checkpoint.I8 {
			continue
		}
		from := layer
		if old, ok := w.renamed[t.Name]; ok {
			from = strings.TrimSuffix(old, ".weight")
		}
		for _, s := range []string{".weight_scale", ".input_scale", ".input_zero_point", ".output_scale", ".output_zero_point"} {
			if src := w.weights.Get(from + s); src != nil && w.out.Get(layer+s) == nil {
				c := *src
				c.Name = layer + s
				w.out.Tensors = append(w.out.Tensors, &c)
			}
		}
	}
	for _, t := range w.weights.Tensors {
		if add, ok := strings.CutSuffix(t.Name, ".output_scale"); ok && strings.HasPrefix(add, "add") && w.weights.Get(add+".weight_scale") == nil {
			for _, s := range []string{".output_scale", ".output_zero_point"} {
				if src := w.weights.Get(add + s); src != nil && w.out.Get(add+s) == nil {
					w.out.Tensors = append(w.out.Tensors, src)
				}
			}
		}
	}
}

type nnWriter struct {
	g       *ir.Graph
	uses    map[int]int
	names   map[int]string // a value's expression or variable
	layerOf map[int]string // a parameter's layer
	decls   []string       // layer declarations
	params  []string       // forward's parameters
	stmts   []string
	weights *checkpoint.File
	out     *checkpoint.File
	renamed map[string]string // a tensor of out → its name in weights
	nvar    int
	// layer[v.ID] is the layer computing value v (its call).
	layer map[int]string
	// skip are the values a layer call absorbs (Linear's product).
	skip map[int]bool
	// rename gives the tensors of a layer named after no initializer
	// (PyTorch's onnx::Conv_37 for a convolution it folded a batch norm
	// into) their name in the layer: conv1.weight.
	rename map[int]string
}

// fresh returns an unused layer name kind1, kind2, ...
func (w *nnWriter) fresh(kind string) string {
	for i := 1; ; i++ {
		name := fmt.Sprintf("%s%d", kind, i)
		used := false
		for _, v := range w.g.Values {
			if (v.Op == ir.OpParam || v.Op == ir.OpBuffer) && strings.HasPrefix(v.Name, name+".") {
				used = true
			}
		}
		for _, d := range w.decls {
			used = used || strings.HasPrefix(d, name+" = ")
		}
		if !used {
			return name
		}
	}
}

// unnamed reports whether every tensor given is no layer's by its name,
// so that the layer may be named afresh.
func unnamed(ps ...*ir.Value) bool {
	for _, p := range ps {
		if p == nil {
			continue
		}
		if (p.Op != ir.OpParam && p.Op != ir.OpBuffer) || strings.Contains(p.Name, ".") {
			return false
		}
	}
	return true
}

func (w *nnWriter) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "// Imported from %s by nnc import; the weights are in the .safetensors beside it.\n", w.g.File)
	model := "Imported"
	if m := strings.TrimSuffix(w.g.Name, ".forward"); m != "" && ident(m) == m {
		model = m
	}
	fmt.Fprintf(&b, "model %s {\n", model)
	for _, d := range w.decls {
		fmt.Fprintf(&b, "    %s\n", d)
	}
	if len(w.decls) > 0 {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "    forward(%s) {\n", strings.Join(w.params, ", "))
	for _, s := range w.stmts {
		fmt.Fprintf(&b, "        %s\n", s)
	}
	b.WriteString("    }\n}\n")
	return b.String()
}

// param returns the layer prefix of parameter v named PREFIX.suffix, or "".
func prefix(v *ir.Value, suffix string) string {
	if v == nil || (v.Op != ir.OpParam && v.Op != ir.OpBuffer) {
		return ""
	}
	p, ok := strings.CutSuffix(v.Name, "."+suffix)
	if !ok || ident(p) != p || p == "" {
		return ""
	}
	return p
}

func (w *nnWriter) tensor(name string) *checkpoint.Tensor { return w.weights.Get(name) }

// keep copies tensor name of the ONNX weights to the output as newName
// (the same name unless a layer renames it).
func (w *nnWriter) keep(name string) error {
	t := w.tensor(name)
	if t == nil {
		return fmt.Errorf("tensor %s has no value", name)
	}
	if w.out.Get(name) == nil {
		w.out.Tensors = append(w.out.Tensors, t)
	}
	return nil
}

// keepAs copies tensor name to the output as newName.
func (w *nnWriter) keepAs(name, newName string) error {
	t := w.tensor(name)
	if t == nil {
		return fmt.Errorf("tensor %s has no value", name)
	}
	c := *t
	c.Name = newName
	w.out.Tensors = append(w.out.Tensors, &c)
	w.renamed[newName] = name
	return nil
}

func (w *nnWriter) declare(name, decl string, v *ir.Value, params ...*ir.Value) error {
	for _, p := range params {
		if p == nil {
			continue
		}
		if prev, ok := w.layerOf[p.ID]; ok && prev != name {
			return fmt.Errorf("tensor %s is used by two layers", p.Name)
		}
		w.layerOf[p.ID] = name
		if newName, ok := w.rename[p.ID]; ok {
			if err := w.keepAs(p.Name, newName); err != nil {
				return err
			}
			continue
		}
		if err := w.keep(p.Name); err != nil {
			return err
		}
	}
	d := name + " = " + decl
	if !slices.Contains(w.decls, d) {
		for _, e := range w.decls {
			if strings.HasPrefix(e, name+" = ") {
				return fmt.Errorf("layer %s declared twice, as %s and %s", name, strings.TrimPrefix(e, name+" = "), decl)
			}
		}
		w.decls = append(w.decls, d)
	}
	return nil
}

func (w *nnWriter) arg(v *ir.Value, i int) *ir.Value {
	if i < len(v.Args) {
		return v.Args[i]
	}
	return nil
}

// layers recognises the layers and declares them.
func (w *nnWriter) layers() error {
	w.layer, w.skip, w.rename = map[int]string{}, map[int]bool{}, map[int]string{}
	for _, v := range w.g.Values {
		switch v.Op {
		case ir.OpMatMul:
			wt := v.Args[1]
			p := prefix(wt, "weight")
			if p == "" || !v.Attrs.Bool("tb") || v.Attrs.Bool("ta") || wt.Type.Shape.Rank() != 2 {
				continue
			}
			var bias *ir.Value
			out := v
			// The bias added to the product alone.
			for _, u := range w.g.Values {
				if u.Op == ir.OpAdd && w.uses[v.ID] == 1 && u.Args[0] == v && prefix(u.Args[1], "bias") == p && u.Args[1].Type.Shape.Rank() == 1 {
					bias, out = u.Args[1], u
				}
			}
			decl := fmt.Sprintf("Linear(%d, %d)", wt.Type.Shape[1], wt.Type.Shape[0])
			if bias == nil {
				decl = fmt.Sprintf("Linear(%d, %d, bias = false)", wt.Type.Shape[1], wt.Type.Shape[0])
			}
			if err := w.declare(p, decl, v, wt, bias); err != nil {
				return err
			}
			if out != v {
				w.skip[v.ID] = true
			}
			w.layer[out.ID] = p + "(" + "\x00" + strconv.Itoa(v.Args[0].ID) + ")"
		case ir.OpConv2d:
			wt, b := v.Args[1], w.arg(v, 2)
			p := prefix(wt, "weight")
			if (p == "" || (b != nil && prefix(b, "bias") != p)) && unnamed(wt, b) && w.uses[wt.ID] == 1 {
				p = w.fresh("conv")
				w.rename[wt.ID] = p + ".weight"
				if b != nil {
					w.rename[b.ID] = p + ".bias"
				}
			}
			if p == "" || (b != nil && prefix(b, "bias") != p && w.rename[b.ID] == "") {
				continue
			}
			s := wt.Type.Shape
			decl := fmt.Sprintf("Conv2d(%d, %d, %d", s[1], s[0], s[2])
			if st := v.Attrs.Int("stride", 1); st != 1 {
				decl += fmt.Sprintf(", stride = %d", st)
			}
			if pd := v.Attrs.Int("padding", 0); pd != 0 {
				decl += fmt.Sprintf(", padding = %d", pd)
			}
			if b == nil {
				decl += ", bias = false"
			}
			if err := w.declare(p, decl+")", v, wt, b); err != nil {
				return err
			}
			w.layer[v.ID] = p + "(\x00" + strconv.Itoa(v.Args[0].ID) + ")"
		case ir.OpBatchNorm:
			p := prefix(v.Args[1], "weight")
			if p == "" || prefix(v.Args[2], "bias") != p || prefix(v.Args[3], "running_mean") != p || prefix(v.Args[4], "running_var") != p {
				continue
			}
			kind := "BatchNorm1d"
			if v.Args[0].Type.Shape.Rank() == 4 {
				kind = "BatchNorm2d"
			}
			decl := fmt.Sprintf("%s(%d%s)", kind, v.Args[1].Type.Shape[0], epsArg(v))
			if err := w.declare(p, decl, v, v.Args[1:]...); err != nil {
				return err
			}
			if w.out.Get(p+".num_batches_tracked") == nil {
				w.out.Tensors = append(w.out.Tensors, &checkpoint.Tensor{Name: p + ".num_batches_tracked", Shape: []int{}, I64: []int64{0}})
			}
			w.layer[v.ID] = p + "(\x00" + strconv.Itoa(v.Args[0].ID) + ")"
		case ir.OpLayerNorm:
			p := prefix(v.Args[1], "weight")
			if p == "" || prefix(v.Args[2], "bias") != p {
				// Tensors of a module path the language cannot spell
				// (layer.norm1.weight): the layer named layer_norm1, and its
				// tensors renamed to match.
				raw, ok1 := strings.CutSuffix(v.Args[1].Name, ".weight")
				rawb, ok2 := strings.CutSuffix(v.Args[2].Name, ".bias")
				if !ok1 || !ok2 || raw != rawb || ident(raw) == "" || w.declared(ident(raw)) || w.uses[v.Args[1].ID] != 1 {
					continue
				}
				p = ident(raw)
				w.rename[v.Args[1].ID] = p + ".weight"
				w.rename[v.Args[2].ID] = p + ".bias"
			}
			decl := fmt.Sprintf("LayerNorm(%d%s)", v.Args[1].Type.Shape[0], epsArg(v))
			if err := w.declare(p, decl, v, v.Args[1:]...); err != nil {
				return err
			}
			w.layer[v.ID] = p + "(\x00" + strconv.Itoa(v.Args[0].ID) + ")"
		case ir.OpEmbedding:
			p := prefix(v.Args[1], "weight")
			if p == "" {
				continue
			}
			s := v.Args[1].Type.Shape
			if err := w.declare(p, fmt.Sprintf("Embedding(%d, %d)", s[0], s[1]), v, v.Args[1]); err != nil {
				return err
			}
			w.layer[v.ID] = p + "(\x00" + strconv.Itoa(v.Args[0].ID) + ")"
		case ir.OpMaxPool2d:
			k, s := v.Attrs.Int("kernel", 0), v.Attrs.Int("stride", 0)
			name := fmt.Sprintf("pool%d", k)
			decl := fmt.Sprintf("MaxPool2d(%d)", k)
			if s != 0 && s != k {
				name += fmt.Sprintf("s%d", s)
				decl = fmt.Sprintf("MaxPool2d(%d, stride = %d)", k, s)
			}
			if err := w.declare(name, decl, v); err != nil {
				return err
			}
			w.layer[v.ID] = name + "(\x00" + strconv.Itoa(v.Args[0].ID) + ")"
		}
	}
	return nil
}

func epsArg(v *ir.Value) string {
	eps := v.Attrs.Float("eps", 1e-5)
	if float32(eps) == float32(1e-5) {
		return ""
	}
	return ", eps = " + num(eps)
}

func num(f float64) string {
	if math.IsInf(f, 1) {
		return "1e308" // the language has no infinity; clip's bounds only
	}
	if math.IsInf(f, -1) {
		return "-1e308"
	}
	if float64(float32(f)) == f {
		return strconv.FormatFloat(f, 'g', -1, 32)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func ints(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func dims(s ir.Shape) string {
	d := make([]string, len(s))
	for i, x := range s {
		if x == ir.Batch {
			d[i] = "N"
		} else {
			d[i] = strconv.Itoa(x)
		}
	}
	return strings.Join(d, ", ")
}

// ref is the text of value v as an argument.
func (w *nnWriter) ref(v *ir.Value) string { return w.names[v.ID] }

// body writes forward's statements.
func (w *nnWriter) body() error {
	for _, v := range w.g.Values {
		if w.skip[v.ID] {
			continue
		}
		var expr string
		switch v.Op {
		case ir.OpInput:
			w.params = append(w.params, fmt.Sprintf("%s: %s[%s]", v.Name, v.Type.DType, dims(v.Type.Shape)))
			w.names[v.ID] = v.Name
			continue
		case ir.OpParam, ir.OpBuffer:
			continue // declared by its layer; a bare one is refused where used
		case ir.OpConst:
			w.names[v.ID] = num(v.Attrs.Float("value", 0))
			continue
		}
		if l, ok := w.layer[v.ID]; ok {
			before, id, _ := strings.Cut(l, "\x00")
			idn, _ := strconv.Atoi(strings.TrimSuffix(id, ")"))
			expr = before + w.names[idn] + ")"
		} else {
			for _, a := range v.Args {
				if (a.Op == ir.OpParam || a.Op == ir.OpBuffer) && w.layerOf[a.ID] == "" {
					if err := w.bare(a); err != nil {
						return err
					}
				}
				if (a.Op == ir.OpParam || a.Op == ir.OpBuffer) && w.names[a.ID] == "" {
					w.names[a.ID] = a.Name
				}
			}
			var err error
			if expr, err = w.expr(v); err != nil {
				return err
			}
		}
		if w.uses[v.ID] == 1 && len(expr) < 48 && !w.isOutput(v) {
			w.names[v.ID] = expr
			continue
		}
		w.nvar++
		name := fmt.Sprintf("h%d", w.nvar)
		w.stmts = append(w.stmts, name+" = "+expr)
		w.names[v.ID] = name
	}
	outs := w.g.Outputs
	if len(outs) != 1 {
		return fmt.Errorf("the model has %d outputs; a .nn model returns one", len(outs))
	}
	ret := w.ref(outs[0].Value)
	if n := len(w.stmts); n > 0 && strings.HasPrefix(w.stmts[n-1], ret+" = ") {
		// h2 = fc(h1); return h2 as return fc(h1).
		ret, w.stmts = strings.TrimPrefix(w.stmts[n-1], ret+" = "), w.stmts[:n-1]
	}
	w.stmts = append(w.stmts, "return "+ret)
	return nil
}

// bare declares tensor a, the parameter of no layer nnc recognises (a
// grouped convolution's weight, attention's in-projection), as a
// Parameter layer: its state_dict key is the layer's name, the tensor's
// own where that is an identifier, else the identifier made from it.
func (w *nnWriter) bare(a *ir.Value) error {
	if a.Type.DType != ir.F32 && a.Type.DType != ir.F64 {
		return fmt.Errorf("tensor %s of type %s is the parameter of no layer nnc recognises, and a Parameter holds floats", a.Name, a.Type)
	}
	name := ident(a.Name)
	if name == "" || !isIdentStart(name[0]) {
		name = "p_" + name
	}
	base := name
	for i := 2; w.declared(name) || w.weights.Get(name) != nil && name != a.Name; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	w.layerOf[a.ID] = name
	w.names[a.ID] = name
	w.decls = append(w.decls, fmt.Sprintf("%s = Parameter(%s)", name, dims(a.Type.Shape)))
	if name == a.Name {
		return w.keep(a.Name)
	}
	return w.keepAs(a.Name, name)
}

func (w *nnWriter) declared(name string) bool {
	for _, d := range w.decls {
		if strings.HasPrefix(d, name+" = ") {
			return true
		}
	}
	return false
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func (w *nnWriter) isOutput(v *ir.Value) bool {
	for _, o := range w.g.Outputs {
		if o.Value == v {
			return true
		}
	}
	return false
}

var infix = map[ir.Op]string{ir.OpAdd: "+", ir.OpSub: "-", ir.OpMul: "*", ir.OpDiv: "/"}

var unaryNames = map[ir.Op]string{
	ir.OpRelu: "relu", ir.OpSigmoid: "sigmoid", ir.OpTanh: "tanh", ir.OpExp: "exp", ir.OpLog: "log",
	ir.OpSqrt: "sqrt", ir.OpAbs: "abs", ir.OpErf: "erf", ir.OpSoftplus: "softplus", ir.OpSoftsign: "softsign",
	ir.OpHardSwish: "hard_swish", ir.OpReciprocal: "reciprocal", ir.OpFloor: "floor", ir.OpCeil: "ceil",
	ir.OpNot: "not",
}

var binaryNames = map[ir.Op]string{
	ir.OpPow: "pow", ir.OpMin: "min", ir.OpMax: "max", ir.OpPRelu: "prelu",
	ir.OpEqual: "equal", ir.OpLess: "less", ir.OpGreater: "greater",
	ir.OpAnd: "and", ir.OpOr: "or", ir.OpXor: "xor",
}

// expr is v's expression.
func (w *nnWriter) expr(v *ir.Value) (string, error) {
	a := func(i int) string { return w.ref(v.Args[i]) }
	floats := func(keys ...string) string {
		var s string
		for _, k := range keys {
			if x, ok := v.Attrs.Get(k); ok {
				s += ", " + k + " = " + num(x.(float64))
			}
		}
		return s
	}
	intLists := func(keys ...string) string {
		var s string
		for _, k := range keys {
			if xs := v.Attrs.Ints(k); len(xs) > 0 {
				s += ", " + k + " = " + ints(xs)
			}
		}
		return s
	}
	if op, ok := infix[v.Op]; ok {
		return "(" + a(0) + " " + op + " " + a(1) + ")", nil
	}
	if f, ok := unaryNames[v.Op]; ok {
		return f + "(" + a(0) + ")", nil
	}
	if f, ok := binaryNames[v.Op]; ok {
		return f + "(" + a(0) + ", " + a(1) + ")", nil
	}
	switch v.Op {
	case ir.OpNeg:
		return "(-" + a(0) + ")", nil
	case ir.OpGelu:
		if v.Attrs.String("approximate") == "tanh" {
			return "gelu(" + a(0) + ", approximate = \"tanh\")", nil
		}
		return "gelu(" + a(0) + ")", nil
	case ir.OpSoftmax, ir.OpLogSoftmax:
		f := "softmax"
		if v.Op == ir.OpLogSoftmax {
			f = "log_softmax"
		}
		d := v.Attrs.Int("dim", -1)
		if d == v.Type.Shape.Rank()-1 {
			return f + "(" + a(0) + ")", nil
		}
		return fmt.Sprintf("%s(%s, dim = %d)", f, a(0), d), nil
	case ir.OpMatMul:
		// A transposed operand (a weight that is no Linear layer's) is
		// written transposed: the front end folds it back into the product.
		x, y := a(0), a(1)
		if v.Attrs.Bool("ta") {
			x = "transpose(" + x + ", -2, -1)"
		}
		if v.Attrs.Bool("tb") {
			y = "transpose(" + y + ", -2, -1)"
		}
		return "(" + x + " @ " + y + ")", nil
	case ir.OpReshape:
		return "reshape(" + a(0) + ", " + dims(v.Type.Shape) + ")", nil
	case ir.OpTranspose:
		return fmt.Sprintf("transpose(%s, %d, %d)", a(0), v.Attrs.Int("d0", 0), v.Attrs.Int("d1", 0)), nil
	case ir.OpLeakyRelu:
		return "leaky_relu(" + a(0) + floats("alpha") + ")", nil
	case ir.OpElu:
		return "elu(" + a(0) + floats("alpha") + ")", nil
	case ir.OpSelu:
		return "selu(" + a(0) + floats("alpha", "gamma") + ")", nil
	case ir.OpHardSigmoid:
		return "hard_sigmoid(" + a(0) + floats("alpha", "beta") + ")", nil
	case ir.OpClip:
		return "clip(" + a(0) + floats("min", "max") + ")", nil
	case ir.OpWhere:
		return "where(" + a(0) + ", " + a(1) + ", " + a(2) + ")", nil
	case ir.OpCast:
		return fmt.Sprintf("cast(%s, to = %q)", a(0), v.Attrs.String("to")), nil
	case ir.OpReduceSum, ir.OpReduceMean, ir.OpReduceMax, ir.OpReduceProd:
		f := map[ir.Op]string{ir.OpReduceSum: "reduce_sum", ir.OpReduceMean: "reduce_mean", ir.OpReduceMax: "reduce_max", ir.OpReduceProd: "reduce_prod"}[v.Op]
		return fmt.Sprintf("%s(%s%s, keepdims = %d)", f, a(0), intLists("axes"), v.Attrs.Int("keepdims", 1)), nil
	case ir.OpConcat:
		var xs []string
		for i := range v.Args {
			xs = append(xs, a(i))
		}
		return fmt.Sprintf("concat(%s, axis = %d)", strings.Join(xs, ", "), v.Attrs.Int("axis", 0)), nil
	case ir.OpSlice:
		return "slice(" + a(0) + intLists("starts", "ends", "axes", "steps") + ")", nil
	case ir.OpGather:
		return fmt.Sprintf("gather(%s, %s, axis = %d)", a(0), a(1), v.Attrs.Int("axis", 0)), nil
	case ir.OpExpand:
		return "expand(" + a(0) + ", " + dims(v.Type.Shape) + ")", nil
	case ir.OpTile:
		return "tile(" + a(0) + intLists("repeats") + ")", nil
	case ir.OpConv:
		args := a(0) + ", " + a(1)
		if len(v.Args) > 2 {
			args += ", " + a(2)
		}
		return fmt.Sprintf("conv(%s%s, group = %d)", args, intLists("strides", "pads", "dilations"), v.Attrs.Int("group", 1)), nil
	case ir.OpMaxPool:
		return "max_pool(" + a(0) + intLists("kernel_shape", "strides", "pads", "dilations") + ")", nil
	case ir.OpAveragePool:
		return fmt.Sprintf("average_pool(%s%s, count_include_pad = %d)", a(0), intLists("kernel_shape", "strides", "pads"), v.Attrs.Int("count_include_pad", 0)), nil
	case ir.OpGatherElements:
		return fmt.Sprintf("gather_elements(%s, %s, axis = %d)", a(0), a(1), v.Attrs.Int("axis", 0)), nil
	case ir.OpMod:
		return fmt.Sprintf("mod(%s, %s, fmod = %d)", a(0), a(1), v.Attrs.Int("fmod", 0)), nil
	case ir.OpPad:
		return fmt.Sprintf("pad(%s%s, mode = %q%s)", a(0), intLists("pads"), v.Attrs.String("mode"), floats("value")), nil
	case ir.OpArgMax, ir.OpArgMin:
		f := map[ir.Op]string{ir.OpArgMax: "arg_max", ir.OpArgMin: "arg_min"}[v.Op]
		return fmt.Sprintf("%s(%s, axis = %d, keepdims = %d, select_last_index = %d)", f, a(0), v.Attrs.Int("axis", 0), v.Attrs.Int("keepdims", 1), v.Attrs.Int("select_last_index", 0)), nil
	case ir.OpTrilu:
		return fmt.Sprintf("trilu(%s, upper = %d, k = %d)", a(0), v.Attrs.Int("upper", 1), v.Attrs.Int("k", 0)), nil
	case ir.OpNegativeLogLikelihoodLoss:
		args := a(0) + ", " + a(1)
		if len(v.Args) > 2 {
			args += ", " + a(2)
		}
		ii := ""
		if i := v.Attrs.Int("ignore_index", ir.NoIgnoreIndex); i != ir.NoIgnoreIndex {
			ii = fmt.Sprintf(", ignore_index = %d", i)
		}
		return fmt.Sprintf("negative_log_likelihood_loss(%s, reduction = %q%s)", args, v.Attrs.String("reduction"), ii), nil
	}
	return "", fmt.Errorf("%s has no spelling in the nnc language yet", v.Op)
}
