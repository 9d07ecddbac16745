// Package build is the front end of the nnc language: it turns a parsed
// model file (package dsl) into an ir.Program, through the public
// ir.Builder that any other front end would use too.
//
// Build resolves every name (hyper-parameters, layers, variables, models
// used as layers), evaluates the constant expressions of hyper-parameters
// and layer arguments, inlines nested models, validates the train blocks
// and appends the loss, collecting every error with its position.
//
// What the language knows is held in tables, one row per thing, each
// declaring its arguments with their defaults once: layerTable (layers.go:
// parameters and lowering to ops), builtins (builtin.go), lossTable
// (loss.go), and optimizerTable and sourceTable (train.go). Shapes are checked in
// one place, the op's shape rule in package ir: when a rule refuses, the
// *ir.ShapeError it returns says which argument and what kind of fault,
// and the builder decorates it with the user's words (the expression's
// text, the layer's constructor and declaration, the shapes with the
// user's name for the batch dimension) at the expression's position.
package build

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/dsl"
	"github.com/nnc-go/nnc/ir"
)

// Options select and configure the model Build compiles.
type Options struct {
	// Model names the entry model. Empty selects the model of the first
	// train block, or else the last model of the file.
	Model string
	// Set overrides hyper-parameters of the entry model (--set p=v), over
	// the train block's overrides, over the defaults.
	Set map[string]string
}

// UsageError is an error in the command-line options given to Build (an
// unknown --model or --set name), not in the file.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Build resolves names, evaluates hyper-parameters, infers every shape and
// validates the train blocks of f, collecting all errors; it returns them
// as a *diag.ErrorList (sorted, capped), or a *UsageError for bad options.
func Build(f *dsl.File, opt Options) (*ir.Program, error) {
	b := &builder{file: f, errs: &diag.List{}, models: map[string]*dsl.Model{}}
	models := f.Models()
	if len(models) == 0 {
		b.errs.Errorf(diag.Pos{File: f.Name, Line: 1, Col: 1}, "no model declared: a file needs at least one `model Name { ... }`")
		return nil, b.errs.Err()
	}
	for _, m := range models {
		if prev := b.models[m.Name.Name]; prev != nil {
			b.errs.Errorf(m.Name.Pos, "model %s declared twice", m.Name.Name).Also(prev.Name.Pos, "first declared here")
			continue
		}
		if _, clash := layerTable[m.Name.Name]; clash {
			b.errs.Errorf(m.Name.Pos, "model %s has the name of a built-in layer", m.Name.Name)
		}
		b.models[m.Name.Name] = m
	}

	// Every train block is validated, whatever the entry model.
	trains := map[string]*ir.TrainConfig{}
	var trainDecls []*dsl.Train
	for _, t := range f.Trains() {
		if b.models[t.Model.Name] == nil {
			b.errs.Errorf(t.Model.Pos, "train names unknown model %s%s", t.Model.Name, suggest(t.Model.Name, keys(b.models)))
			continue
		}
		cfg := b.trainBlock(t, opt)
		if prev := trains[t.Model.Name]; prev != nil {
			b.errs.Errorf(t.Pos, "second train block for model %s", t.Model.Name).Also(prev.Pos, "first here")
			continue
		}
		trains[t.Model.Name] = cfg
		trainDecls = append(trainDecls, t)
	}

	entry := opt.Model
	switch {
	case entry != "":
		if b.models[entry] == nil {
			return nil, &UsageError{fmt.Sprintf("--model %s: %s declares no such model; it declares %s", entry, f.Name, strings.Join(declOrder(models), ", "))}
		}
	case len(trainDecls) > 0:
		entry = trainDecls[0].Model.Name
	default:
		entry = models[len(models)-1].Name.Name
	}

	// Each model is checked on its own with its defaults, so that an error
	// in a model the entry does not use is still found; the entry and the
	// models with train blocks are built with their overrides.
	p := &ir.Program{File: f.Name, Model: entry}
	for _, m := range models {
		if b.models[m.Name.Name] != m {
			continue
		}
		name := m.Name.Name
		var trainArgs []*dsl.Arg
		for _, t := range trainDecls {
			if t.Model.Name == name {
				trainArgs = t.Args
			}
		}
		set := map[string]string(nil)
		if name == entry {
			set = opt.Set
		}
		over, err := b.overrides(m, trainArgs, set)
		if err != nil {
			return nil, err
		}
		warn := name == entry
		inst, fwd := b.buildGraph(m, over, false, warn)
		if name == entry {
			p.Forward = fwd
			if inst != nil {
				for _, hp := range m.Params {
					if c, ok := inst.env.names[hp.Name.Name]; ok {
						p.HParams = append(p.HParams, ir.HParam{Name: hp.Name.Name, Value: c.value()})
					}
				}
			}
		}
		if cfg := trains[name]; cfg != nil && fwd != nil {
			tinst, tg := b.buildGraph(m, over, true, false)
			if tg != nil {
				b.addLoss(tinst.bld, cfg)
				tg.Attrs = trainAttrs(cfg)
				if cfg.Privacy != nil {
					b.refuseUnderDP(tg)
				}
			}
			einst, eg := b.buildGraph(m, over, false, false)
			if eg != nil {
				eg.Name = m.Name.Name + ".eval"
				b.addLoss(einst.bld, cfg)
				eg.Attrs = ir.Attrs{{Key: "batch", Val: cfg.Batch}}
			}
			if name == entry {
				p.Train, p.TrainGraph, p.EvalGraph = cfg, tg, eg
			}
		}
		if warn && inst != nil {
			b.warnUnused(inst, p)
		}
	}
	if err := b.errs.Err(); err != nil {
		return nil, err
	}
	p.Warnings = b.errs.Warnings()
	return p, nil
}

