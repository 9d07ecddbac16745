package build

import (
	"fmt"
	"math"
	"strings"

	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/dsl"
	"github.com/nnc-go/nnc/ir"
)

func nonNegative(c Const) string {
	if c.F < 0 {
		return fmt.Sprintf("must not be negative, got %s", c)
	}
	return ""
}

var trainKeys = []string{"data", "test", "loss", "optimizer", "epochs", "batch", "shuffle", "seed", "clip_grad_norm", "privacy"}

var trainSpecs = map[string]argSpec{
	"data":      {name: "data", kind: argName},
	"test":      {name: "test", kind: argName},
	"loss":      {name: "loss", kind: argName},
	"optimizer": {name: "optimizer", kind: argName},
	"epochs":    {name: "epochs", kind: argSize},
	"batch":     {name: "batch", kind: argSize},
	"shuffle":   {name: "shuffle", kind: argBool},
	"seed":      {name: "seed", kind: argCount},
	// Gradient clipping: the total gradient norm, as clip_grad_norm_.
	"clip_grad_norm": {name: "clip_grad_norm", kind: argFloat},
	// Differentially private SGD: privacy = dp(clip = C, noise = σ, delta = δ).
	"privacy": {name: "privacy", kind: argName},
}

// dpArgs are the arguments of privacy = dp(...): the per-example clipping
// norm C, the noise multiplier σ (noise N(0, σ²C²) on the clipped sum) and
// the δ of the (ε, δ) guarantee the epoch lines report.
var dpArgs = []argSpec{
	{name: "clip", kind: argFloat, required: true, check: func(c Const) string {
		if !(c.F > 0) || math.IsInf(c.F, 0) {
			return fmt.Sprintf("must be a positive number, got %s", c)
		}
		return ""
	}},
	{name: "noise", kind: argFloat, def: floatConst(1), check: func(c Const) string {
		if c.F < 0 || math.IsInf(c.F, 0) || math.IsNaN(c.F) {
			return fmt.Sprintf("must be a non-negative number, got %s", c)
		}
		return ""
	}},
	{name: "delta", kind: argFloat, def: floatConst(1e-5), check: func(c Const) string {
		if !(c.F > 0 && c.F < 1) {
			return fmt.Sprintf("must be in (0, 1), got %s", c)
		}
		return ""
	}},
}

// privacy validates privacy = dp(...).
func (b *builder) privacy(env *constEnv, x dsl.Expr, c Const) *ir.Privacy {
	if c.S != "dp" || c.kind != kCall {
		b.errs.Errorf(x.Start(), "privacy = %s: nnc knows dp(clip = C, noise = σ, delta = δ)", dsl.ExprString(x))
		return nil
	}
	a, ok := env.bindArgs("dp", x.Start(), c.Call.Args, dpArgs)
	if !ok {
		return nil
	}
	return &ir.Privacy{Pos: x.Start(), Clip: a.float("clip"), Noise: a.float("noise"), Delta: a.float("delta")}
}

// optimizerKind is a row of the optimizer table: its hyper-parameters with
// their defaults, in the order the training graph's attributes list them.
type optimizerKind struct {
	name string
	args []argSpec
	// check validates the arguments together; it returns a problem or "".
	check func(a boundArgs) string
}

var optimizerTable = []*optimizerKind{
	{
		name: "SGD",
		args: []argSpec{
			{name: "lr", kind: argFloat, required: true, check: nonNegative},
			{name: "momentum", kind: argFloat, def: floatConst(0), check: nonNegative},
			{name: "dampening", kind: argFloat, def: floatConst(0)},
			{name: "weight_decay", kind: argFloat, def: floatConst(0), check: nonNegative},
			{name: "nesterov", kind: argBool, def: boolFalse},
		},
		check: func(a boundArgs) string {
			if a.bool("nesterov") && (a.float("momentum") <= 0 || a.float("dampening") != 0) {
				return "nesterov needs a positive momentum and zero dampening"
			}
			return ""
		},
	},
	{name: "Adam", args: adamArgs(0)},
	{name: "AdamW", args: adamArgs(0.01)},
}

