package interp

import (
	"fmt"

	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
)

// shape is a value's shape with the batch dimension filled in per step.
type shape struct {
	dims  []int
	batch int // index of the batch dimension, or -1
}

func newShape(s ir.Shape) *shape {
	sh := &shape{dims: make([]int, len(s)), batch: -1}
	for i, d := range s {
		sh.dims[i] = d
		if d == ir.Batch {
			sh.batch = i
		}
	}
	return sh
}

// at returns the dimensions for batch n; the slice is reused.
func (s *shape) at(n int) []int {
	if s.batch >= 0 {
		s.dims[s.batch] = n
	}
	return s.dims
}

func prod(d []int) int {
	p := 1
	for _, x := range d {
		p *= x
	}
	return p
}

// axis splits shape d around axis k: the sizes before, at and after it.
func axis(d []int, k int) (outer, dim, inner int) {
	return prod(d[:k]), d[k], prod(d[k+1:])
}

// compile returns the closure that computes v for a batch of n rows, or
// nil for values that need no work (sources).
func (m *Machine[T]) compile(v *ir.Value) (func(n int), error) {
	if v.Op.Info().Source && v.Op != ir.OpDropoutMask {
		return nil, nil
	}
	out := m.f[v.ID]
	osh := newShape(v.Type.Shape)
	size := func(n int) int { return prod(osh.at(n)) }
	arg := func(i int) []T { return m.f[v.Args[i].ID] }
	argShape := func(i int) *shape { return newShape(v.Args[i].Type.Shape) }
	attrs := v.Attrs
	unary := func(f func(dst, x []T)) func(int) {
		x := arg(0)
		return func(n int) { s := size(n); f(out[:s], x[:s]) }
	}
	grad2 := func(f func(dst, a, b []T)) func(int) {
		a, b := arg(0), arg(1)
		return func(n int) { s := size(n); f(out[:s], a[:s], b[:s]) }
	}
	switch v.Op {
	case ir.OpAdd, ir.OpSub, ir.OpMul, ir.OpDiv:
		op := map[ir.Op]kernels.Op{ir.OpAdd: kernels.OpAdd, ir.OpSub: kernels.OpSub, ir.OpMul: kernels.OpMul, ir.OpDiv: kernels.OpDiv}[v.Op]
		a, b := arg(0), arg(1)
		ash, bsh := argShape(0), argShape(1)
		return func(n int) {
			da, db := ash.at(n), bsh.at(n)
			kernels.Broadcast(op, out[:size(n)], osh.at(n), a[:prod(da)], da, b[:prod(db)], db)
		}, nil
	case ir.OpNeg:
		return unary(kernels.Neg[T]), nil
	case ir.OpRelu:
		return unary(kernels.Relu[T]), nil
	case ir.OpSigmoid:
		return unary(kernels.Sigmoid[T]), nil
	case ir.OpTanh:
		return unary(kernels.Tanh[T]), nil
	case ir.OpGelu:
		return unary(kernels.Gelu[T]), nil
	case ir.OpReluGrad:
		return grad2(kernels.ReluBackward[T]), nil
	case ir.OpSigmoidGrad:
		return grad2(kernels.SigmoidBackward[T]), nil
	case ir.OpTanhGrad:
		return grad2(kernels.TanhBackward[T]), nil
	case ir.OpGeluGrad:
		return grad2(kernels.GeluBackward[T]), nil
	case ir.OpReshape:
		x := arg(0)
		return func(n int) { s := size(n); copy(out[:s], x[:s]) }, nil
	case ir.OpMatMul:
		return m.matmul(v, out)
	case ir.OpMatMulReluMask:
		mm, _ := m.matmul(v, out)
		y := arg(2)
		return func(n int) {
			mm(n)
			s := size(n)
			kernels.ReluBackward(out[:s], out[:s], y[:s])
		}, nil
	case ir.OpMatMulTN:
		a, b := arg(0), arg(1)
		ash := argShape(0)
		k, nn := v.Type.Shape[0], v.Type.Shape[1]
		return func(n int) {
			rows := prod(ash.at(n)) / k
			kernels.Gemm(true, false, k, nn, rows, 1, a, k, b, nn, 0, out, nn)
		}, nil
	case ir.OpLinear, ir.OpLinearRelu:
		x, w := arg(0), arg(1)
		var bias []T
		if len(v.Args) == 3 {
			bias = arg(2)
		}
		outF, inF := v.Args[1].Type.Shape[0], v.Args[1].Type.Shape[1]
		relu := v.Op == ir.OpLinearRelu
		return func(n int) {
			rows := size(n) / outF
			kernels.Linear(out, x, w, bias, rows, inF, outF, relu)
		}, nil
	case ir.OpSoftmax, ir.OpLogSoftmax, ir.OpSoftmaxGrad, ir.OpLogSoftmaxGrad:
		return m.alongAxis(v, out, osh)
	case ir.OpSum, ir.OpMean:
		x := arg(0)
		xsh := argShape(0)
		k, _ := ir.NormAxis(attrs.Int("dim", -1), v.Args[0].Type.Shape.Rank())
		mean := v.Op == ir.OpMean
		return func(n int) {
			d := xsh.at(n)
			o, dim, in := axis(d, k)
			if mean {
				kernels.Mean(out[:o*in], x[:prod(d)], o, dim, in)
			} else {
				kernels.Sum(out[:o*in], x[:prod(d)], o, dim, in)
			}
		}, nil
	case ir.OpSumAll:
		x := arg(0)
		xsh := argShape(0)
		return func(n int) { s := prod(xsh.at(n)); kernels.Sum(out[:1], x[:s], 1, s, 1) }, nil
	case ir.OpSumTo:
		x := arg(0)
		xsh := argShape(0)
		return func(n int) {
			d := xsh.at(n)
			kernels.ReduceTo(out[:size(n)], osh.at(n), x[:prod(d)], d)
		}, nil
	case ir.OpBroadcastTo:
		x := arg(0)
		xsh := argShape(0)
		zero := []T{0}
		return func(n int) {
			d := xsh.at(n)
			kernels.Broadcast(kernels.OpAdd, out[:size(n)], osh.at(n), x[:prod(d)], d, zero, nil)
		}, nil
	case ir.OpNLLLoss, ir.OpSoftmaxCrossEntropy, ir.OpNLLLossGrad, ir.OpSoftmaxCrossEntropyGrad, ir.OpCorrect:
		return m.classLoss(v, out)
	case ir.OpMSELoss, ir.OpBCEWithLogitsLoss, ir.OpMSELossGrad, ir.OpBCEWithLogitsLossGrad, ir.OpCorrectBinary:
		return m.valueLoss(v, out)
	case ir.OpDropoutMask:
		p := attrs.Float("p", 0)
		return func(n int) { kernels.DropoutMask(out[:size(n)], p, m.rng) }, nil
	case ir.OpIncrement:
		src, dst := m.i64[v.Args[0].ID], m.i64[v.ID]
		return func(int) { dst[0] = src[0] + 1 }, nil
	case ir.OpSGDBuf, ir.OpSGDStep, ir.OpAdamM, ir.OpAdamV, ir.OpAdamStep:
		return m.update(v, out)
	case ir.OpConv2d, ir.OpConv2dRelu:
		conv, err := m.conv(v, out)
		if v.Op == ir.OpConv2d || err != nil {
			return conv, err
		}
		return func(n int) {
			conv(n)
			s := size(n)
			kernels.Relu(out[:s], out[:s])
		}, nil
	case ir.OpBNFoldWeight:
		w, gamma, rv := arg(0), arg(1), arg(2)
		c := v.Type.Shape[0]
		per := v.Type.Shape.Elems() / c
		eps := attrs.Float("eps", 1e-5)
		return func(int) { kernels.BNFoldWeight(out, w, gamma, rv, c, per, eps) }, nil
	case ir.OpBNFoldBias:
		b, gamma, beta, rm, rv := arg(0), arg(1), arg(2), arg(3), arg(4)
		c := v.Type.Shape[0]
		eps := attrs.Float("eps", 1e-5)
		return func(int) { kernels.BNFoldBias(out, b, gamma, beta, rm, rv, c, eps) }, nil
	case ir.OpMaxPool2d:
		x := arg(0)
		xs := v.Args[0].Type.Shape
		idx := make([]int32, v.Type.Shape.Size(m.cap))
		k := attrs.Int("kernel", 1)
		st := attrs.Int("stride", k)
		return func(n int) {
			kernels.MaxPool2d(out, idx, x, kernels.PoolShape{N: n, C: xs[1], H: xs[2], W: xs[3], Kernel: k, Stride: st})
		}, nil
	case ir.OpBatchNormTrain:
		x, w, b := arg(0), arg(1), arg(2)
		c, hw := v.Args[0].Type.Shape.Channels()
		// The kernel also updates running statistics: here scratch, since
		// RunningMean and RunningVar are values of their own.
		rm, rv, mean, inv := make([]T, c), make([]T, c), make([]T, c), make([]T, c)
		eps, mom := attrs.Float("eps", 1e-5), attrs.Float("momentum", 0.1)
		return func(n int) {
			s := size(n)
			kernels.BatchNormTrain(out[:s], x[:s], w, b, rm, rv, mean, inv, n, c, hw, mom, eps)
		}, nil
	case ir.OpBatchNormGradInput, ir.OpBatchNormGradWeight:
		dy, x, w := arg(0), arg(1), arg(2)
		c, hw := v.Args[1].Type.Shape.Channels()
		mean, inv := make([]T, c), make([]T, c)
		eps := attrs.Float("eps", 1e-5)
		input := v.Op == ir.OpBatchNormGradInput
		return func(n int) {
			s := n * c * hw
			kernels.BatchStats(mean, inv, x[:s], n, c, hw, eps)
			if input {
				kernels.BatchNormBackward(out[:s], nil, nil, dy[:s], x[:s], w, mean, inv, n, c, hw)
			} else {
				kernels.BatchNormBackward(nil, out, nil, dy[:s], x[:s], w, mean, inv, n, c, hw)
			}
		}, nil
	case ir.OpRunningMean, ir.OpRunningVar:
		run, x := arg(0), arg(1)
		c, hw := v.Args[1].Type.Shape.Channels()
		mom := attrs.Float("momentum", 0.1)
		mean := v.Op == ir.OpRunningMean
		return func(n int) {
			if mean {
				kernels.RunningMean(out, run, x[:n*c*hw], n, c, hw, mom)
			} else {
				kernels.RunningVar(out, run, x[:n*c*hw], n, c, hw, mom)
			}
		}, nil
	case ir.OpChannelSum:
		x := arg(0)
		c, hw := v.Args[0].Type.Shape.Channels()
		xsh := argShape(0)
		return func(n int) {
			rows := prod(xsh.at(n)) / (c * hw)
			kernels.ChannelSum(out, x[:rows*c*hw], rows, c, hw)
		}, nil
	case ir.OpConv2dGradInput, ir.OpConv2dGradWeight:
		dy, x, w := arg(0), arg(1), arg(2)
		xs, ws := v.Args[1].Type.Shape, v.Args[2].Type.Shape
		cs := kernels.ConvShape{C: xs[1], H: xs[2], W: xs[3], K: ws[0], KH: ws[2], KW: ws[3], Stride: attrs.Int("stride", 1), Pad: attrs.Int("padding", 0)}
		col := make([]T, cs.ColSize())
		input := v.Op == ir.OpConv2dGradInput
		return func(n int) {
			cs.N = n
			if input {
				kernels.Conv2dBackward(out, nil, nil, dy, x, w, col, cs)
			} else {
				kernels.Conv2dBackward(nil, out, nil, dy, x, w, col, cs)
			}
		}, nil
	case ir.OpMaxPool2dGrad:
		dy, x := arg(0), arg(1)
		xs := v.Args[1].Type.Shape
		k := attrs.Int("kernel", 1)
		ps := kernels.PoolShape{C: xs[1], H: xs[2], W: xs[3], Kernel: k, Stride: attrs.Int("stride", k)}
		ysize := v.Args[0].Type.Shape.Size(m.cap)
		tmp, idx := make([]T, ysize), make([]int32, ysize)
		return func(n int) {
			ps.N = n
			kernels.MaxPool2d(tmp, idx, x, ps)
			kernels.MaxPool2dBackward(out, dy, idx, ps)
		}, nil
	case ir.OpBatchNorm:
		x, w, b, rm, rv := arg(0), arg(1), arg(2), arg(3), arg(4)
		xs := v.Args[0].Type.Shape
		hw := 1
		if xs.Rank() == 4 {
			hw = xs[2] * xs[3]
		}
		eps := attrs.Float("eps", 1e-5)
		return func(n int) {
			s := size(n)
			kernels.BatchNormEval(out[:s], x[:s], w, b, rm, rv, n, xs[1], hw, eps)
		}, nil
	}
	return nil, fmt.Errorf("the interpreter cannot run %s yet", v.Op)
}

