// Package codegen turns a compiled nnc model into a Go package: the forward
// pass, and optionally the training step, specialized to the model's
// shapes, calling the same kernels the interpreter calls, with the buffers
// of the memory plan allocated once in New so that no call allocates.
//
// Identifiers in the generated code do not carry the user's files as they
// are: parameters are numbered (p[0]), a value's field is its name's ASCII
// letters and digits and its ID (f_h12), and user names otherwise appear
// only inside Go string literals (strconv.Quote) and in comments from
// which line breaks are removed, so no model file can inject code.
// The one exception is the inputs of a model with several: an input named
// by a plain ASCII identifier, such as mask, becomes Forward's parameter
// inMask and the constant InputMaskSize, prefixed so that no name can
// shadow another.
//
// The statements of a graph are its values' lowered kernel calls
// (ir.Lowering) printed one by one: codegen knows no op's meaning. Each
// computed value and scratch buffer is a field viewing the graph's byte
// arena (kernels.View) at the offset the memory plan gave it, named after
// the user's name for it, with its op and source position in its comment.
package codegen

import (
	"bytes"
	"fmt"
	"go/format"
	"go/token"
	"strconv"
	"strings"
	"unicode"

	"github.com/nnc-go/nnc/ir"
)

// Options configure Generate.
type Options struct {
	// Package is the generated package's name: a Go identifier, not a
	// keyword.
	Package string
	// Source is the model file's name, for the header.
	Source string
	// Weights, when true, makes New load the parameters from an embedded
	// weights.safetensors beside the generated file; otherwise New
	// initialises them as PyTorch does, from Seed.
	Weights bool
	Seed    uint64
	// Train adds TrainStep (the program must have a training step).
	Train bool
	// Explain, when not nil, is passes.Explain of the forward graph,
	// through the passes and planned for at most the forward pass's batch:
	// it adds Explain, the gradient of a chosen output of each row with
	// respect to the row.
	Explain *ir.Graph
	// Mean and Std, when not nil, are the per-feature statistics the model
	// was trained with (csv(..., normalize = true)): Forward standardises
	// its rows with them. TrainStep and Evaluate take rows standardised
	// already, as nnc's training loop gives them.
	Mean, Std []float64
}

// Generate returns the Go source of the package for p's entry model,
// gofmt'd. p's graphs must have been through the passes (memplan included).
func Generate(p *ir.Program, opt Options) ([]byte, error) {
	if err := CheckPackageName(opt.Package); err != nil {
		return nil, err
	}
	fwd := p.Forward
	if fwd.Plan == nil {
		return nil, fmt.Errorf("codegen: the forward graph has no memory plan")
	}
	in := fwd.Sources(ir.OpInput)
	if len(in) == 0 {
		return nil, fmt.Errorf("codegen: the model has no input")
	}
	for _, x := range in {
		if x.Type.Shape.Rank() == 0 || x.Type.Shape[0] != ir.Batch {
			return nil, fmt.Errorf("codegen: input %s must have the batch as its first dimension", x.Name)
		}
	}
	if opt.Train && len(in) != 1 {
		return nil, fmt.Errorf("codegen: --train needs a model with one input; %s takes %d", p.Model, len(in))
	}
	out := fwd.Output("out")
	if out.Type.Shape.Rank() == 0 || out.Type.Shape[0] != ir.Batch {
		return nil, fmt.Errorf("codegen: the model's output must have the batch as its first dimension")
	}
	if opt.Train && (p.TrainGraph == nil || p.TrainGraph.Plan == nil || p.EvalGraph == nil || p.EvalGraph.Plan == nil) {
		return nil, fmt.Errorf("codegen: --train needs a train block")
	}
	if err := checkStandardization(opt, in[0].Type.Shape.Elems()); err != nil {
		return nil, err
	}
	if err := checkExplain(p, opt); err != nil {
		return nil, err
	}
	g := &gen{p: p, opt: opt, elem: "float32", hoisted: map[*ir.Value]bool{}}
	if out.Type.DType == ir.F64 {
		g.elem = "float64"
	}
	g.xtype = "[]" + g.goType(in[0].Type.DType)
	g.inputs = goInputs(in, g)
	if err := g.collect(); err != nil {
		return nil, err
	}
	src, err := g.file()
	if err != nil {
		return nil, fmt.Errorf("codegen: %v", err)
	}
	formatted, err := format.Source(src)
	if err != nil {
		return nil, fmt.Errorf("codegen: generated code does not parse (a bug in nnc): %v\n%s", err, src)
	}
	return formatted, nil
}