func declOrder(ms []*dsl.Model) []string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name.Name
	}
	return names
}

// override is a hyper-parameter value given from outside the model.
type override struct {
	val Const
	pos diag.Pos // invalid for --set
}

// overrides merges a train block's `train M(p = v)` and --set into one map.
func (b *builder) overrides(m *dsl.Model, args []*dsl.Arg, set map[string]string) (map[string]override, error) {
	over := map[string]override{}
	names := map[string]bool{}
	for _, p := range m.Params {
		names[p.Name.Name] = true
	}
	env := &constEnv{names: map[string]Const{}, errs: b.errs}
	for _, a := range args {
		if a.Key == nil {
			b.errs.Errorf(a.Value.Start(), "train %s: hyper-parameters are set by name, as p = value", m.Name.Name)
			continue
		}
		if !names[a.Key.Name] {
			b.errs.Errorf(a.Key.Pos, "model %s has no hyper-parameter %s%s", m.Name.Name, a.Key.Name, suggest(a.Key.Name, keys(names)))
			continue
		}
		if c, ok := env.eval(a.Value, false); ok {
			over[a.Key.Name] = override{c, a.Value.Start()}
		}
	}
	for _, k := range keys(set) {
		if !names[k] {
			return nil, &UsageError{fmt.Sprintf("--set %s: model %s has no hyper-parameter %s%s", k, m.Name.Name, k, suggest(k, keys(names)))}
		}
		c, err := parseConst(set[k])
		if err != nil {
			return nil, &UsageError{fmt.Sprintf("--set %s=%s: %v", k, set[k], err)}
		}
		over[k] = override{val: c}
	}
	return over, nil
}

// parseConst parses a command-line value: an integer, a number, true or
// false, or else a string.
func parseConst(s string) (Const, error) {
	s = strings.TrimSpace(s)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return intConst(i), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return floatConst(f), nil
	}
	switch s {
	case "true", "false":
		return Const{kind: kBool, B: s == "true"}, nil
	}
	return Const{}, fmt.Errorf("%q is not a number", s)
}

// builder holds the state of one Build.
type builder struct {
	file   *dsl.File
	errs   *diag.List
	models map[string]*dsl.Model
	// updates are the new values of buffers a training graph computes
	// (BatchNorm's running statistics), by buffer name, in order; reset
	// for each graph.
	updates     map[string]*ir.Value
	updateOrder []string
}

// current returns the latest value of buffer v in the graph being built:
// its update when one was computed already (a layer used twice), else v.
func (b *builder) current(v *ir.Value) *ir.Value {
	if u := b.updates[v.Name]; u != nil {
		return u
	}
	return v
}

// update records the new value of buffer name.
func (b *builder) update(name string, v *ir.Value) {
	if b.updates[name] == nil {
		b.updateOrder = append(b.updateOrder, name)
	}
	b.updates[name] = v
}

// instance is a model instantiated with hyper-parameter values: the entry
// model, or a model used as a layer, whose parameters get prefix.
type instance struct {
	b        *builder
	bld      *ir.Builder // of the graph being built, shared by nested models
	decl     *dsl.Model
	prefix   string // "" or "res." for a nested model
	env      *constEnv
	layers   map[string]*layer
	order    []*layer
	training bool
	stack    []string // models being instantiated, to catch recursion
	dtype    ir.DType
}

