package ir

// The VJP column of the op table: each rule emits IR for the gradients of
// an op's arguments. A rule keeps the position of the forward value it
// differentiates, so errors and profiles of backward code point at the
// user's line.

func init() {
	vjps := map[Op]func(g *Graph, v, dy *Value) []*Value{
		OpAdd:     vjpAdd,
		OpSub:     vjpSub,
		OpMul:     vjpMul,
		OpDiv:     vjpDiv,
		OpNeg:     func(g *Graph, v, dy *Value) []*Value { return []*Value{g.NewValue(OpNeg, nil, v.Pos, dy)} },
		OpRelu:    outGrad(OpReluGrad),
		OpSigmoid: outGrad(OpSigmoidGrad),
		OpTanh:    outGrad(OpTanhGrad),
		OpGelu: func(g *Graph, v, dy *Value) []*Value {
			var attrs Attrs // the default form prints as before
			if a := v.AttrString("approximate"); a != "none" {
				attrs = Attrs{{"approximate", a}}
			}
			return []*Value{g.NewValue(OpGeluGrad, attrs, v.Pos, dy, v.Args[0])}
		},
		OpSoftmax:    axisGrad(OpSoftmaxGrad),
		OpLogSoftmax: axisGrad(OpLogSoftmaxGrad),
		OpMatMul:     vjpMatMul,
		OpSum:        vjpSum,
		OpMean:       vjpSum,
		OpSumAll: func(g *Graph, v, dy *Value) []*Value {
			return []*Value{g.NewDeclared(OpBroadcastTo, v.Args[0].Type, nil, v.Pos, dy)}
		},
		OpReshape: func(g *Graph, v, dy *Value) []*Value {
			return []*Value{g.NewDeclared(OpReshape, v.Args[0].Type, nil, v.Pos, dy)}
		},
		OpConv2d: vjpConv2d,
		OpMaxPool2d: func(g *Graph, v, dy *Value) []*Value {
			return []*Value{g.NewValue(OpMaxPool2dGrad, v.Attrs, v.Pos, dy, v.Args[0])}
		},
		OpBatchNormTrain: func(g *Graph, v, dy *Value) []*Value {
			x, w := v.Args[0], v.Args[1]
			eps := Attrs{{"eps", v.AttrFloat("eps")}}
			return []*Value{
				g.NewValue(OpBatchNormGradInput, eps, v.Pos, dy, x, w),
				g.NewValue(OpBatchNormGradWeight, eps, v.Pos, dy, x, w),
				g.NewValue(OpChannelSum, nil, v.Pos, dy),
			}
		},
		// Evaluation mode, which only explanations differentiate: the
		// input's gradient is dy·weight/√(running_var + eps) per channel,
		// batch norm itself over dy with a zero mean and bias. The
		// statistics and parameters get none (they are not trained here).
		OpBatchNorm: func(g *Graph, v, dy *Value) []*Value {
			w, rv := v.Args[1], v.Args[4]
			zero := g.NewDeclared(OpConst, Type{DType: w.Type.DType, Shape: Shape{}}, Attrs{{"value", 0.0}}, v.Pos)
			zeros := g.NewDeclared(OpBroadcastTo, w.Type, nil, v.Pos, zero)
			return []*Value{g.NewValue(OpBatchNorm, Attrs{{"eps", v.AttrFloat("eps")}}, v.Pos, dy, w, zeros, zeros, rv)}
		},
		OpEmbedding: func(g *Graph, v, dy *Value) []*Value {
			return []*Value{nil, g.NewValue(OpEmbeddingGrad, nil, v.Pos, dy, v.Args[0], v.Args[1])}
		},
		OpLayerNorm: func(g *Graph, v, dy *Value) []*Value {
			x, w := v.Args[0], v.Args[1]
			return []*Value{
				g.NewValue(OpLayerNormGradInput, nil, v.Pos, dy, x, w, v),
				g.NewValue(OpLayerNormGradWeight, nil, v.Pos, dy, x, v),
				reduce(g, v, dy, v.Args[2]),
			}
		},
		OpNLLLoss:             lossGrad(OpNLLLossGrad),
		OpSoftmaxCrossEntropy: lossGrad(OpSoftmaxCrossEntropyGrad),
		OpMSELoss:             lossGrad(OpMSELossGrad),
		OpBCEWithLogitsLoss:   lossGrad(OpBCEWithLogitsLossGrad),
	}
	// Scaled dot-product attention: dv = Pᵀ dy; the scores' gradient dS
	// (already divided by √E) gives dq = dS k and dk = dSᵀ q.
	vjps[OpAttention] = vjpAttention
	// Attention written out by hand (issue 14).
	vjps[OpTranspose] = func(g *Graph, v, dy *Value) []*Value {
		return []*Value{g.NewValue(OpTranspose, Attrs{{"d0", v.AttrInt("d0")}, {"d1", v.AttrInt("d1")}}, v.Pos, dy)}
	}
	for op, f := range vjps {
		opTable[op].VJP = f
	}
	for _, op := range []Op{OpCorrect, OpCorrectBinary, OpDropoutMask, OpIncrement, OpSGDBuf, OpSGDStep, OpAdamM, OpAdamV, OpAdamStep, OpRunningMean, OpRunningVar} {
		opTable[op].NoGrad = true
	}
	// Gradient clipping (clip_grad_norm) runs after the backward pass.
	opTable[OpGradSqNorm].NoGrad = true
	opTable[OpClipGrad].NoGrad = true
}