func adamArgs(wd float64) []argSpec {
	return []argSpec{
		{name: "lr", kind: argFloat, def: floatConst(0.001), check: nonNegative},
		{name: "beta1", kind: argFloat, def: floatConst(0.9), check: probability},
		{name: "beta2", kind: argFloat, def: floatConst(0.999), check: probability},
		{name: "eps", kind: argFloat, def: floatConst(1e-8), check: nonNegative},
		{name: "weight_decay", kind: argFloat, def: floatConst(wd), check: nonNegative},
	}
}

// sourceKind is a row of the data source table: its arguments with their
// defaults, and how they fill in the validated source.
type sourceKind struct {
	name string
	args []argSpec
	set  func(b *builder, key string, src *ir.DataSource, a boundArgs) // key: data or test
}

var sourceTable = []*sourceKind{
	{
		name: "random",
		args: []argSpec{
			{name: "samples", kind: argSize, required: true},
			{name: "classes", kind: argSize},
			{name: "seed", kind: argCount, def: intConst(0)},
		},
		set: func(_ *builder, _ string, src *ir.DataSource, a boundArgs) {
			src.Samples, src.Classes, src.Seed = a.int("samples"), a.int("classes"), uint64(a.int("seed"))
		},
	},
	{
		name: "csv",
		args: []argSpec{
			{name: "path", aliases: []string{"file"}, kind: argString, required: true},
			{name: "target", kind: argName},
			{name: "header", kind: argBool, def: boolTrue},
			{name: "normalize", kind: argBool, def: boolFalse},
		},
		set: func(b *builder, key string, src *ir.DataSource, a boundArgs) {
			src.Path, src.Header, src.TargetIndex = a.str("path"), a.bool("header"), -1
			if src.Normalize = a.bool("normalize"); src.Normalize && key == "test" {
				b.errs.Errorf(a.pos["normalize"], "csv: normalize belongs to data: the test set is standardised with the training data's statistics")
			}
			t, ok := a.vals["target"]
			if !ok {
				return
			}
			switch t.kind {
			case kString:
				src.Target = t.S
			case kInt:
				if t.I < 0 {
					b.errs.Errorf(a.pos["target"], "csv: target column index must not be negative, got %d", t.I)
				}
				src.TargetIndex = int(t.I)
			default:
				b.errs.Errorf(a.pos["target"], "csv: target must be a column name (a string) or a column index, got %s", t)
			}
		},
	},
	{
		name: "text",
		args: []argSpec{
			{name: "path", aliases: []string{"file"}, kind: argString, required: true},
		},
		set: func(_ *builder, _ string, src *ir.DataSource, a boundArgs) { src.Path = a.str("path") },
	},
	{
		name: "mnist",
		args: []argSpec{
			{name: "split", kind: argString, def: Const{kind: kString, S: "train"}, check: func(c Const) string {
				if c.S != "train" && c.S != "test" {
					return fmt.Sprintf(`must be "train" or "test", got %s`, c)
				}
				return ""
			}},
		},
		set: func(_ *builder, _ string, src *ir.DataSource, a boundArgs) { src.Split = a.str("split") },
	},
	{
		name: "idx",
		args: []argSpec{
			{name: "images", kind: argString, required: true},
			{name: "labels", kind: argString, required: true},
		},
		set: func(_ *builder, _ string, src *ir.DataSource, a boundArgs) {
			src.Images, src.Labels = a.str("images"), a.str("labels")
		},
	},
}