// matmul runs op(a)·op(b): a 2-D product, rows of a leading-dimension left
// operand, or a batch of products.
func (m *Machine[T]) matmul(v *ir.Value, out []T) (func(int), error) {
	a, b := m.f[v.Args[0].ID], m.f[v.Args[1].ID]
	ash, bsh := newShape(v.Args[0].Type.Shape), newShape(v.Args[1].Type.Shape)
	ta, tb := v.Attrs.Bool("ta"), v.Attrs.Bool("tb")
	ra, rb := len(ash.dims), len(bsh.dims)
	return func(n int) {
		da, db := ash.at(n), bsh.at(n)
		kb, nn := db[rb-2], db[rb-1] // b as stored
		cols := nn
		if tb {
			cols = kb
		}
		if rb == 2 {
			ka := da[ra-1] // a as stored: rows × ka
			rows := prod(da) / ka
			m, k := rows, ka
			if ta {
				m, k = ka, da[0]
			}
			kernels.Gemm(ta, tb, m, cols, k, 1, a, ka, b, nn, 0, out, cols)
			return
		}
		count := prod(da[:ra-2])
		r, c := da[ra-2], da[ra-1]
		mm, k := r, c
		if ta {
			mm, k = c, r
		}
		sa, sb, sc := r*c, kb*nn, mm*cols
		for i := 0; i < count; i++ {
			kernels.Gemm(ta, tb, mm, cols, k, 1, a[i*sa:(i+1)*sa], c, b[i*sb:(i+1)*sb], nn, 0, out[i*sc:(i+1)*sc], cols)
		}
	}, nil
}