// reduce sums a gradient of the broadcast result's shape down to the shape
// of the argument it flows to.
func reduce(g *Graph, v, grad, arg *Value) *Value {
	if grad.Type.Shape.Equal(arg.Type.Shape) {
		return grad
	}
	return g.NewDeclared(OpSumTo, arg.Type, nil, v.Pos, grad)
}

func vjpAdd(g *Graph, v, dy *Value) []*Value {
	return []*Value{reduce(g, v, dy, v.Args[0]), reduce(g, v, dy, v.Args[1])}
}

func vjpSub(g *Graph, v, dy *Value) []*Value {
	neg := g.NewValue(OpNeg, nil, v.Pos, dy)
	return []*Value{reduce(g, v, dy, v.Args[0]), reduce(g, v, neg, v.Args[1])}
}

func vjpMul(g *Graph, v, dy *Value) []*Value {
	a, b := v.Args[0], v.Args[1]
	return []*Value{
		reduce(g, v, g.NewValue(OpMul, nil, v.Pos, dy, b), a),
		reduce(g, v, g.NewValue(OpMul, nil, v.Pos, dy, a), b),
	}
}

// vjpDiv: d(a/b) = da/b − a·db/b², written as −(dy·v)/b to reuse v = a/b.
func vjpDiv(g *Graph, v, dy *Value) []*Value {
	a, b := v.Args[0], v.Args[1]
	da := g.NewValue(OpDiv, nil, v.Pos, dy, b)
	db := g.NewValue(OpNeg, nil, v.Pos, g.NewValue(OpDiv, nil, v.Pos, g.NewValue(OpMul, nil, v.Pos, dy, v), b))
	return []*Value{reduce(g, v, da, a), reduce(g, v, db, b)}
}

// outGrad is the rule of an activation whose derivative is computed from
// its output: relu, sigmoid, tanh.
func outGrad(op Op) func(g *Graph, v, dy *Value) []*Value {
	return func(g *Graph, v, dy *Value) []*Value { return []*Value{g.NewValue(op, nil, v.Pos, dy, v)} }
}

func axisGrad(op Op) func(g *Graph, v, dy *Value) []*Value {
	return func(g *Graph, v, dy *Value) []*Value {
		return []*Value{g.NewValue(op, Attrs{{"dim", v.AttrInt("dim")}}, v.Pos, dy, v)}
	}
}