// CheckPackageName refuses names that are not plain Go package names.
func CheckPackageName(name string) error {
	if name == "" || !token.IsIdentifier(name) || token.IsKeyword(name) || name == "_" {
		return fmt.Errorf("package name %q is not a Go identifier", name)
	}
	for _, r := range name {
		if r > unicode.MaxASCII {
			return fmt.Errorf("package name %q is not ASCII", name)
		}
	}
	return nil
}

// PackageName derives a package name from a file or model name: lower
// case ASCII letters and digits, "model" when nothing usable remains.
func PackageName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) && b.Len() > 0) {
			b.WriteRune(r)
		}
	}
	name := b.String()
	if name == "" || token.IsKeyword(name) || CheckPackageName(name) != nil {
		return "model"
	}
	return name
}

// comment makes s safe inside a // comment: one line, printable.
func comment(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// param is a persistent tensor of the model: a parameter, a buffer or
// optimizer state.
type param struct {
	name  string
	shape ir.Shape
	i64   bool
	int8  ir.DType // I8 or I32: a tensor of an int8 layer (nnc quantize)
	// packed is the [out, in] shape of an int8 Linear's weights, which
	// the tensor holds packed (nncrt.Tensor.Packed).
	packed []int
	init   string
	fanIn  int
	std    float64
	state  bool // optimizer state: not in the state_dict
	index  int  // into Model.p (floats), Model.pi (int64), Model.pb (int8) or Model.pw (int32)
}

// array is the field of Model that holds p.
func (p *param) array() string {
	switch {
	case p.i64:
		return "pi"
	case p.int8 == ir.I8:
		return "pb"
	case p.int8 == ir.I32:
		return "pw"
	}
	return "p"
}

type gen struct {
	p     *ir.Program
	opt   Options
	elem  string // float32 or float64
	xtype string // the Go type of the input: []float32, []int64...
	// inputs are the forward inputs as Forward's parameters.
	inputs  []goInput
	params  []*param
	byName  map[string]*param
	nf, ni  int // float and int64 persistent tensors
	n8, n32 int // int8 and int32 ones (the layers of an int8 model)
	fields  bytes.Buffer
	inits   bytes.Buffer // statements of New that allocate per-graph buffers
	// hoisted are the values computed from the weights alone (prepare);
	// stale lists the graphs that have such values, whose flags a change
	// of the weights sets; extra holds their prepare functions.
	hoisted map[*ir.Value]bool
	stale   []string
	extra   bytes.Buffer
}

// markStale is the statement that makes every graph recompute its
// weight-only values.
func (g *gen) markStale() string {
	var b strings.Builder
	for _, p := range g.stale {
		fmt.Fprintf(&b, "m.stale%s = true\n", p)
	}
	return b.String()
}

// collect lists the persistent tensors: parameters and buffers in
// state_dict order, then optimizer state.
func (g *gen) collect() error {
	g.byName = map[string]*param{}
	graphs := []*ir.Graph{g.p.Forward}
	if g.opt.Train {
		graphs = append(graphs, g.p.TrainGraph)
	}
	if g.opt.Explain != nil {
		graphs = append(graphs, g.opt.Explain)
	}
	if g.p.Step != nil {
		graphs = append(graphs, g.p.Step)
	}
	for _, gr := range graphs {
		for _, v := range gr.Values {
			if v.Op != ir.OpParam && v.Op != ir.OpBuffer && v.Op != ir.OpState {
				continue
			}
			if prev := g.byName[v.Name]; prev != nil {
				if !prev.shape.Equal(v.Type.Shape) {
					return fmt.Errorf("codegen: %s has two shapes", v.Name)
				}
				continue
			}
			pr := &param{name: v.Name, shape: v.Type.Shape, i64: v.Type.DType == ir.I64, init: v.Attrs.String("init"), fanIn: v.Attrs.Int("fan_in", 0), std: v.Attrs.Float("std", 0), state: v.Op == ir.OpState}
			switch v.Type.DType {
			case ir.I64:
				pr.index, g.ni = g.ni, g.ni+1
			case ir.I8, ir.I32:
				if g.opt.Train {
					return fmt.Errorf("codegen: the training step of an int8 model (%s is %s)", v.Name, v.Type.DType)
				}
				pr.int8 = v.Type.DType
				if strings.HasSuffix(v.Name, ".qweight") {
					if pr.packed = ir.QLinearWeightShape(gr, v); pr.packed == nil {
						return fmt.Errorf("codegen: no QLinear reads the packed weights %s", v.Name)
					}
				}
				if pr.int8 == ir.I8 {
					pr.index, g.n8 = g.n8, g.n8+1
				} else {
					pr.index, g.n32 = g.n32, g.n32+1
				}
			default:
				pr.index, g.nf = g.nf, g.nf+1
			}
			g.params = append(g.params, pr)
			g.byName[v.Name] = pr
		}
	}
	return nil
}

func (g *gen) file() ([]byte, error) {
	var b bytes.Buffer
	p := g.p
	fwd := p.Forward
	in := fwd.Sources(ir.OpInput)[0]
	out := fwd.Output("out")
	fmt.Fprintf(&b, "// Code generated by nnc from %s. DO NOT EDIT.\n\n", comment(g.opt.Source))
	fmt.Fprintf(&b, "// Package %s is the model %s of %s, compiled by nnc into Go: a forward\n", g.opt.Package, comment(p.Model), comment(g.opt.Source))
	b.WriteString("// pass specialized to the model's shapes")
	if g.opt.Train {
		b.WriteString(" and its training step")
	}
	if g.opt.Explain != nil {
		b.WriteString(", the gradient of its outputs with respect to its input (Explain)")
	}
	b.WriteString(", calling the kernels of\n// github.com/nnc-go/nnc/kernels over buffers allocated once by New.\n")
	fmt.Fprintf(&b, "package %s\n\n", g.opt.Package)
	b.WriteString("import (\n")
	if g.opt.Weights {
		b.WriteString("_ \"embed\"\n")
	}
	b.WriteString("\"fmt\"\n\"math\"\n\"math/rand/v2\"\n\n\"github.com/nnc-go/nnc/kernels\"\n\"github.com/nnc-go/nnc/nncrt\"\n)\n\n")
	if len(g.inputs) == 1 {
		fmt.Fprintf(&b, "// The shapes of one row of the input %s and of the output, and the batch\n", comment(in.Name))
	} else {
		b.WriteString("// The shapes of one row of each input and of the output, and the batch\n")
	}
	b.WriteString("// the buffers are sized for: Forward cuts larger batches into pieces.\nconst (\n")
	for _, x := range g.inputs {
		fmt.Fprintf(&b, "\t%s = %d // %s: %s, row-major\n", x.size, x.v.Type.Shape.Elems(), comment(x.v.Name), x.v.Type)
	}
	fmt.Fprintf(&b, "\tOutputSize = %d // %s\n", out.Type.Shape.Elems(), out.Type)
	fmt.Fprintf(&b, "\tBatch = %d\n", fwd.Plan.Batch)
	fmt.Fprintf(&b, "\t// ArenaBytes is the size of the forward pass's arena, from the memory plan.\n\tArenaBytes = %d\n", fwd.Plan.ArenaBytes)
	if g.opt.Train {
		fmt.Fprintf(&b, "\t// TrainBatch is the largest batch of TrainStep, and TrainArenaBytes its arena.\n\tTrainBatch = %d\n\tTrainArenaBytes = %d\n", p.TrainGraph.Plan.Batch, p.TrainGraph.Plan.ArenaBytes)
	}
	if p.Step != nil {
		fmt.Fprintf(&b, "\t// Context is the number of positions Step feeds (the model's context),\n\t// and StepOutputSize the scores it returns for one.\n\tContext = %d\n\tStepOutputSize = %d\n", in.Type.Shape[1], p.Step.Output("out").Type.Shape.Elems())
	}
	b.WriteString(")\n\n")
	if g.opt.Weights {
		b.WriteString("//go:embed weights.safetensors\nvar weights []byte\n\n")
	}
	g.tables(&b)
	g.standardization(&b)

	fwdBody, err := g.graph(fwd, "f")
	if err != nil {
		return nil, err
	}
	var explainBody string
	if g.opt.Explain != nil {
		if explainBody, err = g.explainGraph(); err != nil {
			return nil, err
		}
	}
	var stepBody string
	if p.Step != nil {
		if stepBody, err = g.graph(p.Step, "s"); err != nil {
			return nil, err
		}
	}
	var trainBody, evalBody string
	if g.opt.Train {
		if trainBody, err = g.graph(p.TrainGraph, "t"); err != nil {
			return nil, err
		}
		if evalBody, err = g.graph(p.EvalGraph, "e"); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(&b, "// Model holds the parameters of %s and the buffers of its computations.\n", comment(p.Model))
	b.WriteString("// A Model is not safe for concurrent use; make one per goroutine.\ntype Model struct {\n")
	fmt.Fprintf(&b, "p [%d][]%s // parameters, buffers and optimizer state, numbered in the order of tensors\n", max(g.nf, 1), g.elem)
	fmt.Fprintf(&b, "pi [%d][]int64 // int64 buffers (num_batches_tracked, optimizer.step)\n", max(g.ni, 1))
	if g.n8+g.n32 > 0 {
		fmt.Fprintf(&b, "pb [%d][]int8 // the weights of the int8 layers\n", max(g.n8, 1))
		fmt.Fprintf(&b, "pw [%d][]int32 // their biases, corrected for their input's zero point\n", max(g.n32, 1))
	}
	fmt.Fprintf(&b, "st *nncrt.Store[%s] // p and pi as checkpoints see them, and rng's state\n", g.elem)
	b.WriteString("rng *rand.Rand // dropout's generator\n")
	b.Write(g.fields.Bytes())
	b.WriteString("}\n\n")

	g.newFunc(&b)
	g.forwardFunc(&b, fwdBody)
	if g.opt.Explain != nil {
		g.explainFunc(&b, explainBody)
	}
	if g.opt.Train {
		g.trainFunc(&b, trainBody)
		g.evalFunc(&b, evalBody)
	}
	if p.Step != nil {
		g.stepFunc(&b, stepBody)
	}
	g.checkpointFuncs(&b)
	b.Write(g.extra.Bytes())
	return pruneImports(b.Bytes()), nil
}

// tables writes the names and shapes of the persistent tensors.
func (g *gen) tables(b *bytes.Buffer) {
	b.WriteString("// tensors lists the persistent tensors: the state_dict's, in order, then\n// the optimizer's state. The k-th float tensor is Model.p[k], the k-th\n// int64 one Model.pi[k].\nvar tensors = []nncrt.Tensor{\n")
	for _, p := range g.params {
		dims := make([]string, len(p.shape))
		for i, d := range p.shape {
			dims[i] = strconv.Itoa(d)
		}
		fmt.Fprintf(b, "{Name: %s, Shape: []int{%s}", strconv.Quote(p.name), strings.Join(dims, ", "))
		switch {
		case p.i64:
			b.WriteString(", I64: true")
		case p.int8 != 0:
			fmt.Fprintf(b, ", %s: true", strings.ToUpper(p.int8.String()))
			if p.packed != nil {
				fmt.Fprintf(b, ", Packed: []int{%d, %d}", p.packed[0], p.packed[1])
			}
		}
		if p.init != "" {
			fmt.Fprintf(b, ", Init: %s", strconv.Quote(p.init))
		}
		if p.fanIn != 0 {
			fmt.Fprintf(b, ", FanIn: %d", p.fanIn)
		}
		if p.std != 0 && p.std != 1 {
			fmt.Fprintf(b, ", Std: %s", strconv.FormatFloat(p.std, 'g', -1, 64))
		}
		if p.state {
			b.WriteString(", State: true")
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n\n")
}

func (g *gen) newFunc(b *bytes.Buffer) {
	b.WriteString("// New returns the model with its parameters ")
	if g.opt.Weights {
		b.WriteString("loaded from the embedded weights.safetensors")
	} else {
		fmt.Fprintf(b, "initialised as PyTorch does by default, from seed %d (the same values `nnc run` starts from)", g.opt.Seed)
	}
	b.WriteString(", and every buffer its calls need.\nfunc New() (*Model, error) {\n")
	if g.n8+g.n32 > 0 {
		fmt.Fprintf(b, "m := &Model{}\nm.st, m.rng = nncrt.NewStoreInt8(tensors, m.p[:], m.pi[:], m.pb[:], m.pw[:], %d)\n", g.opt.Seed)
	} else {
		fmt.Fprintf(b, "m := &Model{}\nm.st, m.rng = nncrt.NewStore(tensors, m.p[:], m.pi[:], %d)\n", g.opt.Seed)
	}
	b.Write(g.inits.Bytes())
	if g.opt.Weights {
		b.WriteString("if err := m.Decode(weights); err != nil {\nreturn nil, fmt.Errorf(\"embedded weights: %v\", err)\n}\n")
	} else {
		fmt.Fprintf(b, "m.st.Init(%d)\n", g.opt.Seed)
	}
	b.WriteString("return m, nil\n}\n\n")
}

func (g *gen) forwardFunc(b *bytes.Buffer, body string) {
	fwd := g.p.Forward
	out := fwd.Output("out")
	var params, checks, got, rows, doc []string
	for _, x := range g.inputs {
		params = append(params, fmt.Sprintf("%s %s", x.param, x.typ))
		checks = append(checks, fmt.Sprintf("len(%s) < n*%s", x.param, x.size))
		got = append(got, fmt.Sprintf("len(%s)", x.param))
		rows = append(rows, fmt.Sprintf("%s[i*%[2]s:(i+k)*%[2]s]", x.param, x.size))
		doc = append(doc, fmt.Sprintf("// %s holds n×%s values (%s);\n", x.param, x.size, x.v.Type))
	}
	if len(g.inputs) == 1 {
		rows[0] = g.forwardInput(rows[0])
	}
	fmt.Fprintf(b, `// Forward computes the model's output for n rows, row-major:
%[1]s// out receives n×OutputSize (%[2]s). Batches larger than Batch are
// computed Batch rows at a time. Forward does not allocate.%[3]s
func (m *Model) Forward(out []%[4]s, %[5]s, n int) (err error) {
	%[6]sif n < 0 || %[7]s || len(out) < n*OutputSize {
		return fmt.Errorf("Forward: %%d rows need %[8]s inputs and room for %%d outputs, got %[9]s and %%d", n, %[10]sn*OutputSize, %[11]s, len(out))
	}
	for i := 0; i < n; i += Batch {
		k := min(Batch, n-i)
		m.forward(out[i*OutputSize:(i+k)*OutputSize], %[12]s, k)
	}
	return nil
}

`, strings.Join(doc, ""), out.Type, g.forwardDoc(), g.elem, strings.Join(params, ", "), g.recoverIDs("Forward"),
		strings.Join(checks, " || "), strings.Repeat("%d ", len(g.inputs)-1)+"%d", strings.Repeat("%d ", len(g.inputs)-1)+"%d", sizesArg(g.inputs), strings.Join(got, ", "), strings.Join(rows, ", "))
	fmt.Fprintf(b, "func (m *Model) forward(out []%s, %s, n int) {\n%s", g.elem, strings.Join(params, ", "), body)
	fmt.Fprintf(b, "copy(out, %s)\n}\n\n", g.slice(fwd, out))
}

// goInput is a forward input as a parameter of the generated methods.
type goInput struct {
	v     *ir.Value
	param string // x for a single input; else the input's name when it is a Go identifier
	size  string // the constant of its row size: InputSize, or XSize, MaskSize...
	typ   string // []float32, []int64...
}

// goInputs names the inputs in. With several inputs, an input whose name
// is a plain ASCII identifier becomes the parameter inName and the
// constant InputNameSize (the prefixes keep it from shadowing a package,
// a builtin or another constant); any other is numbered.
func goInputs(in []*ir.Value, g *gen) []goInput {
	if len(in) == 1 {
		return []goInput{{v: in[0], param: "x", size: "InputSize", typ: "[]" + g.goType(in[0].Type.DType)}}
	}
	var xs []goInput
	for i, v := range in {
		name := fmt.Sprint(i)
		if CheckPackageName(v.Name) == nil {
			name = strings.ToUpper(v.Name[:1]) + v.Name[1:]
		}
		xs = append(xs, goInput{v: v, param: "in" + name, size: "Input" + name + "Size", typ: "[]" + g.goType(v.Type.DType)})
	}
	return xs
}

// sizesArg is the arguments of Forward's error message: the number of
// values each input needs.
func sizesArg(xs []goInput) string {
	var b strings.Builder
	for _, x := range xs {
		fmt.Fprintf(&b, "n*%s, ", x.size)
	}
	return b.String()
}

func (g *gen) trainFunc(b *bytes.Buffer, body string) {
	tg := g.p.TrainGraph
	var target *ir.Value
	for _, v := range tg.Values {
		if v.Op == ir.OpTarget {
			target = v
		}
	}
	ytype := "[]" + g.goType(target.Type.DType)
	ydoc := "the class index of each row"
	switch target.Type.DType {
	case ir.I64:
		ydoc = fmt.Sprintf("n×%d class indices, one per position", target.Type.Shape.Size(1))
	case ir.F32, ir.F64:
		ydoc = fmt.Sprintf("n×%d target values", target.Type.Shape.Size(1))
	}
	classify := tg.Output("correct") != nil
	fmt.Fprintf(b, `// TrainStep runs one training step on a batch of n rows (1 ≤ n ≤
// TrainBatch): the forward pass in training mode, the loss (%s), the
// backward pass and the %s update of every parameter, in place (not when
// the loss is not finite: the parameters then keep their values). x holds
// n×InputSize values; y holds %s. It returns the batch's mean loss and,
// for classification, how many rows the model predicted right before the
// update. TrainStep does not allocate.
func (m *Model) TrainStep(x %s, y %s, n int) (loss float64, correct int, err error) {
%s`, comment(g.p.Train.Loss.String()), comment(g.p.Train.Optimizer.Name), ydoc, g.xtype, ytype, g.recoverIDs("TrainStep"))
	yn := "n"
	if per := target.Type.Shape.Size(1); per != 1 {
		yn = fmt.Sprintf("n*%d", per)
	}
	fmt.Fprintf(b, "if n < 1 || n > TrainBatch || len(x) < n*InputSize || len(y) < %s {\nreturn 0, 0, fmt.Errorf(\"TrainStep: %%d rows (at most %%d) need %%d inputs and %%d targets, got %%d and %%d\", n, TrainBatch, n*InputSize, %s, len(x), len(y))\n}\n", yn, yn)
	b.WriteString(g.checkTargets("TrainStep", target, yn))
	b.WriteString(body)
	lossV := tg.Output("loss")
	fmt.Fprintf(b, "loss = float64(%s[0])\n", g.slice(tg, lossV))
	if classify {
		fmt.Fprintf(b, "correct = int(%s[0])\n", g.slice(tg, tg.Output("correct")))
	}
	// A non-finite loss leaves the parameters as they were.
	b.WriteString("if math.IsNaN(loss) || math.IsInf(loss, 0) {\nreturn loss, correct, fmt.Errorf(\"TrainStep: the loss is %v\", loss)\n}\n")
	// The new parameters and state replace the old ones.
	for _, o := range tg.Outputs {
		pr := g.byName[o.Name]
		if pr == nil {
			continue
		}
		if pr.i64 {
			fmt.Fprintf(b, "copy(m.pi[%d], %s) // %s\n", pr.index, g.slice(tg, o.Value), comment(o.Name))
		} else {
			fmt.Fprintf(b, "copy(m.p[%d], %s) // %s\n", pr.index, g.slice(tg, o.Value), comment(o.Name))
		}
	}
	b.WriteString(g.markStale())
	b.WriteString("return loss, correct, nil\n}\n\n")
}

// evalFunc writes Evaluate: the forward pass in evaluation mode and the
// loss, without updates.
func (g *gen) evalFunc(b *bytes.Buffer, body string) {
	eg := g.p.EvalGraph
	target := eg.Sources(ir.OpTarget)[0]
	ytype := "[]" + g.goType(target.Type.DType)
	yn := "n"
	if per := target.Type.Shape.Size(1); per != 1 {
		yn = fmt.Sprintf("n*%d", per)
	}
	fmt.Fprintf(b, `// Evaluate computes the loss of a batch of n rows (1 ≤ n ≤ EvalBatch) in
// evaluation mode (running statistics, no dropout), as TrainStep takes its
// rows, and how many the model predicts right; it changes nothing.
func (m *Model) Evaluate(x %s, y %s, n int) (loss float64, correct int, err error) {
	%sif n < 1 || n > EvalBatch || len(x) < n*InputSize || len(y) < %s {
		return 0, 0, fmt.Errorf("Evaluate: %%d rows (at most %%d) need %%d inputs and %%d targets, got %%d and %%d", n, EvalBatch, n*InputSize, %s, len(x), len(y))
	}
`, g.xtype, ytype, g.recoverIDs("Evaluate"), yn, yn)
	b.WriteString(g.checkTargets("Evaluate", target, yn))
	b.WriteString(body)
	fmt.Fprintf(b, "loss = float64(%s[0])\n", g.slice(eg, eg.Output("loss")))
	if c := eg.Output("correct"); c != nil {
		fmt.Fprintf(b, "correct = int(%s[0])\n", g.slice(eg, c))
	}
	b.WriteString("return loss, correct, nil\n}\n\n")
	fmt.Fprintf(b, "// EvalBatch is the largest batch of Evaluate.\nconst EvalBatch = %d\n\n", eg.Plan.Batch)
}

// classes is the number of classes of a classification model.
func (g *gen) classes() int {
	s := g.p.Forward.Output("out").Type.Shape
	return s[s.Rank()-1]
}

// checkTargets is the statement of method that refuses class targets
// outside the classes, before any kernel sees them; yn is the number of
// targets of n rows.
func (g *gen) checkTargets(method string, target *ir.Value, yn string) string {
	check := map[ir.DType]string{ir.I32: "CheckTargets", ir.I64: "CheckTargetsInt64"}[target.Type.DType]
	if check == "" {
		return ""
	}
	c, where := g.classes(), "of row"
	if target.Type.DType == ir.I64 {
		where = "at position"
	}
	return fmt.Sprintf("if i := kernels.%s(y[:%s], %d); i >= 0 {\nreturn 0, 0, fmt.Errorf(\"%s: target %%d %s %%d is outside the %d classes\", y[i], i)\n}\n", check, yn, c, method, where, c)
}

// recoverIDs is the statement that turns the panic of an id outside an
// embedding's table, in a model with integer inputs, into method's error.
func (g *gen) recoverIDs(method string) string {
	size := ""
	for _, x := range g.inputs {
		if x.typ == "[]int64" && size == "" {
			size = x.size
		}
	}
	if size == "" {
		return ""
	}
	return fmt.Sprintf("defer func() {\nif r := recover(); r != nil {\ne, ok := r.(*kernels.IDError)\nif !ok {\npanic(r)\n}\nerr = fmt.Errorf(\"%s: token %%d (of row %%d, position %%d) is outside the embedding's %%d ids\", e.ID, e.Pos/%[2]s+1, e.Pos%%%[2]s+1, e.Num)\n}\n}()\n", method, size)
}
