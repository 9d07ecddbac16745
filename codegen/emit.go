package codegen

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/passes"
)

// graph returns the statements computing gr's values for a batch of n rows,
// in order. prefix ("f", "t") keeps the fields of two graphs apart.
func (g *gen) graph(gr *ir.Graph, prefix string) (string, error) {
	e := &emitter{g: g, gr: gr, pre: prefix}
	fmt.Fprintf(&g.fields, "arena%s []byte // the memory plan of %s: %d bytes\n", prefix, comment(gr.Name), gr.Plan.ArenaBytes)
	fmt.Fprintf(&g.inits, "m.arena%s = kernels.NewArena(%d)\n", prefix, gr.Plan.ArenaBytes)
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
			if err := e.value(v); err != nil {
				return "", fmt.Errorf("%s: %v", v.Op, err)
			}
			e.prep.Write(e.body.Bytes())
			e.body = body
			continue
		}
		if err := e.value(v); err != nil {
			return "", fmt.Errorf("%s: %v", v.Op, err)
		}
	}
	if e.prep.Len() == 0 {
		return e.body.String(), nil
	}
	g.stale = append(g.stale, prefix)
	e.field("stale"+prefix, "bool", "true")
	fmt.Fprintf(&g.extra, "// prepare%s computes the values of %s that depend on the weights\n// alone (batch norm folded into a layer), after the weights change.\nfunc (m *Model) prepare%s() {\n%s}\n\n", prefix, comment(gr.Name), prefix, e.prep.String())
	return fmt.Sprintf("if m.stale%s {\nm.prepare%s()\nm.stale%s = false\n}\n", prefix, prefix, prefix) + e.body.String(), nil
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
	g    *gen
	gr   *ir.Graph
	pre  string
	cur  int // the ID of the value being emitted
	body bytes.Buffer
	prep bytes.Buffer // the statements of prepare
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

// goType is the Go element type of a tensor of dtype dt.
func (g *gen) goType(dt ir.DType) string {
	switch dt {
	case ir.I32:
		return "int32"
	case ir.I64:
		return "int64"
	case ir.F64:
		return "float64"
	case ir.I8:
		return "int8"
	case ir.U8:
		return "uint8"
	case ir.Bool:
		return "bool"
	}
	return g.elem
}

// prefixOf is the prefix of gr's fields.
func (g *gen) prefixOf(gr *ir.Graph) string {
	if gr == g.opt.Explain {
		return "x"
	}
	return map[*ir.Graph]string{g.p.Forward: "f", g.p.TrainGraph: "t", g.p.EvalGraph: "e", g.p.Step: "s"}[gr]
}

// sized cuts the buffer expression b to the elements of shape s for the
// current batch; a shape without the batch dimension is the whole buffer.
func sized(b string, s ir.Shape) string {
	if !s.HasBatch() {
		return b
	}
	return b + "[:" + s.Volume().String() + "]"
}

// slice is the Go expression of value v's buffer for the current batch.
func (g *gen) slice(gr *ir.Graph, v *ir.Value) string {
	pre := g.prefixOf(gr)
	if g.hoisted[v] {
		return fmt.Sprintf("m.%sh%d", pre, v.ID)
	}
	switch v.Op {
	case ir.OpInput:
		if gr == g.opt.Explain && v.Name == passes.SeedInput {
			return "m.xseed[:" + v.Type.Shape.Volume().String() + "]"
		}
		for _, x := range g.inputs {
			if x.v == v {
				return x.param + "[:" + v.Type.Shape.Volume().String() + "]"
			}
		}
		return "x[:" + v.Type.Shape.Volume().String() + "]"
	case ir.OpTarget:
		return "y[:" + v.Type.Shape.Volume().String() + "]"
	case ir.OpParam, ir.OpBuffer, ir.OpState:
		pr := g.byName[v.Name]
		return fmt.Sprintf("m.%s[%d]", pr.array(), pr.index)
	case ir.OpConst:
		return fmt.Sprintf("m.%sc%d[:]", pre, v.ID)
	}
	return sized("m."+valueField(pre, v), v.Type.Shape)
}

func (e *emitter) s(v *ir.Value) string { return e.g.slice(e.gr, v) }

// valueField names the field of a computed value after the user's name
// for it, when it has one: f_h12 is the value h (ID 12) of the forward
// graph, t_v40 an unnamed value of the training step. Only ASCII letters
// and digits of the name are kept, so no model file can inject code, and
// the ID keeps the fields apart.
func valueField(pre string, v *ir.Value) string {
	var b strings.Builder
	for _, r := range v.Name {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		}
	}
	name := b.String()
	if name == "" {
		name = "v"
	}
	return fmt.Sprintf("%s_%s%d", pre, name, v.ID)
}

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