func lossGrad(op Op) func(g *Graph, v, dy *Value) []*Value {
	return func(g *Graph, v, dy *Value) []*Value {
		return []*Value{g.NewValue(op, nil, v.Pos, dy, v.Args[0], v.Args[1]), nil}
	}
}

// vjpSum broadcasts dy back over the reduced axis (scaled by 1/n for mean).
func vjpSum(g *Graph, v, dy *Value) []*Value {
	x := v.Args[0]
	d, _ := NormAxis(v.AttrInt("dim"), x.Type.Shape.Rank())
	kept := x.Type.Shape.Clone()
	kept[d] = 1
	r := g.NewDeclared(OpReshape, Type{DType: dy.Type.DType, Shape: kept}, nil, v.Pos, dy)
	grad := g.NewDeclared(OpBroadcastTo, x.Type, nil, v.Pos, r)
	if v.Op == OpMean {
		c := g.NewDeclared(OpConst, Type{DType: dy.Type.DType, Shape: Shape{}}, Attrs{{"value", 1 / float64(x.Type.Shape[d])}}, v.Pos)
		grad = g.NewValue(OpMul, nil, v.Pos, grad, c)
	}
	return []*Value{grad}
}

// vjpMatMul: for C = op(A)·op(B), dA = dC·op(B)ᵀ and dB = op(A)ᵀ·dC, each
// folded into the transpose flags of one product. A left operand with
// leading dimensions (rows) takes MatMulTN for the right operand's gradient.
func vjpMatMul(g *Graph, v, dy *Value) []*Value {
	a, b := v.Args[0], v.Args[1]
	ta, tb := v.AttrBool("ta"), v.AttrBool("tb")
	flags := func(ta, tb bool) Attrs {
		var as Attrs
		if ta {
			as = append(as, Attr{"ta", true})
		}
		if tb {
			as = append(as, Attr{"tb", true})
		}
		return as
	}
	var da, db *Value
	if !ta {
		da = g.NewValue(OpMatMul, flags(false, !tb), v.Pos, dy, b)
	} else {
		da = g.NewValue(OpMatMul, flags(tb, true), v.Pos, b, dy)
	}
	rows := b.Type.Shape.Rank() == 2 && a.Type.Shape.Rank() > 2
	switch {
	case rows && !tb:
		db = g.NewValue(OpMatMulTN, nil, v.Pos, a, dy)
	case rows:
		db = g.NewValue(OpMatMulTN, nil, v.Pos, dy, a)
	case !tb:
		db = g.NewValue(OpMatMul, flags(!ta, false), v.Pos, a, dy)
	default:
		db = g.NewValue(OpMatMul, flags(true, ta), v.Pos, dy, a)
	}
	return []*Value{da, db}
}

func vjpConv2d(g *Graph, v, dy *Value) []*Value {
	x, w := v.Args[0], v.Args[1]
	attrs := Attrs{{"stride", v.AttrInt("stride")}, {"padding", v.AttrInt("padding")}}
	grads := []*Value{
		g.NewValue(OpConv2dGradInput, attrs, v.Pos, dy, x, w),
		g.NewValue(OpConv2dGradWeight, attrs, v.Pos, dy, x, w),
	}
	if len(v.Args) == 3 {
		grads = append(grads, g.NewValue(OpChannelSum, nil, v.Pos, dy))
	}
	return grads
}

func vjpAttention(g *Graph, v, dy *Value) []*Value {
	q, k, val := v.Args[0], v.Args[1], v.Args[2]
	ds := g.NewValue(OpAttentionGradScores, nil, v.Pos, dy, val, v)
	return []*Value{
		g.NewValue(OpMatMul, nil, v.Pos, ds, k),
		g.NewValue(OpMatMul, Attrs{{"ta", true}}, v.Pos, ds, q),
		g.NewValue(OpAttentionGradV, nil, v.Pos, dy, val, v),
	}
}