// trainBlock validates t's keys and values, which may use the model's
// hyper-parameters (optimizer = Adam(lr = lr)); the loss against the
// model's output is checked when the training graph is built.
func (b *builder) trainBlock(t *dsl.Train, opt Options) *ir.TrainConfig {
	env := b.trainEnv(t, opt)
	cfg := &ir.TrainConfig{Pos: t.Pos, Model: t.Model.Name, Batch: 32, Shuffle: true}
	seen := map[string]*dsl.Assign{}
	for _, a := range t.Body {
		key := a.Name.Name
		spec, ok := trainSpecs[key]
		if !ok {
			b.errs.Errorf(a.Name.Pos, "unknown train key %s; the keys are %s", key, strings.Join(trainKeys, ", "))
			continue
		}
		if prev := seen[key]; prev != nil {
			b.errs.Errorf(a.Name.Pos, "train key %s given twice", key).Also(prev.Name.Pos, "first given here")
			continue
		}
		seen[key] = a
		c, ok := env.eval(a.Value, spec.kind == argName)
		if !ok {
			continue
		}
		if msg := checkKind(spec, c); msg != "" {
			b.errs.Errorf(a.Value.Start(), "%s %s", key, msg)
			continue
		}
		switch key {
		case "data", "test":
			src := b.dataSource(env, key, a.Value, c)
			if key == "data" {
				cfg.Data = src
			} else {
				cfg.Test = src
			}
		case "loss":
			row := lossNamed(c.S)
			if c.kind != kName || row == nil {
				b.errs.Errorf(a.Value.Start(), "unknown loss %s; nnc knows %s", dsl.ExprString(a.Value), strings.Join(lossNames(), ", "))
				continue
			}
			cfg.Loss = row.loss
		case "optimizer":
			if o, ok := b.optimizer(env, a.Value, c); ok {
				cfg.Optimizer = o
			}
		case "epochs":
			cfg.Epochs = int(c.I)
		case "batch":
			cfg.Batch = int(c.I)
		case "shuffle":
			cfg.Shuffle = c.B
		case "seed":
			cfg.Seed = uint64(c.I)
		case "clip_grad_norm":
			f := c.F
			if c.kind == kInt {
				f = float64(c.I)
			}
			if !(f > 0) || math.IsInf(f, 0) {
				b.errs.Errorf(a.Value.Start(), "clip_grad_norm must be a positive number, got %s", c)
				continue
			}
			cfg.ClipGradNorm = f
		case "privacy":
			cfg.Privacy = b.privacy(env, a.Value, c)
		}
	}
	if cfg.Privacy != nil && cfg.ClipGradNorm > 0 {
		b.errs.Errorf(seen["clip_grad_norm"].Name.Pos, "clip_grad_norm with privacy: DP-SGD already clips each example's gradient to dp's clip; give one of them")
	}
	for _, key := range []string{"data", "loss", "optimizer", "epochs"} {
		if seen[key] == nil {
			b.errs.Errorf(t.Pos, "train %s: missing %s", t.Model.Name, key)
		}
	}
	return cfg
}

func (b *builder) optimizer(env *constEnv, x dsl.Expr, c Const) (ir.Optimizer, bool) {
	name := c.S
	var row *optimizerKind
	names := make([]string, len(optimizerTable))
	for i, r := range optimizerTable {
		names[i] = r.name
		if r.name == name {
			row = r
		}
	}
	if row == nil {
		b.errs.Errorf(x.Start(), "unknown optimizer %s; nnc knows %s", name, strings.Join(names, ", "))
		return ir.Optimizer{}, false
	}
	var args []*dsl.Arg
	if c.kind == kCall {
		args = c.Call.Args
	}
	a, good := env.bindArgs(name, x.Start(), args, row.args)
	if !good {
		return ir.Optimizer{}, false
	}
	if row.check != nil {
		if msg := row.check(a); msg != "" {
			b.errs.Errorf(x.Start(), "%s: %s", name, msg)
			return ir.Optimizer{}, false
		}
	}
	o := ir.Optimizer{Pos: x.Start(), Name: name}
	for _, spec := range row.args {
		o.Attrs = append(o.Attrs, ir.Attr{Key: spec.name, Val: a.vals[spec.name].value()})
	}
	return o, true
}

func (b *builder) dataSource(env *constEnv, key string, x dsl.Expr, c Const) *ir.DataSource {
	var row *sourceKind
	names := make([]string, len(sourceTable))
	for i, r := range sourceTable {
		names[i] = r.name
		if r.name == c.S {
			row = r
		}
	}
	if row == nil || c.kind != kCall {
		if row != nil {
			b.errs.Errorf(x.Start(), "%s = %s: a data source is called, as %s(...)", key, c.S, c.S)
		} else {
			b.errs.Errorf(x.Start(), "unknown data source %s; nnc knows %s", c.S, strings.Join(names, ", "))
		}
		return nil
	}
	a, ok := env.bindArgs(c.S, x.Start(), c.Call.Args, row.args)
	if !ok {
		return nil
	}
	src := &ir.DataSource{Pos: x.Start(), Kind: c.S}
	row.set(b, key, src, a)
	return src
}