// layer is a declared layer of an instance.
type layer struct {
	name   string // full name: res.fc
	decl   *dsl.Assign
	lk     *layerKind
	args   boundArgs
	params map[string]*ir.Value
	sub    *instance // for a model used as a layer
	desc   string    // Linear(20, 2)
	calls  int
	bad    bool // its declaration had an error: calls fail silently
}

// buildGraph instantiates model m as an entry point and builds its forward
// graph in evaluation or training mode. It returns nil when errors were
// found (they are in b.errs).
func (b *builder) buildGraph(m *dsl.Model, over map[string]override, training, warn bool) (*instance, *ir.Graph) {
	before := len(b.errs.Diags)
	mode := "forward"
	if training {
		mode = "train_step"
	}
	bld := ir.NewBuilder(m.Name.Name+"."+mode, b.file.Name)
	b.updates, b.updateOrder = map[string]*ir.Value{}, nil
	inst := b.instantiate(bld, m, over, "", nil, training)
	if inst == nil {
		return nil, nil
	}
	fwd := inst.forwardDecl()
	if fwd == nil {
		return inst, nil
	}
	scope := &scope{vars: map[string]*binding{}}
	var inputs []operand
	for _, in := range fwd.Inputs {
		t, batchName, ok := inst.inputType(in)
		if !ok {
			continue
		}
		if scope.batchName == "" {
			scope.batchName = batchName
		}
		// The float inputs give the model its element type; integer
		// inputs (token ids) are indices.
		switch {
		case !t.DType.IsFloat():
		case inst.dtype == ir.InvalidDType:
			inst.dtype = t.DType
		case t.DType != inst.dtype:
			b.errs.Errorf(in.DType.Pos, "input %s is %s, an earlier input is %s: float inputs share one element type", in.Name.Name, t.DType, inst.dtype)
		}
		v, err := bld.Input(in.Name.Name, t, in.Name.Pos)
		if err != nil {
			b.errs.Errorf(in.Name.Pos, "input %s: %v", in.Name.Name, err)
			continue
		}
		inputs = append(inputs, operand{v: v, text: in.Name.Name})
	}
	if len(inputs) != len(fwd.Inputs) {
		return inst, nil
	}
	if inst.dtype == ir.InvalidDType {
		inst.dtype = ir.F32 // no float input: token ids, or errors elsewhere
	}
	if !inst.createParams() {
		return inst, nil
	}
	out := inst.callForward(inputs, scope, warn)
	if out == nil || errorsSince(b.errs, before) {
		return inst, nil
	}
	bld.Output("out", out)
	return inst, bld.Graph()
}

func errorsSince(l *diag.List, n int) bool {
	for _, d := range l.Diags[n:] {
		if d.Severity == diag.Error {
			return true
		}
	}
	return false
}

// instantiate evaluates m's hyper-parameters and declares its layers.
func (b *builder) instantiate(bld *ir.Builder, m *dsl.Model, over map[string]override, prefix string, stack []string, training bool) *instance {
	for _, s := range stack {
		if s == m.Name.Name {
			b.errs.Errorf(m.Name.Pos, "model %s uses itself: %s", m.Name.Name, strings.Join(append(stack, m.Name.Name), " → "))
			return nil
		}
	}
	inst := &instance{b: b, bld: bld, decl: m, prefix: prefix, layers: map[string]*layer{},
		env: &constEnv{names: map[string]Const{}, errs: b.errs}, training: training,
		stack: append(append([]string(nil), stack...), m.Name.Name)}
	declared := map[string]diag.Pos{}
	for _, p := range m.Params {
		name := p.Name.Name
		if prev, dup := declared[name]; dup {
			b.errs.Errorf(p.Name.Pos, "hyper-parameter %s declared twice", name).Also(prev, "first declared here")
			continue
		}
		declared[name] = p.Name.Pos
		c, ok := inst.env.eval(p.Value, false)
		if o, set := over[name]; set {
			c, ok = o.val, true
		}
		if !ok {
			continue
		}
		if c.kind != kInt && c.kind != kFloat && c.kind != kBool {
			b.errs.Errorf(p.Value.Start(), "hyper-parameter %s must be a number or a boolean, got %s", name, c)
			continue
		}
		inst.env.names[name] = c
	}
	seenForward := false
	for _, it := range m.Items {
		switch it := it.(type) {
		case *dsl.Forward:
			if seenForward {
				b.errs.Errorf(it.Pos, "model %s has a second forward", m.Name.Name)
			}
			seenForward = true
		case *dsl.Assign:
			if seenForward {
				b.errs.Errorf(it.Name.Pos, "layer %s declared after forward: layers come first", it.Name.Name)
				continue
			}
			inst.declareLayer(it)
		}
	}
	if !seenForward {
		b.errs.Errorf(m.Close, "model %s has no forward", m.Name.Name)
	}
	return inst
}

