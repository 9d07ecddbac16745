package build

import (
	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/ir"
)

// lossKind is a row of the loss table: what the loss needs of the model's
// output, the targets it takes and the IR it appends.
type lossKind struct {
	loss ir.Loss // its String is the train block's spelling
	// check validates the model's output (whose first dimension is the
	// batch) and the data source against the loss; it reports and
	// returns false when they do not fit.
	check func(b *builder, cfg *ir.TrainConfig, out ir.Shape) bool
	// target is the type of the targets, given the output's.
	target func(out ir.Type) ir.Type
	// apply appends the loss and, for classification, the count of
	// correct predictions (else nil).
	apply func(bl *ir.Builder, out, y *ir.Value) (loss, correct *ir.Value, err error)
}

var lossTable = []*lossKind{
	{
		loss: ir.CrossEntropy,
		check: func(b *builder, cfg *ir.TrainConfig, s ir.Shape) bool {
			if (s.Rank() != 2 && s.Rank() != 3) || s[s.Rank()-1] < 2 {
				b.errs.Errorf(cfg.Pos, "train %s: cross_entropy needs class scores [N, C], or [N, T, C] for a class per position, with C ≥ 2; the model returns %s", cfg.Model, s)
				return false
			}
			if src := cfg.Data; src != nil && src.Kind == "random" && (s.Rank() != 2 || src.Classes > s[1]) {
				b.errs.Errorf(src.Pos, "random: %d classes, but the model scores %d", src.Classes, s[1])
				return false
			}
			return true
		},
		target: func(out ir.Type) ir.Type {
			if s := out.Shape; s.Rank() == 3 {
				// A class per position: token ids, as the input's.
				return ir.Type{DType: ir.I64, Shape: s[:2].Clone()}
			}
			return ir.Type{DType: ir.CrossEntropy.TargetDType(out.DType), Shape: ir.Shape{ir.Batch}}
		},
		apply: func(bl *ir.Builder, out, y *ir.Value) (*ir.Value, *ir.Value, error) {
			logp, err := bl.Op(ir.OpLogSoftmax, ir.Attrs{{Key: "dim", Val: out.Type.Shape.Rank() - 1}}, out.Pos, out)
			if err != nil {
				return nil, nil, err
			}
			loss, err := bl.Op(ir.OpNLLLoss, nil, out.Pos, logp, y)
			if err != nil {
				return nil, nil, err
			}
			correct, err := bl.Op(ir.OpCorrect, nil, out.Pos, out, y)
			return loss, correct, err
		},
	},
	{
		loss:   ir.MSE,
		check:  func(*builder, *ir.TrainConfig, ir.Shape) bool { return true },
		target: sameTarget,
		apply: func(bl *ir.Builder, out, y *ir.Value) (*ir.Value, *ir.Value, error) {
			loss, err := bl.Op(ir.OpMSELoss, nil, out.Pos, out, y)
			return loss, nil, err
		},
	},
	{
		loss: ir.BCEWithLogits,
		check: func(b *builder, cfg *ir.TrainConfig, _ ir.Shape) bool {
			if src := cfg.Data; src != nil && src.Kind == "random" && src.Classes > 2 {
				b.errs.Errorf(src.Pos, "random: bce_with_logits has 2 classes, not %d", src.Classes)
				return false
			}
			return true
		},
		target: sameTarget,
		apply: func(bl *ir.Builder, out, y *ir.Value) (*ir.Value, *ir.Value, error) {
			loss, err := bl.Op(ir.OpBCEWithLogitsLoss, nil, out.Pos, out, y)
			if err != nil {
				return nil, nil, err
			}
			correct, err := bl.Op(ir.OpCorrectBinary, nil, out.Pos, out, y)
			return loss, correct, err
		},
	},
}

// sameTarget: targets of the output's type, one per output value.
func sameTarget(out ir.Type) ir.Type {
	return ir.Type{DType: out.DType, Shape: out.Shape}
}

func lossNamed(name string) *lossKind {
	for _, row := range lossTable {
		if row.loss.String() == name {
			return row
		}
	}
	return nil
}

func lossOf(l ir.Loss) *lossKind {
	for _, row := range lossTable {
		if row.loss == l {
			return row
		}
	}
	return nil
}

func lossNames() []string {
	names := make([]string, len(lossTable))
	for i, row := range lossTable {
		names[i] = row.loss.String()
	}
	return names
}

// addLoss appends the loss of cfg to a training or evaluation graph:
// outputs "loss", for classification "correct", and the new values of the
// buffers the forward pass updates.
func (b *builder) addLoss(bl *ir.Builder, cfg *ir.TrainConfig) {
	g := bl.Graph()
	out := g.Output("out")
	s := out.Type.Shape
	at := cfg.Pos
	ins := g.Sources(ir.OpInput)
	if len(ins) != 1 || ins[0].Type.Shape.Rank() == 0 || ins[0].Type.Shape[0] != ir.Batch {
		b.errs.Errorf(at, "train %s: training needs a model with one input whose first dimension is the batch", cfg.Model)
		return
	}
	if s.Rank() == 0 || s[0] != ir.Batch {
		b.errs.Errorf(at, "train %s: the model returns %s; training needs the batch as its first dimension", cfg.Model, s)
		return
	}
	row := lossOf(cfg.Loss)
	if row == nil || !row.check(b, cfg, s) {
		return // a missing or unknown loss is reported by trainBlock
	}
	y, err := bl.Target("y", row.target(out.Type), diag.Pos{})
	if err != nil {
		b.errs.Errorf(at, "train %s: %s: %v", cfg.Model, row.loss, err)
		return
	}
	loss, correct, err := row.apply(bl, out, y)
	if err != nil {
		b.errs.Errorf(at, "train %s: %s: %v", cfg.Model, row.loss, err)
		return
	}
	loss.Name = "loss"
	g.Outputs = []ir.Output{{Name: "loss", Value: loss}}
	if correct != nil {
		g.Outputs = append(g.Outputs, ir.Output{Name: "correct", Value: correct})
	}
	for _, name := range b.updateOrder {
		g.Outputs = append(g.Outputs, ir.Output{Name: name, Value: b.updates[name]})
	}
}