// trainEnv returns the constants a train block may use: the hyper-parameters
// of its model, with the values the model is built with (the defaults,
// over them the block's train M(p = v), and for the entry model --set).
// Errors in those values are left to the model's build, which reports
// them; a hyper-parameter whose value has one is not defined here.
func (b *builder) trainEnv(t *dsl.Train, opt Options) *constEnv {
	env := &constEnv{names: map[string]Const{}, errs: b.errs}
	m := b.models[t.Model.Name]
	if m == nil {
		return env
	}
	entry := opt.Model
	for _, tr := range b.file.Trains() {
		if entry == "" && b.models[tr.Model.Name] != nil {
			entry = tr.Model.Name
		}
	}
	quiet := &constEnv{names: env.names, errs: &diag.List{}}
	over := map[string]Const{}
	for _, a := range t.Args {
		if a.Key != nil {
			if c, ok := quiet.eval(a.Value, false); ok {
				over[a.Key.Name] = c
			}
		}
	}
	if m.Name.Name == entry {
		for k, v := range opt.Set {
			if c, err := parseConst(v); err == nil {
				over[k] = c
			}
		}
	}
	for _, p := range m.Params {
		c, ok := over[p.Name.Name]
		if !ok {
			c, ok = quiet.eval(p.Value, false)
		}
		if ok && (c.kind == kInt || c.kind == kFloat || c.kind == kBool) {
			env.names[p.Name.Name] = c
		}
	}
	return env
}

// OverrideTraining replaces the learning rate (when lr > 0) and the batch
// (when batch > 0) of p's train block, before the passes run, as nnc run's
// --lr and --batch do.
func OverrideTraining(p *ir.Program, lr float64, batch int) error {
	if p.Train == nil {
		return &UsageError{fmt.Sprintf("model %s has no train block to override", p.Model)}
	}
	if math.IsInf(lr, 0) || math.IsNaN(lr) || lr < 0 {
		return &UsageError{fmt.Sprintf("--lr must be a positive number, got %v", lr)}
	}
	if batch < 0 {
		return &UsageError{fmt.Sprintf("--batch must be positive, got %d", batch)}
	}
	cfg := p.Train
	if lr > 0 {
		cfg.Optimizer.Attrs = cfg.Optimizer.Attrs.Set("lr", lr)
	}
	if batch > 0 {
		cfg.Batch = batch
	}
	if p.TrainGraph != nil {
		p.TrainGraph.Attrs = trainAttrs(cfg)
	}
	if p.EvalGraph != nil {
		p.EvalGraph.Attrs = p.EvalGraph.Attrs.Set("batch", cfg.Batch)
	}
	return nil
}

// OverrideNoise replaces the noise multiplier of p's privacy = dp(...),
// before the passes run, as nnc run --target-epsilon does.
func OverrideNoise(p *ir.Program, sigma float64) error {
	if p.Train == nil || p.Train.Privacy == nil {
		return &UsageError{fmt.Sprintf("model %s trains without privacy = dp(...): no noise to set", p.Model)}
	}
	if !(sigma >= 0) || math.IsInf(sigma, 0) {
		return &UsageError{fmt.Sprintf("the noise multiplier must be a non-negative number, got %v", sigma)}
	}
	p.Train.Privacy.Noise = sigma
	if p.TrainGraph != nil {
		p.TrainGraph.Attrs = trainAttrs(p.Train)
	}
	return nil
}

// BatchNormUnderDP is why privacy = dp(...) refuses batch norm, as Opacus
// does; the dp pass says the same of a graph built otherwise.
const BatchNormUnderDP = "privacy: batch norm mixes the examples of a batch, so an example's gradient depends on the others and DP-SGD cannot bound it (as Opacus refuses it); use LayerNorm, or no normalisation"

// refuseUnderDP reports the layers of a DP training step that mix the
// examples of a batch.
func (b *builder) refuseUnderDP(g *ir.Graph) {
	for _, v := range g.Values {
		if v.Op == ir.OpBatchNormTrain {
			b.errs.Errorf(v.Pos, "%s", BatchNormUnderDP)
		}
	}
}