// alongAxis runs softmax, log-softmax and their gradients.
func (m *Machine[T]) alongAxis(v *ir.Value, out []T, osh *shape) (func(int), error) {
	k, _ := ir.NormAxis(v.Attrs.Int("dim", -1), v.Type.Shape.Rank())
	x := m.f[v.Args[0].ID]
	var y []T
	if len(v.Args) == 2 {
		y = m.f[v.Args[1].ID]
	}
	op := v.Op
	return func(n int) {
		o, d, in := axis(osh.at(n), k)
		s := o * d * in
		switch op {
		case ir.OpSoftmax:
			kernels.Softmax(out[:s], x[:s], o, d, in)
		case ir.OpLogSoftmax:
			kernels.LogSoftmax(out[:s], x[:s], o, d, in)
		case ir.OpSoftmaxGrad:
			kernels.SoftmaxBackward(out[:s], x[:s], y[:s], o, d, in)
		case ir.OpLogSoftmaxGrad:
			kernels.LogSoftmaxBackward(out[:s], x[:s], y[:s], o, d, in)
		}
	}, nil
}

// classLoss runs the losses over class indices, their gradients and the
// count of correct predictions.
func (m *Machine[T]) classLoss(v *ir.Value, out []T) (func(int), error) {
	grad := v.Op == ir.OpNLLLossGrad || v.Op == ir.OpSoftmaxCrossEntropyGrad
	first := 0
	var dloss []T
	if grad {
		dloss, first = m.f[v.Args[0].ID], 1
	}
	x := m.f[v.Args[first].ID]
	y := m.i32[v.Args[first+1].ID]
	c := v.Args[first].Type.Shape[1]
	switch v.Op {
	case ir.OpNLLLoss:
		return func(n int) { out[0] = T(kernels.NLLLoss(nil, x, y, n, c, 0)) }, nil
	case ir.OpNLLLossGrad:
		return func(n int) { kernels.NLLLoss(out, x, y, n, c, float64(dloss[0])) }, nil
	case ir.OpSoftmaxCrossEntropy:
		if g := m.g.CrossEntropyGrad(v); g != nil {
			// The gradient of the same logits and targets comes later in
			// the step: compute it with the loss, in one pass over the
			// exponentials, into a buffer of its own (the arena slot of the
			// gradient may hold another value until then).
			grad := make([]T, len(x))
			m.shared[g.ID] = grad
			return func(n int) { l, _ := kernels.CrossEntropy(grad, x, y, n, c); out[0] = T(l) }, nil
		}
		return func(n int) { l, _ := kernels.CrossEntropy(nil, x, y, n, c); out[0] = T(l) }, nil
	case ir.OpSoftmaxCrossEntropyGrad:
		if grad := m.shared[v.ID]; grad != nil {
			return func(n int) {
				copy(out[:n*c], grad[:n*c])
				if d := dloss[0]; d != 1 {
					kernels.Scale(out[:n*c], d, out[:n*c])
				}
			}, nil
		}
		return func(n int) {
			kernels.CrossEntropy(out, x, y, n, c)
			if d := dloss[0]; d != 1 {
				kernels.Scale(out[:n*c], d, out[:n*c])
			}
		}, nil
	}
	// OpCorrect.
	pred := make([]int32, m.cap)
	count := m.i32[v.ID]
	return func(n int) {
		kernels.Argmax(pred, x, n, c)
		hit := int32(0)
		for i, p := range pred[:n] {
			if p == y[i] {
				hit++
			}
		}
		count[0] = hit
	}, nil
}