// float is f as a Go expression: ±Inf (Clip's default bounds) has no
// literal, so it is math.Inf of its sign.
func float(f float64) string {
	if math.IsInf(f, 0) {
		return fmt.Sprintf("math.Inf(%d)", int(math.Copysign(1, f)))
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// view declares a field viewing the arena at off as a tensor of type t,
// sized for the plan's batch, and returns its name.
func (e *emitter) view(name string, t ir.Type, off int, doc string) string {
	n := t.Shape.Size(e.gr.Plan.Batch)
	typ := e.g.goType(t.DType)
	fmt.Fprintf(&e.g.fields, "%s []%s // %s\n", name, typ, doc)
	fmt.Fprintf(&e.g.inits, "m.%s = kernels.View[%s](m.arena%s, %d, %d)\n", name, typ, e.pre, off, n)
	return "m." + name
}

// value emits the statements computing v: the kernel calls of its
// lowering, printed.
func (e *emitter) value(v *ir.Value) error {
	e.cur = v.ID
	g := e.g
	if v.Op == ir.OpConst {
		if v.Type.DType == ir.I64 { // an integer constant of the ONNX ops (issue 13)
			e.field(fmt.Sprintf("%sc%d", e.pre, v.ID), "[1]int64", fmt.Sprintf("[1]int64{%d}", int64(v.AttrFloat("value"))))
			return nil
		}
		c := float(v.AttrFloat("value"))
		if math.IsInf(v.AttrFloat("value"), 0) {
			c = g.elem + "(" + c + ")" // math.Inf is a float64
		}
		e.field(fmt.Sprintf("%sc%d", e.pre, v.ID), fmt.Sprintf("[1]%s", g.elem), fmt.Sprintf("[1]%s{%s}", g.elem, c))
		return nil
	}
	calls, scratch, err := ir.Lowering(e.gr, v)
	if err != nil || len(calls) == 0 {
		return err
	}
	doc := v.Op.String()
	if v.Name != "" {
		doc = comment(v.Name) + ": " + doc
	}
	if v.Pos.IsValid() {
		doc += fmt.Sprintf(", line %d:%d", v.Pos.Line, v.Pos.Col)
	}
	if !g.hoisted[v] {
		off, ok := e.gr.Plan.Offset[v.ID]
		if !ok {
			return fmt.Errorf("v%d has no place in the memory plan", v.ID)
		}
		e.view(valueField(e.pre, v), v.Type, off, doc)
	}
	offs := e.gr.Plan.Scratch[v.ID]
	for i, s := range scratch {
		if i >= len(offs) {
			return fmt.Errorf("scratch %d of v%d has no place in the memory plan", i, v.ID)
		}
		e.view(fmt.Sprintf("%ss%d_%d", e.pre, v.ID, i), s.Type, offs[i], fmt.Sprintf("scratch %d of %s", i, doc))
	}
	e.line("// %s", doc)
	for _, c := range calls {
		args := make([]string, len(c.Args))
		for i, o := range c.Args {
			args[i] = e.operand(o, i)
		}
		e.line("kernels.%s(%s)", c.Kernel, strings.Join(args, ", "))
	}
	return nil
}

// operand is the Go expression of a lowered operand; i numbers the shape
// fields of one value.
func (e *emitter) operand(o ir.Operand, i int) string {
	switch o.Kind {
	case ir.OpdBuf:
		return e.s(o.Value)
	case ir.OpdScratch:
		t := ir.ScratchOf(e.gr, o.Value)[o.Index].Type
		return sized(fmt.Sprintf("m.%ss%d_%d", e.pre, o.Value.ID, o.Index), t.Shape)
	case ir.OpdNil:
		return "nil"
	case ir.OpdInt:
		return o.Dim.String()
	case ir.OpdFloat:
		return float(o.Float)
	case ir.OpdBool:
		return strconv.FormatBool(o.Bool)
	case ir.OpdShape:
		return e.shape(o.Value, strconv.Itoa(i))
	case ir.OpdConvShape, ir.OpdPoolShape:
		names, typ := ir.ConvShapeFields, "ConvShape"
		if o.Kind == ir.OpdPoolShape {
			names, typ = ir.PoolShapeFields, "PoolShape"
		}
		fields := make([]string, len(o.Dims))
		for k, d := range o.Dims {
			fields[k] = names[k] + ": " + d.String()
		}
		return "kernels." + typ + "{" + strings.Join(fields, ", ") + "}"
	case ir.OpdRNG:
		return "m.rng"
	case ir.OpdInts:
		ints := make([]string, len(o.Dims))
		for k, d := range o.Dims {
			ints[k] = d.String()
		}
		name := fmt.Sprintf("%ss%di%d", e.pre, e.cur, i)
		e.field(name, fmt.Sprintf("[%d]int", len(ints)), fmt.Sprintf("[%d]int{%s}", len(ints), strings.Join(ints, ", ")))
		return "m." + name + "[:]"
	}
	return fmt.Sprintf("/* operand kind %d */", o.Kind)
}
