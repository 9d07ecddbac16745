package passes

import (
	"fmt"

	"github.com/nnc-go/nnc/diag"

	"github.com/nnc-go/nnc/ir"
)

// optim appends the optimizer update to a training step, after grad: for
// each parameter with a gradient, the new value of the parameter and of its
// optimizer state, as outputs named after what they replace (the parameter's
// state_dict name; optimizer.NAME.momentum_buffer, .exp_avg, .exp_avg_sq;
// optimizer.step). The state is explicit: State values in, new values out,
// so the step is a pure function that back ends may run in place.
//
// The rules are torch.optim's (SGD with momentum, dampening, weight decay
// and Nesterov; Adam; AdamW's decoupled weight decay), read from the
// graph's attributes, which build.Build sets from the train block.
func optim(g *ir.Graph) error {
	name := g.Attrs.String("optimizer")
	if name == "" || g.Output("optimizer.step") != nil {
		return nil
	}
	params := g.Sources(ir.OpParam)
	var pos = g.Output("loss").Pos
	i64 := ir.Type{DType: ir.I64, Shape: ir.Shape{}}
	step := g.NewDeclared(ir.OpState, i64, nil, pos)
	step.Name = "optimizer.step"
	next := g.NewValue(ir.OpIncrement, nil, pos, step)
	g.SetOutput("optimizer.step", next)
	lr, wd := g.Attrs.Float("lr", 0), g.Attrs.Float("weight_decay", 0)
	grads := clipGrads(g, params, pos)
	for _, p := range params {
		grad := grads[p]
		if grad == nil {
			continue
		}
		state := func(suffix string) *ir.Value {
			s := g.NewDeclared(ir.OpState, p.Type, nil, p.Pos)
			s.Name = "optimizer." + p.Name + "." + suffix
			return s
		}
		var np *ir.Value
		switch name {
		case "SGD":
			momentum := g.Attrs.Float("momentum", 0)
			if momentum == 0 {
				np = g.NewValue(ir.OpSGDStep, ir.Attrs{{Key: "lr", Val: lr}, {Key: "weight_decay", Val: wd}}, p.Pos, p, grad)
				break
			}
			buf := state("momentum_buffer")
			nb := g.NewValue(ir.OpSGDBuf, ir.Attrs{{Key: "momentum", Val: momentum}, {Key: "dampening", Val: g.Attrs.Float("dampening", 0)}, {Key: "weight_decay", Val: wd}}, p.Pos, buf, grad, p, next)
			g.SetOutput(buf.Name, nb)
			np = g.NewValue(ir.OpSGDStep, ir.Attrs{{Key: "lr", Val: lr}, {Key: "momentum", Val: momentum}, {Key: "weight_decay", Val: wd}, {Key: "nesterov", Val: g.Attrs.Bool("nesterov")}}, p.Pos, p, grad, nb)
		case "Adam", "AdamW":
			decoupled := name == "AdamW"
			gradWD := wd
			if decoupled {
				gradWD = 0
			}
			b1, b2 := g.Attrs.Float("beta1", 0.9), g.Attrs.Float("beta2", 0.999)
			m, v := state("exp_avg"), state("exp_avg_sq")
			nm := g.NewValue(ir.OpAdamM, ir.Attrs{{Key: "beta1", Val: b1}, {Key: "weight_decay", Val: gradWD}}, p.Pos, m, grad, p)
			nv := g.NewValue(ir.OpAdamV, ir.Attrs{{Key: "beta2", Val: b2}, {Key: "weight_decay", Val: gradWD}}, p.Pos, v, grad, p)
			g.SetOutput(m.Name, nm)
			g.SetOutput(v.Name, nv)
			np = g.NewValue(ir.OpAdamStep, ir.Attrs{{Key: "lr", Val: lr}, {Key: "beta1", Val: b1}, {Key: "beta2", Val: b2},
				{Key: "eps", Val: g.Attrs.Float("eps", 1e-8)}, {Key: "weight_decay", Val: wd}, {Key: "decoupled", Val: decoupled}}, p.Pos, p, nm, nv, next)
		default:
			panic(fmt.Sprintf("ir: unknown optimizer %q", name))
		}
		g.SetOutput(p.Name, np)
	}
	// The gradients were intermediate: the step's results are the new
	// parameters and state.
	kept := g.Outputs[:0]
	for _, o := range g.Outputs {
		if len(o.Name) < 5 || o.Name[:5] != "grad." {
			kept = append(kept, o)
		}
	}
	g.Outputs = kept
	return nil
}

// clipGrads returns each parameter's gradient, clipped when the train block
// sets clip_grad_norm = c as torch.nn.utils.clip_grad_norm_ does: a chain
// of GradSqNorm ops sums the squares of every gradient in float64 (in
// parameter order), and ClipGrad scales each gradient by
// min(1, c / (sqrt(total) + 1e-6)).
func clipGrads(g *ir.Graph, params []*ir.Value, pos diag.Pos) map[*ir.Value]*ir.Value {
	grads := map[*ir.Value]*ir.Value{}
	var withGrad []*ir.Value
	for _, p := range params {
		if grad := g.Output("grad." + p.Name); grad != nil {
			grads[p] = grad
			withGrad = append(withGrad, p)
		}
	}
	maxNorm := g.Attrs.Float("clip_grad_norm", 0)
	if maxNorm <= 0 || len(withGrad) == 0 {
		return grads
	}
	var total *ir.Value
	for _, p := range withGrad {
		if total == nil {
			total = g.NewValue(ir.OpGradSqNorm, nil, pos, grads[p])
		} else {
			total = g.NewValue(ir.OpGradSqNorm, nil, pos, grads[p], total)
		}
	}
	for _, p := range withGrad {
		grads[p] = g.NewValue(ir.OpClipGrad, ir.Attrs{{Key: "max_norm", Val: maxNorm}}, p.Pos, grads[p], total)
	}
	return grads
}