// valueLoss runs the losses over float targets, their gradients and the
// count of correct binary predictions.
func (m *Machine[T]) valueLoss(v *ir.Value, out []T) (func(int), error) {
	grad := v.Op == ir.OpMSELossGrad || v.Op == ir.OpBCEWithLogitsLossGrad
	first := 0
	var dloss []T
	if grad {
		dloss, first = m.f[v.Args[0].ID], 1
	}
	x, t := m.f[v.Args[first].ID], m.f[v.Args[first+1].ID]
	xsh := newShape(v.Args[first].Type.Shape)
	scale := func(s int) {
		if d := dloss[0]; d != 1 {
			kernels.Scale(out[:s], d, out[:s])
		}
	}
	switch v.Op {
	case ir.OpMSELoss:
		return func(n int) { s := prod(xsh.at(n)); out[0] = T(kernels.MSE(nil, x[:s], t[:s])) }, nil
	case ir.OpMSELossGrad:
		return func(n int) { s := prod(xsh.at(n)); kernels.MSE(out[:s], x[:s], t[:s]); scale(s) }, nil
	case ir.OpBCEWithLogitsLoss:
		return func(n int) { s := prod(xsh.at(n)); out[0] = T(kernels.BCEWithLogits(nil, x[:s], t[:s])) }, nil
	case ir.OpBCEWithLogitsLossGrad:
		return func(n int) { s := prod(xsh.at(n)); kernels.BCEWithLogits(out[:s], x[:s], t[:s]); scale(s) }, nil
	}
	// OpCorrectBinary: a logit above 0 predicts class 1.
	count := m.i32[v.ID]
	return func(n int) {
		s := prod(xsh.at(n))
		hit := int32(0)
		for i, z := range x[:s] {
			if (z > 0) == (t[i] > 0.5) {
				hit++
			}
		}
		count[0] = hit
	}, nil
}

