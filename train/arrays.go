package train

import (
	"fmt"
	"slices"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
	"github.com/nnc-go/nnc/npy"
)

// ArrayOptions configure ForwardArrays.
type ArrayOptions struct {
	// Weights holds the model's parameters and buffers; WeightsName names
	// where they come from, for messages.
	Weights     *checkpoint.File
	WeightsName string
	// F64 returns the float64 outputs of a float64 model as float64
	// arrays, as a test comparing with float64 references needs; else
	// every float output is a float32 array, as predict writes it.
	F64 bool
}

// ForwardArrays runs the forward pass of p, whose Forward graph the passes
// have planned, over arrays: inputs maps each input of the graph (by its
// name in the IR) to an array of its shape, the batch dimension taking the
// array's size, which must agree between batched inputs. The rows are run
// in steps of the plan's batch. It returns every output of the graph by
// name: float outputs as float32 arrays (see ArrayOptions.F64), integer
// ones as int64, bool ones as bools. A bool input
// takes an array of bools or of integers 0 and 1, as Read holds NumPy's
// bools.
func ForwardArrays(p *ir.Program, inputs map[string]*npy.Array, opt ArrayOptions) (map[string]*npy.Array, error) {
	g := p.Forward
	if g.Plan == nil {
		return nil, fmt.Errorf("graph %s has no memory plan", g.Name)
	}
	if opt.Weights != nil && IsInt8(opt.Weights) {
		// An int8 checkpoint runs the forward pass rewritten for it.
		var err error
		if g, err = Int8Graph(g, opt.Weights); err != nil {
			return nil, fmt.Errorf("%s: %v", opt.WeightsName, err)
		}
	}
	f64 := false
	for _, v := range g.Values {
		if (v.Op == ir.OpInput || v.Op == ir.OpParam) && v.Type.DType == ir.F64 {
			f64 = true
		}
	}
	if f64 {
		return forwardArrays[float64](g, inputs, opt)
	}
	return forwardArrays[float32](g, inputs, opt)
}