func (in *instance) forwardDecl() *dsl.Forward {
	for _, it := range in.decl.Items {
		if f, ok := it.(*dsl.Forward); ok {
			return f
		}
	}
	return nil
}

// declareLayer evaluates a layer declaration `name = Layer(args)`.
func (in *instance) declareLayer(a *dsl.Assign) {
	b := in.b
	name := a.Name.Name
	if prev := in.layers[name]; prev != nil {
		b.errs.Errorf(a.Name.Pos, "layer %s declared twice", name).Also(prev.decl.Name.Pos, "first declared here")
		return
	}
	if _, clash := in.env.names[name]; clash {
		b.errs.Errorf(a.Name.Pos, "layer %s has the name of a hyper-parameter", name)
		return
	}
	call, ok := a.Value.(*dsl.Call)
	if !ok {
		b.errs.Errorf(a.Value.Start(), "%s = %s: a layer is declared with a constructor, such as Linear(in, out)", name, dsl.ExprString(a.Value))
		in.layers[name] = &layer{name: in.prefix + name, decl: a, bad: true}
		return
	}
	l := &layer{name: in.prefix + name, decl: a, params: map[string]*ir.Value{}, bad: true}
	in.layers[name] = l
	kindName := call.Fun.Name
	if kindName == "Parameter" { // a bare tensor (issue 13): parameter.go
		lk, args, desc, ok := in.parameterLayer(call)
		if !ok {
			return
		}
		l.lk, l.args, l.desc = lk, args, desc
	} else if lk := layerTable[kindName]; lk != nil {
		args, ok := in.env.bindArgs(kindName, call.Fun.Pos, call.Args, lk.args)
		if !ok {
			return
		}
		if lk.defaults != nil {
			lk.defaults(args)
		}
		l.lk, l.args, l.desc = lk, args, lk.describe(args)
	} else if sub := b.models[kindName]; sub != nil {
		over := map[string]override{}
		specs := make([]argSpec, len(sub.Params))
		for i, p := range sub.Params {
			specs[i] = argSpec{name: p.Name.Name, kind: argFloat}
		}
		args, ok := in.env.bindArgs(kindName, call.Fun.Pos, call.Args, rawSpecs(specs))
		if !ok {
			return
		}
		for k, v := range args.vals {
			over[k] = override{v, args.pos[k]}
		}
		l.sub = b.instantiate(in.bld, sub, over, l.name+".", in.stack, in.training)
		if l.sub == nil {
			return
		}
		l.desc = dsl.ExprString(call)
	} else {
		if builtinTable[kindName] != nil {
			b.errs.Errorf(call.Fun.Pos, "%s is a function, not a layer: call it in forward, as %s(x)", kindName, kindName)
			return
		}
		cands := append(keys(layerTable), keys(b.models)...)
		b.errs.Errorf(call.Fun.Pos, "unknown layer %s%s", kindName, suggest(kindName, cands))
		return
	}
	l.bad = false
	in.order = append(in.order, l)
}

// rawSpecs turns specs that accept any constant: a nested model's
// hyper-parameters take whatever kind its defaults have.
func rawSpecs(specs []argSpec) []argSpec {
	for i := range specs {
		specs[i].kind = 0
	}
	return specs
}

// createParams adds the Param and Buffer values of every layer, in
// declaration order (the state_dict order), recursively. It reports
// whether they all could be.
func (in *instance) createParams() bool {
	for _, l := range in.order {
		if l.sub != nil {
			l.sub.dtype = in.dtype
			if !l.sub.createParams() {
				return false
			}
			continue
		}
		for _, ps := range l.lk.params(l.args) {
			dt := ps.dtype
			if dt == ir.InvalidDType {
				dt = in.dtype
			}
			add := in.bld.Param
			if ps.buffer {
				add = in.bld.Buffer
			}
			attrs := ir.Attrs{{Key: "init", Val: ps.init}}
			if ps.fanIn > 0 {
				attrs = append(attrs, ir.Attr{Key: "fan_in", Val: ps.fanIn})
			}
			if ps.std > 0 {
				attrs = append(attrs, ir.Attr{Key: "std", Val: ps.std})
			}
			name := l.name + "." + ps.name
			if ps.name == "" { // a Parameter: the layer's own name
				name = l.name
			}
			v, err := add(name, ir.Type{DType: dt, Shape: ps.shape}, attrs, l.decl.Name.Pos)
			if err != nil {
				in.b.errs.Errorf(l.decl.Name.Pos, "layer %s: %v", l.name, err)
				return false
			}
			l.params[ps.name] = v
		}
	}
	return true
}