// update runs the optimizer ops.
func (m *Machine[T]) update(v *ir.Value, out []T) (func(int), error) {
	a := v.Attrs
	f := func(i int) []T { return m.f[v.Args[i].ID] }
	switch v.Op {
	case ir.OpSGDBuf:
		buf, g, p, step := f(0), f(1), f(2), m.i64[v.Args[3].ID]
		mom, damp, wd := a.Float("momentum", 0), a.Float("dampening", 0), a.Float("weight_decay", 0)
		return func(int) { kernels.SGDBuf(out, buf, g, p, mom, damp, wd, step[0] == 1) }, nil
	case ir.OpSGDStep:
		p, g := f(0), f(1)
		var buf []T
		if len(v.Args) == 3 {
			buf = f(2)
		}
		lr, mom, wd, nest := a.Float("lr", 0), a.Float("momentum", 0), a.Float("weight_decay", 0), a.Bool("nesterov")
		return func(int) { kernels.SGDStep(out, p, g, buf, lr, mom, wd, nest) }, nil
	case ir.OpAdamM:
		mm, g, p := f(0), f(1), f(2)
		b1, wd := a.Float("beta1", 0.9), a.Float("weight_decay", 0)
		return func(int) { kernels.AdamM(out, mm, g, p, b1, wd) }, nil
	case ir.OpAdamV:
		vv, g, p := f(0), f(1), f(2)
		b2, wd := a.Float("beta2", 0.999), a.Float("weight_decay", 0)
		return func(int) { kernels.AdamV(out, vv, g, p, b2, wd) }, nil
	}
	p, mm, vv, step := f(0), f(1), f(2), m.i64[v.Args[3].ID]
	lr, b1, b2, eps, wd, dec := a.Float("lr", 0), a.Float("beta1", 0.9), a.Float("beta2", 0.999), a.Float("eps", 1e-8), a.Float("weight_decay", 0), a.Bool("decoupled")
	return func(int) { kernels.AdamStep(out, p, mm, vv, int(step[0]), lr, b1, b2, eps, wd, dec) }, nil
}

func (m *Machine[T]) conv(v *ir.Value, out []T) (func(int), error) {
	x, w := m.f[v.Args[0].ID], m.f[v.Args[1].ID]
	var b []T
	if len(v.Args) == 3 {
		b = m.f[v.Args[2].ID]
	}
	xs, ws := v.Args[0].Type.Shape, v.Args[1].Type.Shape
	s := kernels.ConvShape{C: xs[1], H: xs[2], W: xs[3], K: ws[0], KH: ws[2], KW: ws[3], Stride: v.Attrs.Int("stride", 1), Pad: v.Attrs.Int("padding", 0)}
	col := make([]T, s.ColSize())
	return func(n int) {
		s.N = n
		kernels.Conv2d(out, x, w, b, col, s)
	}, nil
}