func forwardArrays[T kernels.Float](g *ir.Graph, inputs map[string]*npy.Array, opt ArrayOptions) (map[string]*npy.Array, error) {
	ins := g.Sources(ir.OpInput)
	rows := -1
	for _, in := range ins {
		a, ok := inputs[in.Name]
		if !ok {
			return nil, fmt.Errorf("no array for input %s %s", in.Name, in.Type)
		}
		s := in.Type.Shape
		if len(a.Shape) != s.Rank() {
			return nil, fmt.Errorf("input %s %s: the array has shape %v", in.Name, in.Type, a.Shape)
		}
		for i, d := range s {
			switch {
			case d == ir.Batch && i != 0:
				return nil, fmt.Errorf("input %s %s: the batch must be the first dimension to feed arrays", in.Name, in.Type)
			case d == ir.Batch:
				if rows >= 0 && a.Shape[0] != rows {
					return nil, fmt.Errorf("input %s has %d rows, another input %d", in.Name, a.Shape[0], rows)
				}
				rows = a.Shape[0]
			case a.Shape[i] != d:
				return nil, fmt.Errorf("input %s %s: the array has shape %v", in.Name, in.Type, a.Shape)
			}
		}
		switch {
		case in.Type.DType.IsFloat() && a.I64 != nil:
			return nil, fmt.Errorf("input %s %s: the array holds integers", in.Name, in.Type)
		case in.Type.DType == ir.I64 && a.I64 == nil:
			return nil, fmt.Errorf("input %s %s: the array holds floats, the input takes int64 ids", in.Name, in.Type)
		case in.Type.DType == ir.Bool && a.Bool == nil && a.I64 == nil:
			return nil, fmt.Errorf("input %s %s: the array holds floats, the input takes bools", in.Name, in.Type)
		case in.Type.DType == ir.Bool && a.I64 != nil && slices.ContainsFunc(a.I64, func(x int64) bool { return x != 0 && x != 1 }):
			return nil, fmt.Errorf("input %s %s: the array holds integers other than 0 and 1", in.Name, in.Type)
		case !in.Type.DType.IsFloat() && in.Type.DType != ir.I64 && in.Type.DType != ir.Bool:
			return nil, fmt.Errorf("input %s %s: arrays of %s are not supported", in.Name, in.Type, in.Type.DType)
		}
	}
	for name := range inputs {
		found := false
		for _, in := range ins {
			found = found || in.Name == name
		}
		if !found {
			return nil, fmt.Errorf("the model has no input %s", name)
		}
	}
	batched := rows >= 0
	if !batched {
		rows = 1
	}
	store := interp.NewStore[T]()
	if err := store.Init(g, 0); err != nil {
		return nil, err
	}
	if opt.Weights != nil {
		load := loadTensors[T]
		if IsInt8(opt.Weights) {
			load = loadInt8[T]
		}
		if err := load(store, g, opt.Weights, opt.WeightsName); err != nil {
			return nil, err
		}
	}
	m, err := interp.New(g, store, 0)
	if err != nil {
		return nil, err
	}
	bufs := m.InputTensors()
	outs := map[string]*npy.Array{}
	for _, o := range g.Outputs {
		s := o.Value.Type.Shape
		if s.HasBatch() && s[0] != ir.Batch {
			return nil, fmt.Errorf("output %s %s: the batch must be its first dimension", o.Name, o.Value.Type)
		}
		shape := []int(s.Clone())
		if s.HasBatch() {
			shape[0] = rows
		}
		a := &npy.Array{Shape: shape}
		switch {
		case o.Value.Type.DType == ir.F64 && opt.F64 && isF64[T]():
			a.F64 = make([]float64, 0, s.Size(rows))
		case o.Value.Type.DType.IsFloat():
			a.F32 = make([]float32, 0, s.Size(rows))
		case o.Value.Type.DType == ir.Bool:
			a.Bool = make([]bool, 0, s.Size(rows))
		case o.Value.Type.DType == ir.I64:
			a.I64 = make([]int64, 0, s.Size(rows))
		default:
			return nil, fmt.Errorf("output %s of type %s cannot be written as an array", o.Name, o.Value.Type)
		}
		outs[o.Name] = a
	}
	step := m.Batch()
	if rows == 0 {
		return outs, nil
	}
	for lo := 0; lo < rows; lo += step {
		n := min(step, rows-lo)
		if !batched {
			n = 1
		}
		for _, b := range bufs {
			a := inputs[b.Name]
			per := b.Type.Shape.Elems()
			from, to := lo*per, (lo+n)*per
			if !b.Type.Shape.HasBatch() {
				from, to = 0, per
			}
			switch {
			case b.F != nil && a.F32 != nil:
				for i, x := range a.F32[from:to] {
					b.F[i] = T(x)
				}
			case b.F != nil:
				for i, x := range a.F64[from:to] {
					b.F[i] = T(x)
				}
			case b.I64 != nil:
				copy(b.I64, a.I64[from:to])
			case b.Bool != nil && a.Bool != nil:
				copy(b.Bool, a.Bool[from:to])
			case b.Bool != nil:
				for i, x := range a.I64[from:to] {
					b.Bool[i] = x != 0
				}
			}
		}
		run := n
		if batched {
			// Whole blocks of rows, as Predict computes them: a row's
			// outputs do not depend on the rows it is computed with.
			run = PredictRows(n, m.Batch())
		}
		if err := m.Run(run); err != nil {
			return nil, fmt.Errorf("rows %d to %d: %w", lo+1, lo+n, err)
		}
		for _, o := range g.Outputs {
			t := m.OutputTensorOf(o.Name)
			a := outs[o.Name]
			size := o.Value.Type.Shape.Size(n)
			if !o.Value.Type.Shape.HasBatch() && lo > 0 {
				continue
			}
			switch {
			case a.F32 != nil && t.F != nil:
				for _, x := range t.F[:size] {
					a.F32 = append(a.F32, float32(x))
				}
			case a.F64 != nil && t.F != nil:
				for _, x := range t.F[:size] {
					a.F64 = append(a.F64, float64(x))
				}
			case t.I64 != nil:
				a.I64 = append(a.I64, t.I64[:size]...)
			case a.Bool != nil && t.Bool != nil:
				a.Bool = append(a.Bool, t.Bool[:size]...)
			default:
				return nil, fmt.Errorf("output %s of type %s cannot be written as an array", o.Name, o.Value.Type)
			}
		}
	}
	return outs, nil
}

// isF64 reports whether T is float64.
func isF64[T kernels.Float]() bool {
	var z T
	_, ok := any(z).(float64)
	return ok
}