// inputType evaluates a forward input's declared type.
func (in *instance) inputType(x *dsl.Input) (ir.Type, string, bool) {
	b := in.b
	dt, ok := ir.ParseDType(x.DType.Name)
	if !ok || (!dt.IsFloat() && dt != ir.I64) {
		b.errs.Errorf(x.DType.Pos, "unknown element type %s for input %s; inputs are f32, f64 or i64 (token ids)", x.DType.Name, x.Name.Name)
		return ir.Type{}, "", false
	}
	t := ir.Type{DType: dt, Shape: ir.Shape{}}
	batch := ""
	for i, d := range x.Dims {
		if id, isIdent := d.(*dsl.Ident); isIdent {
			if _, known := in.env.names[id.Name]; !known {
				if batch != "" {
					b.errs.Errorf(id.Pos, "input %s has two symbolic dimensions, %s and %s: only the batch dimension may be symbolic", x.Name.Name, batch, id.Name)
					return ir.Type{}, "", false
				}
				if i != 0 {
					b.errs.Errorf(id.Pos, "input %s: the batch dimension %s must come first", x.Name.Name, id.Name)
					return ir.Type{}, "", false
				}
				batch = id.Name
				t.Shape = append(t.Shape, ir.Batch)
				continue
			}
		}
		c, ok := in.env.eval(d, false)
		if !ok {
			return ir.Type{}, "", false
		}
		if msg := checkKind(argSpec{kind: argSize}, c); msg != "" {
			b.errs.Errorf(d.Start(), "input %s: dimension %s %s", x.Name.Name, dsl.ExprString(d), msg)
			return ir.Type{}, "", false
		}
		t.Shape = append(t.Shape, int(c.I))
	}
	if len(x.Dims) == 0 {
		b.errs.Errorf(x.Name.Pos, "input %s has no dimensions", x.Name.Name)
		return ir.Type{}, "", false
	}
	return t, batch, true
}

// warnUnused warns about layers whose parameters cannot reach the loss (or
// the output, without a train block): they would never be trained.
func (b *builder) warnUnused(inst *instance, p *ir.Program) {
	g := p.TrainGraph
	if g == nil {
		g = p.Forward
	}
	if g == nil {
		return
	}
	live := g.Live()
	var walk func(in *instance)
	walk = func(in *instance) {
		for _, l := range in.order {
			if l.sub != nil {
				if l.calls == 0 {
					b.errs.Warnf(l.decl.Name.Pos, "layer %s is never used", l.name)
					continue
				}
				walk(l.sub)
				continue
			}
			if l.calls == 0 {
				b.errs.Warnf(l.decl.Name.Pos, "layer %s is never used", l.name)
				continue
			}
			var dead []string
			for _, v := range l.params {
				if v.Op == ir.OpParam && !live[v.ID] {
					dead = append(dead, v.Name)
				}
			}
			if len(dead) > 0 {
				sort.Strings(dead)
				b.errs.Warnf(l.decl.Name.Pos, "the parameters of layer %s (%s) do not reach the %s: they will not be trained", l.name, strings.Join(dead, ", "), map[bool]string{true: "loss", false: "output"}[p.TrainGraph != nil])
			}
		}
	}
	walk(inst)
}

// trainAttrs are the attributes of a training step: what the optim and
// memplan passes need of the train block.
func trainAttrs(cfg *ir.TrainConfig) ir.Attrs {
	o := cfg.Optimizer
	attrs := append(ir.Attrs{{Key: "batch", Val: cfg.Batch}, {Key: "optimizer", Val: o.Name}}, o.Attrs...)
	if cfg.ClipGradNorm > 0 {
		attrs = append(attrs, ir.Attr{Key: "clip_grad_norm", Val: cfg.ClipGradNorm})
	}
	if dp := cfg.Privacy; dp != nil {
		// Poisson sampling draws batches around the expected one: the step
		// is planned for the largest it will see.
		attrs = attrs.Set("batch", ir.DPMaxBatch(cfg.Batch))
		attrs = append(attrs, ir.Attr{Key: "dp_clip", Val: dp.Clip}, ir.Attr{Key: "dp_noise", Val: dp.Noise}, ir.Attr{Key: "dp_batch", Val: cfg.Batch})
	}
	return attrs
}
