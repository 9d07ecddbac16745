package passes

import (
	"fmt"

	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/ir"
)

// dp turns a training step's gradients into DP-SGD's (train key privacy =
// dp(clip = C, noise = σ), as Abadi et al. 2016 and Opacus define it):
// each example's gradient clipped to norm C, their sum plus N(0, σ²C²)
// noise, divided by the expected batch size B.
//
// Per-example gradients are never materialised where the algebra allows
// ("ghost clipping", Goodfellow 2015, Li et al. 2022). Every parameter
// gradient the grad pass emits for a Linear or Conv2d layer is a sum over
// the rows of the batch of outer products, which the pass reads back:
//
//   - a weight used as x·wᵀ: MatMul(δᵀ, x), or MatMulTN(δ, x) over a
//     sequence [N, T, ·]: example i's gradient δᵢᵀxᵢ has squared norm
//     ‖xᵢ‖²‖δᵢ‖² without a sequence, else Σ_{t,s}(xₜ·xₛ)(δₜ·δₛ) (the Gram
//     form, when cheaper than the product itself): RowOuterSqNorm;
//   - a bias: SumTo or ChannelSum of δ, whose per-example sums give the
//     norm: GroupSumSqNorm;
//   - a convolution's weight: Conv2dGradWeight, by the same Gram form over
//     output positions of the unfolded input, or the example's product
//     when that is cheaper: ConvSqNorm.
//
// The norms chain into one total per example; ClipFactor turns it into
// each example's weight fᵢ = n·min(1, C/‖gᵢ‖) (n because the loss is the
// batch's mean); then each gradient is computed again from δ scaled by
// ScaleRows, one weighted GEMM (the unclipped one becomes dead code), and
// DPNoise adds the noise and divides by B.
//
// Batch norm mixes the examples of a batch, so their gradients are not
// per-example: it is refused, as Opacus refuses it. So is a parameter
// whose gradient the pass cannot read back (used twice, or by a layer
// other than Linear and Conv2d).
func dp(g *ir.Graph) error {
	clip := g.Attrs.Float("dp_clip", 0)
	if clip <= 0 || g.Attrs.String("optimizer") == "" || g.Output("loss") == nil {
		return nil
	}
	for _, v := range g.Values {
		switch v.Op {
		case ir.OpDPNoise:
			return nil // already done
		case ir.OpBatchNormTrain:
			return dpError(v.Pos, "privacy: batch norm mixes the examples of a batch, so an example's gradient depends on the others and DP-SGD cannot bound it (as Opacus refuses it); use LayerNorm, or no normalisation")
		}
	}
	type site struct {
		p, grad *ir.Value
		delta   int // the argument of grad that ScaleRows scales
	}
	var sites []site
	var total *ir.Value
	chain := func(op ir.Op, attrs ir.Attrs, pos diag.Pos, args ...*ir.Value) {
		if total != nil {
			args = append(args, total)
		}
		total = g.NewValue(op, attrs, pos, args...)
	}
	for _, p := range g.Sources(ir.OpParam) {
		grad := g.Output("grad." + p.Name)
		if grad == nil {
			continue
		}
		switch {
		case (grad.Op == ir.OpMatMul && grad.AttrBool("ta") && !grad.AttrBool("tb") && rowsOf(grad.Args[0], 2) && rowsOf(grad.Args[1], 2)) ||
			(grad.Op == ir.OpMatMulTN && rowsOf(grad.Args[0], 0) && rowsOf(grad.Args[1], 0)):
			chain(ir.OpRowOuterSqNorm, nil, p.Pos, grad.Args[0], grad.Args[1])
		case grad.Op == ir.OpSumTo && rowsOf(grad.Args[0], 0) && trailing(grad.Type.Shape, grad.Args[0].Type.Shape):
			chain(ir.OpGroupSumSqNorm, ir.Attrs{{Key: "c", Val: grad.Type.Shape.Elems()}}, p.Pos, grad.Args[0])
		case grad.Op == ir.OpChannelSum && rowsOf(grad.Args[0], 0):
			s := grad.Args[0].Type.Shape
			chain(ir.OpGroupSumSqNorm, ir.Attrs{{Key: "c", Val: s[1]}, {Key: "inner", Val: s[2:].Elems()}}, p.Pos, grad.Args[0])
		case grad.Op == ir.OpConv2dGradWeight && rowsOf(grad.Args[0], 0):
			chain(ir.OpConvSqNorm, grad.Attrs, p.Pos, grad.Args...)
		case grad.Op == ir.OpAdd:
			return dpError(p.Pos, fmt.Sprintf("privacy: parameter %s is used more than once; per-example gradient norms of shared parameters are not supported", p.Name))
		default:
			return dpError(p.Pos, fmt.Sprintf("privacy: the per-example gradient norm of %s (from %s) is not derived yet; DP-SGD supports the weights and biases of Linear and Conv2d layers", p.Name, grad.Op))
		}
		sites = append(sites, site{p: p, grad: grad})
	}
	if total == nil {
		return nil
	}
	pos := g.Output("loss").Pos
	factor := g.NewValue(ir.OpClipFactor, ir.Attrs{{Key: "clip", Val: clip}}, pos, total)
	std := g.Attrs.Float("dp_noise", 0) * clip
	scale := 1 / float64(g.Attrs.Int("dp_batch", 1))
	for _, s := range sites {
		args := append([]*ir.Value(nil), s.grad.Args...)
		args[s.delta] = g.NewValue(ir.OpScaleRows, nil, s.p.Pos, args[s.delta], factor)
		var clipped *ir.Value
		if s.grad.Op.Info().Declared {
			clipped = g.NewDeclared(s.grad.Op, s.grad.Type, s.grad.Attrs, s.p.Pos, args...)
		} else {
			clipped = g.NewValue(s.grad.Op, s.grad.Attrs, s.p.Pos, args...)
		}
		noisy := g.NewValue(ir.OpDPNoise, ir.Attrs{{Key: "std", Val: std}, {Key: "scale", Val: scale}}, s.p.Pos, clipped)
		g.SetOutput("grad."+s.p.Name, noisy)
	}
	return nil
}

// rowsOf reports whether v is [N, ...] with the batch first and nowhere
// else, and of rank r when r > 0: example i owns a contiguous slice.
func rowsOf(v *ir.Value, r int) bool {
	s := v.Type.Shape
	if s.Rank() < 2 || (r > 0 && s.Rank() != r) || s[0] != ir.Batch {
		return false
	}
	for _, d := range s[1:] {
		if d == ir.Batch {
			return false
		}
	}
	return true
}

// trailing reports whether to, less its leading 1s, is the end of from's
// shape after the batch: a sum over the batch and leading dimensions.
func trailing(to, from ir.Shape) bool {
	for to.Rank() > 0 && to[0] == 1 {
		to = to[1:]
	}
	rest := from[1:]
	return to.Rank() <= rest.Rank() && to.Equal(rest[rest.Rank()-to.Rank():])
}

func dpError(pos diag.Pos, msg string) error {
	return &diag.ErrorList{Diags: []*diag.Diagnostic{{Pos: pos, Msg: msg}}}
}
