package ir

import (
	"fmt"
	"math"
)

// Op is an operation of the IR. Its row in the op table says what it is:
// its name in the text form, its arity and its shape rule.
type Op uint8

// OpInfo is one row of the op table.
type OpInfo struct {
	Name string
	// Arity is the number of arguments; MinArity < Arity means the last
	// ones are optional (Linear's bias).
	Arity, MinArity int
	// Source ops have no arguments and a declared type: inputs,
	// parameters, buffers, constants.
	Source bool
	// Declared ops carry their result type in the value (Reshape's target
	// shape); the shape rule checks it rather than deriving it.
	Declared bool
	// Shape derives the result type from the argument types and the
	// attributes, or says why it cannot. The declared type is given for
	// Declared ops.
	Shape func(args []Type, attrs Attrs, declared Type) (Type, error)
	// VJP emits the vector-Jacobian product: given the value and the
	// gradient dy of the loss with respect to it, it appends to the graph
	// the gradients with respect to each argument (nil where none flows).
	// Ops without one cannot be trained through. Set in vjp.go.
	VJP func(g *Graph, v, dy *Value) []*Value
	// NoGrad ops have outputs the loss does not depend on through
	// differentiable paths (metrics, masks, state updates).
	NoGrad bool
	// Derived ops never reach the grad pass, so they need no VJP rule:
	// gradients themselves, fused forms and folded batch norm, which
	// passes emit after differentiation, and evaluation-mode forms.
	Derived bool
	// Attrs declares the op's attributes with their defaults (attrspec.go);
	// a value may hold no other.
	Attrs []AttrSpec
	// Lower returns the kernel calls that compute the value (lower.go);
	// sources other than DropoutMask have none.
	Lower func(g *Graph, v *Value) []Call
	// Scratch returns the buffers the calls need besides the value's own,
	// which the memory plan places in the arena; nil for none.
	Scratch func(g *Graph, v *Value) []Scratch
}

// The ops. Their order is the op table's and carries no meaning.
const (
	OpInvalid Op = iota

	// Sources.
	OpInput  // a forward input, named after it
	OpTarget // the training targets of a batch
	OpParam  // a trained parameter, named as in PyTorch's state_dict
	OpBuffer // a state tensor that is not trained (BatchNorm running stats)
	OpConst  // a scalar constant {value}

	// Element-wise, NumPy broadcasting.
	OpAdd
	OpSub
	OpMul
	OpDiv
	OpNeg
	OpRelu
	OpSigmoid
	OpTanh
	OpGelu

	// Linear algebra.
	OpMatMul     // {ta, tb}: op(a) @ op(b), a may have leading dims
	OpLinear     // x @ wᵀ + b, PyTorch's layout: w is [out, in]
	OpLinearRelu // relu(x @ wᵀ + b)

	// Along an axis.
	OpSoftmax    // {dim}
	OpLogSoftmax // {dim}
	OpSum        // {dim}: removes the axis
	OpMean       // {dim}: removes the axis
	OpSumAll     // to a scalar
	OpReshape    // to the declared shape

	// Convolutional layers.
	OpConv2d         // {stride, padding}: x, w [, b]
	OpConv2dRelu     // {stride, padding}: relu(conv2d(x, w, b)), fused
	OpMaxPool2d      // {kernel, stride}
	OpBatchNorm      // {eps}: x, weight, bias, running_mean, running_var
	OpBatchNormTrain // {eps}: x, weight, bias; batch statistics
	OpDropoutMask    // {p}: a mask of 0 and 1/(1-p) of the declared type

	// Sequence layers.
	OpEmbedding // ids (i64), weight [num, dim]: the rows of weight the ids select
	OpLayerNorm // {eps} x [..., d], weight [d], bias [d]: over the last dimension
	OpArange    // {n}: the i64[n] constant 0, 1, ..., n-1 (positions)

	// Losses, mean over the batch, and metrics.
	OpNLLLoss             // log-probabilities, class targets
	OpSoftmaxCrossEntropy // logits, class targets: log_softmax + NLL in one
	OpMSELoss             // prediction, targets
	OpBCEWithLogitsLoss   // logits, targets
	OpCorrect             // logits, class targets: how many argmax hit
	OpCorrectBinary       // logits, 0/1 targets: how many sign(logit) hit

	// Backward ops, emitted by the grad pass through the VJP rules.
	OpReluGrad                // dy, y: dy where y > 0 (y is relu's output)
	OpSigmoidGrad             // dy, y: dy·y·(1−y)
	OpTanhGrad                // dy, y: dy·(1−y²)
	OpGeluGrad                // dy, x
	OpSoftmaxGrad             // {dim} dy, y: y·(dy − Σ dy·y)
	OpLogSoftmaxGrad          // {dim} dy, y: dy − exp(y)·Σ dy
	OpSumTo                   // to the declared shape: the sum over broadcast dimensions
	OpBroadcastTo             // to the declared shape
	OpMatMulTN                // a [L..., k], b [L..., n]: aᵀ·b summed over the leading dimensions
	OpMatMulReluMask          // {ta, tb} a, b, y: op(a)·op(b) where y > 0, else 0: ReluGrad folded into the GEMM
	OpNLLLossGrad             // dloss, log-probabilities, targets
	OpSoftmaxCrossEntropyGrad // dloss, logits, targets: (softmax − onehot)/N·dloss
	OpMSELossGrad             // dloss, prediction, targets
	OpBCEWithLogitsLossGrad   // dloss, logits, targets
	OpConv2dGradInput         // {stride, padding} dy, x, w: the gradient of Conv2d's input
	OpConv2dGradWeight        // {stride, padding} dy, x, w: the gradient of its weight
	OpChannelSum              // dy [N, C, ...]: the sum per channel, a per-channel bias's gradient
	OpMaxPool2dGrad           // {kernel, stride} dy, x: dy routed to each window's maximum
	OpEmbeddingGrad           // dy, ids, weight: dy scattered into the rows of weight the ids selected
	OpLayerNormGradInput      // dy, x, weight, y: the gradient of LayerNorm's input (y is its output)
	OpLayerNormGradWeight     // dy, x, y: the gradient of its weight
	OpBatchNormGradInput      // {eps} dy, x, weight: the gradient of BatchNormTrain's input
	OpBatchNormGradWeight     // {eps} dy, x, weight: the gradient of its weight
	OpRunningMean             // {momentum} running_mean, x: BatchNorm's new running mean
	OpRunningVar              // {momentum} running_var, x: its new running variance (unbiased)

	// Batch norm folded into the preceding layer for inference: the
	// layer's weight scaled per output channel by weight/sqrt(var + eps),
	// and its bias shifted.
	OpBNFoldWeight // {eps} layer weight [C, ...], bn weight, running_var
	OpBNFoldBias   // {eps} layer bias (or a zero Const), bn weight, bn bias, running_mean, running_var

	// Optimizer state and updates, emitted by the optim pass. They follow
	// torch.optim's update rules, one op per tensor written.
	OpState     // optimizer state: a momentum buffer, Adam's moments, the step
	OpIncrement // step + 1
	OpSGDBuf    // {momentum, dampening, weight_decay} buf, grad, param, step: the new momentum buffer
	OpSGDStep   // {lr, momentum, weight_decay, nesterov} param, grad [, buf]: the new parameter
	OpAdamM     // {beta1, weight_decay} m, grad, param: the new first moment
	OpAdamV     // {beta2, weight_decay} v, grad, param: the new second moment
	OpAdamStep  // {lr, beta1, beta2, eps, weight_decay, decoupled} param, m, v, step

	// Gradient clipping (train key clip_grad_norm), emitted by the optim
	// pass as a chain: GradSqNorm folds each gradient's sum of squares into
	// a running f64 scalar total, whatever the model's element type;
	// ClipGrad scales a gradient by min(1, max_norm / (sqrt(total) + 1e-6)).
	OpGradSqNorm // grad [, total]: total + Σ grad², an f64 scalar
	OpClipGrad   // {max_norm} grad, total: grad scaled as torch.nn.utils.clip_grad_norm_
	// Scaled dot-product attention (issue 14), one fused op and its
	// backward ops. The softmax probabilities stay in a scratch buffer of
	// the forward op until the backward ops have read them.
	OpAttention           // {causal} q [..., L, E], k [..., S, E], v [..., S, Ev]: softmax(q kᵀ/√E, masked above the diagonal when causal) v
	OpAttentionGradV      // dy, v, y: Pᵀ dy, the gradient of v (y is the Attention value)
	OpAttentionGradScores // dy, v, y: P ∘ (dP − rowsum(dP ∘ P)) / √E with dP = dy vᵀ, the gradient of the scaled scores q kᵀ/√E times 1/√E
	// Attention written out by hand (issue 14).
	OpTranspose // {d0, d1}: x with two axes swapped, as torch.transpose
	// The one-position step graph of sampling with a KV cache
	// (passes.KVStep): the cache is State, pos an i64[1] State.
	OpKVCacheWrite  // cache [..., S, E], x [..., 1, E], pos: cache with row pos replaced by x
	OpAttentionStep // q [..., 1, E], k [..., S, E], v [..., S, Ev], pos: row pos of causal attention over rows 0..pos

	// The ONNX op set (issue 13): each op is ONNX's, named as ONNX names
	// it, with ONNX's attribute names, defaults and semantics (onnx_ops.go).
	// Element-wise on floats, same shape:
	OpExp         // eˣ
	OpLog         // ln x
	OpSqrt        // √x
	OpAbs         // |x|
	OpErf         // erf(x)
	OpSoftplus    // ln(1 + eˣ)
	OpSoftsign    // x/(1 + |x|)
	OpLeakyRelu   // {alpha = 0.01}
	OpElu         // {alpha = 1}
	OpSelu        // {alpha, gamma}: ONNX's defaults
	OpHardSigmoid // {alpha = 0.2, beta = 0.5}: max(0, min(1, alpha·x + beta))
	OpHardSwish   // x·hardsigmoid(x) with alpha 1/6, beta 1/2
	OpClip        // {min = -Inf, max = +Inf} (ONNX's min and max inputs, folded to attributes)
	OpReciprocal  // 1/x
	OpFloor       // ⌊x⌋
	OpCeil        // ⌈x⌉
	OpUnaryGrad   // {of, alpha, beta} dy, x: the gradient of the element-wise op named of
	// Binary with NumPy broadcasting (Min and Max of more inputs are chains):
	OpPow   // a^b, floats
	OpMin   // the smaller, floats
	OpMax   // the larger, floats
	OpPRelu // x, slope (broadcast to x): x, or slope·x where x < 0
	// Comparisons with broadcasting, of floats or i64, giving bool:
	OpEqual
	OpLess
	OpGreater
	OpNot   // bool → bool
	OpWhere // cond (bool), a, b: a where cond, else b; the three broadcast
	OpCast  // {to}: "f32", "f64", "i64", "i32" or "bool" (ONNX's to, by nnc's dtype names)
	// Bool logic with broadcasting, and ONNX's Mod:
	OpAnd
	OpOr
	OpXor
	OpMod // {fmod}: a mod b, of i64 with b's sign (fmod 0) or a's (fmod 1), or of floats with a's (fmod 1)
	// {axis} data, indices (i64, data's rank, negative from the end): the
	// data's entries along axis the indices select, elementwise
	OpGatherElements
	// Reductions over axes (none: all), ONNX's keepdims (1 keeps them as 1):
	OpReduceSum  // {axes, keepdims}: floats or i64
	OpReduceMean // {axes, keepdims}: floats
	OpReduceMax  // {axes, keepdims}: floats or i64
	OpReduceGrad // {axes, mean} dy, x: the gradient of ReduceSum or ReduceMean
	// Data movement, of floats or i64:
	OpConcat // {axis} x1, x2, ...: joined along axis
	OpSlice  // {starts, ends, axes, steps}: ONNX's Slice, bounds clamped, negative steps allowed
	OpGather // {axis} data, indices (i64, negative from the end): data's entries along axis the indices select
	OpExpand // to the declared shape: x broadcast to it (the importer computes ONNX's broadcast of x and shape)
	OpTile   // {repeats}: x repeated along each dimension
	OpPad    // {pads, mode, value}: pads = [begin_0, ..., begin_r-1, end_0, ..., end_r-1], negative to crop; mode "constant", "reflect" or "edge"
	// Convolution and pooling over 1 to 3 spatial dimensions, of floats;
	// lists left empty take ONNX's defaults (strides and dilations 1,
	// pads 0). Conv2d stays the fast, trainable 2-D form.
	OpConv            // {strides, pads, dilations, group} x [N, C, D...], w [M, C/group, K...] [, b [M]]
	OpMaxPool         // {kernel_shape, strides, pads, dilations}
	OpAveragePool     // {kernel_shape, strides, pads, count_include_pad}
	OpSliceGrad       // {starts, ends, axes, steps} dy, x: dy scattered where Slice of x read, 0 elsewhere
	OpGatherGrad      // {axis} dy, indices, data: dy added into the entries of data the indices selected
	OpTileGrad        // dy, x: dy summed over the copies of x
	OpReduceMaxGrad   // {axes} dy, x, y: dy shared among the maxima of x (y is the ReduceMax value)
	OpConvGradInput   // Conv's attributes; dy, x, w: the gradient of Conv's input
	OpConvGradWeight  // Conv's attributes; dy, x, w: the gradient of its weight
	OpMaxPoolGrad     // MaxPool's attributes; dy, x
	OpAveragePoolGrad // AveragePool's attributes; dy, x
	// Indices, triangles and losses (onnx_more.go):
	OpArgMax                        // {axis, keepdims, select_last_index} x, floats or i64: the i64 index of the largest entry along axis
	OpArgMin                        // ArgMax's attributes: of the smallest
	OpTrilu                         // {upper, k} x [..., rows, cols], floats or i64: the lower (upper = 0) or upper triangle from diagonal k, the rest 0
	OpNegativeLogLikelihoodLoss     // {reduction, ignore_index} x [N, C, d...], target i64 [N, d...] [, weight [C]]: −x[n, target, d...]·weight[target], reduced
	OpNegativeLogLikelihoodLossGrad // its attributes; dloss, x, target [, weight]: the gradient of x
	OpReduceProd                    // {axes, keepdims}: floats
	// Int8 inference (issue 15), emitted by passes.Quantize from an int8
	// checkpoint (nnc quantize): activations are u8 with a scale and zero
	// point per tensor, weights i8 per output channel (quant.go).
	OpQuantize   // {scale, zero_point} x: f32 to u8
	OpDequantize // {scale, zero_point} q: u8 to f32
	OpQLinear    // {in_scale, in_zero_point, out_scale, out_zero_point, relu, float} x u8, w i8 packed (kernels.QPackLinear), qbias i32, w_scale: requantized u8 (or f32 when float)
	OpQConv2d    // {stride, padding, in_scale, in_zero_point, out_scale, out_zero_point, relu, float} x u8, w i8, bias i32, w_scale
	OpQMaxPool2d // {kernel, stride} x u8
	OpQAdd       // {a_scale, a_zero_point, b_scale, b_zero_point, out_scale, out_zero_point, relu} a u8, b u8 of one shape: the sum requantized

	// Differentially private SGD (train key privacy), emitted by the dp
	// pass (dp.go): per-example squared gradient norms chained into one
	// [N] total, each example's clipping factor, its δ scaled by it, and
	// the noise on the clipped sum.
	OpRowOuterSqNorm // u [N, ..., m], v [N, ..., k] [, acc [N]]: acc + ‖example i's share of uᵀv‖²
	OpGroupSumSqNorm // {c, inner} x [N, ...] [, acc]: acc + ‖example i summed per channel‖²
	OpConvSqNorm     // {stride, padding} dy, x, w [, acc]: acc + ‖example i's share of Conv2d's weight gradient‖²
	OpClipFactor     // {clip} total [N]: n·min(1, clip/(n·sqrt(total) + 1e-6))
	OpScaleRows      // x [N, ...], f [N]: example i of x times f[i]
	OpDPNoise        // {std, scale} g: (g + N(0, std²))·scale

	numOps
)

var opTable = [numOps]OpInfo{
	OpInvalid: {Name: "Invalid"},

	OpInput:  {Name: "Input", Source: true, Declared: true},
	OpTarget: {Name: "Target", Source: true, Declared: true},
	OpParam:  {Name: "Param", Source: true, Declared: true, Attrs: paramAttrs},
	OpBuffer: {Name: "Buffer", Source: true, Declared: true, Attrs: paramAttrs},
	OpConst:  {Name: "Const", Source: true, Declared: true, Shape: constShape, Attrs: []AttrSpec{need("value", 0.0)}},

	OpAdd:     {Name: "Add", Arity: 2, Shape: arithShape, Lower: lowerBroadcast("Add")},
	OpSub:     {Name: "Sub", Arity: 2, Shape: arithShape, Lower: lowerBroadcast("Sub")},
	OpMul:     {Name: "Mul", Arity: 2, Shape: arithShape, Lower: lowerBroadcast("Mul")},
	OpDiv:     {Name: "Div", Arity: 2, Shape: arithShape, Lower: lowerBroadcast("Div")},
	OpNeg:     {Name: "Neg", Arity: 1, Shape: arithUnaryShape, Lower: lowerUnaryI64("Neg")},
	OpRelu:    {Name: "Relu", Arity: 1, Shape: sameShape, Lower: lowerUnary("Relu")},
	OpSigmoid: {Name: "Sigmoid", Arity: 1, Shape: sameShape, Lower: lowerUnary("Sigmoid")},
	OpTanh:    {Name: "Tanh", Arity: 1, Shape: sameShape, Lower: lowerUnary("Tanh")},
	OpGelu:    {Name: "Gelu", Arity: 1, Shape: geluShape, Lower: lowerGelu("Gelu"), Attrs: geluAttrs},

	OpMatMul:     {Name: "MatMul", Arity: 2, Shape: matmulShape, Lower: lowerMatMul, Attrs: matmulAttrs},
	OpLinear:     {Name: "Linear", Arity: 3, MinArity: 2, Shape: linearShape, Lower: lowerLinear(false), Derived: true},
	OpLinearRelu: {Name: "LinearRelu", Arity: 3, MinArity: 2, Shape: linearShape, Lower: lowerLinear(true), Derived: true},

	OpSoftmax:    {Name: "Softmax", Arity: 1, Shape: axisSameShape, Lower: lowerAxis("Softmax"), Attrs: dimAttrs},
	OpLogSoftmax: {Name: "LogSoftmax", Arity: 1, Shape: axisSameShape, Lower: lowerAxis("LogSoftmax"), Attrs: dimAttrs},
	OpSum:        {Name: "Sum", Arity: 1, Shape: reduceShape, Lower: lowerReduce("Sum"), Attrs: dimAttrs},
	OpMean:       {Name: "Mean", Arity: 1, Shape: meanShape, Lower: lowerReduce("Mean"), Attrs: dimAttrs},
	OpSumAll:     {Name: "SumAll", Arity: 1, Shape: scalarShape, Lower: lowerSumAll},
	OpReshape:    {Name: "Reshape", Arity: 1, Declared: true, Shape: reshapeShape, Lower: lowerReshape},

	OpConv2d:         {Name: "Conv2d", Arity: 3, MinArity: 2, Shape: conv2dShape, Lower: lowerConv(false), Scratch: scratchConv(0), Attrs: convAttrs},
	OpConv2dRelu:     {Name: "Conv2dRelu", Arity: 3, MinArity: 2, Shape: conv2dShape, Lower: lowerConv(true), Scratch: scratchConv(0), Derived: true, Attrs: convAttrs},
	OpMaxPool2d:      {Name: "MaxPool2d", Arity: 1, Shape: maxPoolShape, Lower: lowerMaxPool, Scratch: scratchPool, Attrs: poolAttrs},
	OpBatchNorm:      {Name: "BatchNorm", Arity: 5, Shape: batchNormShape, Lower: lowerBatchNorm, Attrs: normAttrs},
	OpBatchNormTrain: {Name: "BatchNormTrain", Arity: 3, Shape: batchNormShape, Lower: lowerBatchNormTrain, Scratch: perChannel(4, 0), Attrs: normAttrs},
	OpEmbedding:      {Name: "Embedding", Arity: 2, Shape: embeddingShape, Lower: lowerEmbedding},
	OpLayerNorm:      {Name: "LayerNorm", Arity: 3, Shape: layerNormShape, Lower: lowerLayerNorm, Scratch: scratchLayerNorm, Attrs: epsAttrs},
	OpArange:         {Name: "Arange", Shape: arangeShape, Lower: lowerArange, NoGrad: true, Attrs: []AttrSpec{need("n", 0)}},
	OpDropoutMask:    {Name: "DropoutMask", Source: true, Declared: true, Shape: dropoutShape, Lower: lowerDropoutMask, Attrs: []AttrSpec{need("p", 0.0)}},

	OpNLLLoss:             {Name: "NLLLoss", Arity: 2, Shape: classLossShape, Lower: lowerClassLoss("NLLLossOut")},
	OpSoftmaxCrossEntropy: {Name: "SoftmaxCrossEntropy", Arity: 2, Shape: classLossShape, Lower: lowerCrossEntropy, Scratch: scratchCrossEntropy},
	OpMSELoss:             {Name: "MSELoss", Arity: 2, Shape: valueLossShape, Lower: lowerValueLoss("MSELoss")},
	OpBCEWithLogitsLoss:   {Name: "BCEWithLogitsLoss", Arity: 2, Shape: valueLossShape, Lower: lowerValueLoss("BCEWithLogitsLoss")},
	OpCorrect:             {Name: "Correct", Arity: 2, Shape: correctShape, Lower: lowerCorrect, Scratch: scratchCorrect},
	OpCorrectBinary:       {Name: "CorrectBinary", Arity: 2, Shape: correctShape, Lower: lowerValueLoss("CountCorrectBinary")},

	OpReluGrad:                {Name: "ReluGrad", Arity: 2, Shape: gradShape, Lower: lowerBinary("ReluBackward"), Derived: true},
	OpSigmoidGrad:             {Name: "SigmoidGrad", Arity: 2, Shape: gradShape, Lower: lowerBinary("SigmoidBackward"), Derived: true},
	OpTanhGrad:                {Name: "TanhGrad", Arity: 2, Shape: gradShape, Lower: lowerBinary("TanhBackward"), Derived: true},
	OpGeluGrad:                {Name: "GeluGrad", Arity: 2, Shape: geluGradShape, Lower: lowerGelu("GeluBackward"), Derived: true, Attrs: geluAttrs},
	OpSoftmaxGrad:             {Name: "SoftmaxGrad", Arity: 2, Shape: axisGradShape, Lower: lowerAxis("SoftmaxBackward"), Derived: true, Attrs: dimAttrs},
	OpLogSoftmaxGrad:          {Name: "LogSoftmaxGrad", Arity: 2, Shape: axisGradShape, Lower: lowerAxis("LogSoftmaxBackward"), Derived: true, Attrs: dimAttrs},
	OpSumTo:                   {Name: "SumTo", Arity: 1, Declared: true, Shape: sumToShape, Lower: lowerShaped("ReduceTo"), Derived: true},
	OpBroadcastTo:             {Name: "BroadcastTo", Arity: 1, Declared: true, Shape: broadcastToShape, Lower: lowerShaped("BroadcastTo"), Derived: true},
	OpMatMulTN:                {Name: "MatMulTN", Arity: 2, Shape: matmulTNShape, Lower: lowerMatMulTN, Derived: true},
	OpMatMulReluMask:          {Name: "MatMulReluMask", Arity: 3, Shape: matmulMaskShape, Lower: lowerMatMulReluMask, Derived: true, Attrs: matmulAttrs},
	OpNLLLossGrad:             {Name: "NLLLossGrad", Arity: 3, Shape: lossGradShape, Lower: lowerClassLoss("NLLLossGrad"), Derived: true},
	OpSoftmaxCrossEntropyGrad: {Name: "SoftmaxCrossEntropyGrad", Arity: 3, Shape: lossGradShape, Lower: lowerCrossEntropyGrad, Derived: true},
	OpMSELossGrad:             {Name: "MSELossGrad", Arity: 3, Shape: lossGradShape, Lower: lowerValueLoss("MSELossGrad"), Derived: true},
	OpBCEWithLogitsLossGrad:   {Name: "BCEWithLogitsLossGrad", Arity: 3, Shape: lossGradShape, Lower: lowerValueLoss("BCEWithLogitsLossGrad"), Derived: true},
	OpConv2dGradInput:         {Name: "Conv2dGradInput", Arity: 3, Shape: convGradShape(1), Lower: lowerConvGrad(true), Scratch: scratchConv(1), Derived: true, Attrs: convAttrs},
	OpConv2dGradWeight:        {Name: "Conv2dGradWeight", Arity: 3, Shape: convGradShape(2), Lower: lowerConvGrad(false), Scratch: scratchConv(1), Derived: true, Attrs: convAttrs},
	OpChannelSum:              {Name: "ChannelSum", Arity: 1, Shape: channelSumShape, Lower: lowerChannelSum, Derived: true},
	OpMaxPool2dGrad:           {Name: "MaxPool2dGrad", Arity: 2, Shape: maxPoolGradShape, Lower: lowerMaxPoolGrad, Scratch: scratchPoolGrad, Derived: true, Attrs: poolAttrs},
	OpEmbeddingGrad:           {Name: "EmbeddingGrad", Arity: 3, Shape: embeddingGradShape, Lower: lowerEmbeddingGrad, Derived: true},
	OpLayerNormGradInput:      {Name: "LayerNormGradInput", Arity: 4, Shape: layerNormGradShape(1), Lower: lowerLayerNormGradInput, Derived: true},
	OpLayerNormGradWeight:     {Name: "LayerNormGradWeight", Arity: 3, Shape: layerNormGradShape(-1), Lower: lowerLayerNormGradWeight, Derived: true},
	OpBatchNormGradInput:      {Name: "BatchNormGradInput", Arity: 3, Shape: bnGradShape(1), Lower: lowerBatchNormGrad(true), Scratch: perChannel(2, 1), Derived: true, Attrs: epsAttrs},
	OpBatchNormGradWeight:     {Name: "BatchNormGradWeight", Arity: 3, Shape: bnGradShape(2), Lower: lowerBatchNormGrad(false), Scratch: perChannel(2, 1), Derived: true, Attrs: epsAttrs},
	OpRunningMean:             {Name: "RunningMean", Arity: 2, Shape: runningShape, Lower: lowerRunning("RunningMean"), Attrs: runningAttrs},
	OpRunningVar:              {Name: "RunningVar", Arity: 2, Shape: runningShape, Lower: lowerRunning("RunningVar"), Attrs: runningAttrs},
	OpBNFoldWeight:            {Name: "BNFoldWeight", Arity: 3, Shape: foldWeightShape, Lower: lowerBNFoldWeight, Derived: true, Attrs: epsAttrs},
	OpBNFoldBias:              {Name: "BNFoldBias", Arity: 5, Shape: foldBiasShape, Lower: lowerBNFoldBias, Derived: true, Attrs: epsAttrs},

	OpState:     {Name: "State", Source: true, Declared: true},
	OpIncrement: {Name: "Increment", Arity: 1, Shape: incrementShape, Lower: lowerUnary("Increment")},
	OpSGDBuf:    {Name: "SGDBuf", Arity: 4, Shape: updateShape, Lower: lowerSGDBuf, Attrs: []AttrSpec{attr("momentum", 0.0), attr("dampening", 0.0), attr("weight_decay", 0.0)}},
	OpSGDStep:   {Name: "SGDStep", Arity: 3, MinArity: 2, Shape: updateShape, Lower: lowerSGDStep, Attrs: []AttrSpec{need("lr", 0.0), attr("momentum", 0.0), attr("weight_decay", 0.0), attr("nesterov", false)}},
	OpAdamM:     {Name: "AdamM", Arity: 3, Shape: updateShape, Lower: lowerAdamMoment("AdamM", "beta1"), Attrs: []AttrSpec{attr("beta1", 0.9), attr("weight_decay", 0.0)}},
	OpAdamV:     {Name: "AdamV", Arity: 3, Shape: updateShape, Lower: lowerAdamMoment("AdamV", "beta2"), Attrs: []AttrSpec{attr("beta2", 0.999), attr("weight_decay", 0.0)}},
	OpAdamStep:  {Name: "AdamStep", Arity: 4, Shape: updateShape, Lower: lowerAdamStep, Attrs: []AttrSpec{need("lr", 0.0), attr("beta1", 0.9), attr("beta2", 0.999), attr("eps", 1e-8), attr("weight_decay", 0.0), attr("decoupled", false)}},

	// Gradient clipping (clip_grad_norm).
	OpGradSqNorm: {Name: "GradSqNorm", Arity: 2, MinArity: 1, Shape: gradSqNormShape, Lower: lowerGradSqNorm},
	OpClipGrad:   {Name: "ClipGrad", Arity: 2, Shape: clipGradShape, Lower: lowerClipGrad, Attrs: []AttrSpec{need("max_norm", 0.0)}},
	// Scaled dot-product attention.
	OpAttention:           {Name: "Attention", Arity: 3, Shape: attentionShape, Lower: lowerAttention, Scratch: scratchAttention, Attrs: []AttrSpec{attr("causal", false)}},
	OpAttentionGradV:      {Name: "AttentionGradV", Arity: 3, Shape: attentionGradShape(false), Lower: lowerAttentionGradV, Derived: true},
	OpAttentionGradScores: {Name: "AttentionGradScores", Arity: 3, Shape: attentionGradShape(true), Lower: lowerAttentionGradScores, Derived: true},
	// Attention written out by hand (issue 14).
	OpTranspose: {Name: "Transpose", Arity: 1, Shape: transposeShape, Lower: lowerTranspose, Attrs: []AttrSpec{need("d0", 0), need("d1", 0)}},
	// Sampling's step graph (KV cache).
	OpKVCacheWrite:  {Name: "KVCacheWrite", Arity: 3, Shape: kvCacheWriteShape, Lower: lowerKVCacheWrite, NoGrad: true},
	OpAttentionStep: {Name: "AttentionStep", Arity: 4, Shape: attentionStepShape, Lower: lowerAttentionStep, Scratch: scratchAttentionStep, NoGrad: true},

	// The ONNX op set (issue 13).
	OpExp:         {Name: "Exp", Arity: 1, Shape: floatShape, Lower: lowerUnary("Exp")},
	OpLog:         {Name: "Log", Arity: 1, Shape: floatShape, Lower: lowerUnary("Log")},
	OpSqrt:        {Name: "Sqrt", Arity: 1, Shape: floatShape, Lower: lowerUnary("Sqrt")},
	OpAbs:         {Name: "Abs", Arity: 1, Shape: arithUnaryShape, Lower: lowerUnaryI64("Abs")},
	OpErf:         {Name: "Erf", Arity: 1, Shape: floatShape, Lower: lowerUnary("Erf")},
	OpSoftplus:    {Name: "Softplus", Arity: 1, Shape: floatShape, Lower: lowerUnary("Softplus")},
	OpSoftsign:    {Name: "Softsign", Arity: 1, Shape: floatShape, Lower: lowerUnary("Softsign")},
	OpLeakyRelu:   {Name: "LeakyRelu", Arity: 1, Shape: floatShape, Lower: lowerUnaryAttrs("LeakyRelu", "alpha"), Attrs: []AttrSpec{attr("alpha", 0.01)}},
	OpElu:         {Name: "Elu", Arity: 1, Shape: floatShape, Lower: lowerUnaryAttrs("Elu", "alpha"), Attrs: []AttrSpec{attr("alpha", 1.0)}},
	OpSelu:        {Name: "Selu", Arity: 1, Shape: floatShape, Lower: lowerUnaryAttrs("Selu", "alpha", "gamma"), Attrs: []AttrSpec{attr("alpha", 1.67326319217681884765625), attr("gamma", 1.05070102214813232421875)}},
	OpHardSigmoid: {Name: "HardSigmoid", Arity: 1, Shape: floatShape, Lower: lowerUnaryAttrs("HardSigmoid", "alpha", "beta"), Attrs: []AttrSpec{attr("alpha", 0.2), attr("beta", 0.5)}},
	OpHardSwish:   {Name: "HardSwish", Arity: 1, Shape: floatShape, Lower: lowerUnary("HardSwish")},
	OpClip:        {Name: "Clip", Arity: 1, Shape: clipShape, Lower: lowerUnaryAttrs("Clip", "min", "max"), Attrs: []AttrSpec{attr("min", math.Inf(-1)), attr("max", math.Inf(1))}},
	OpReciprocal:  {Name: "Reciprocal", Arity: 1, Shape: floatShape, Lower: lowerUnary("Reciprocal")},
	OpFloor:       {Name: "Floor", Arity: 1, Shape: floatShape, Lower: lowerUnary("Floor")},
	OpCeil:        {Name: "Ceil", Arity: 1, Shape: floatShape, Lower: lowerUnary("Ceil")},
	OpUnaryGrad:   {Name: "UnaryGrad", Arity: 2, Shape: unaryGradShape, Lower: lowerUnaryGrad, Derived: true, Attrs: []AttrSpec{need("of", ""), attr("alpha", 0.0), attr("beta", 0.0)}},

	OpPow:   {Name: "Pow", Arity: 2, Shape: floatBroadcastShape, Lower: lowerBroadcastOnly("Pow")},
	OpMin:   {Name: "Min", Arity: 2, Shape: arithShape, Lower: lowerBroadcastOnly("Min")},
	OpMax:   {Name: "Max", Arity: 2, Shape: arithShape, Lower: lowerBroadcastOnly("Max")},
	OpPRelu: {Name: "PRelu", Arity: 2, Shape: preluShape, Lower: lowerBroadcastOnly("PRelu")},

	OpEqual:          {Name: "Equal", Arity: 2, Shape: compareShape, Lower: lowerBroadcastOnly("Equal"), NoGrad: true},
	OpLess:           {Name: "Less", Arity: 2, Shape: compareShape, Lower: lowerBroadcastOnly("Less"), NoGrad: true},
	OpGreater:        {Name: "Greater", Arity: 2, Shape: compareShape, Lower: lowerBroadcastOnly("Greater"), NoGrad: true},
	OpNot:            {Name: "Not", Arity: 1, Shape: notShape, Lower: lowerUnary("Not"), NoGrad: true},
	OpWhere:          {Name: "Where", Arity: 3, Shape: whereShape, Lower: lowerWhere},
	OpCast:           {Name: "Cast", Arity: 1, Shape: castShape, Lower: lowerCast, Attrs: []AttrSpec{need("to", "")}},
	OpAnd:            {Name: "And", Arity: 2, Shape: logicShape, Lower: lowerBroadcastOnly("And"), NoGrad: true},
	OpOr:             {Name: "Or", Arity: 2, Shape: logicShape, Lower: lowerBroadcastOnly("Or"), NoGrad: true},
	OpXor:            {Name: "Xor", Arity: 2, Shape: logicShape, Lower: lowerBroadcastOnly("Xor"), NoGrad: true},
	OpMod:            {Name: "Mod", Arity: 2, Shape: modShape, Lower: lowerMod, Attrs: []AttrSpec{attr("fmod", 0)}},
	OpGatherElements: {Name: "GatherElements", Arity: 2, Shape: gatherElementsShape, Lower: lowerGatherElements, Attrs: []AttrSpec{attr("axis", 0)}},

	OpReduceSum:  {Name: "ReduceSum", Arity: 1, Shape: reduceAxesShape(true), Lower: lowerReduceAxes("ReduceSum"), Attrs: reduceAttrs},
	OpReduceMean: {Name: "ReduceMean", Arity: 1, Shape: reduceAxesShape(false), Lower: lowerReduceAxes("ReduceMean"), Attrs: reduceAttrs},
	OpReduceMax:  {Name: "ReduceMax", Arity: 1, Shape: reduceAxesShape(true), Lower: lowerReduceAxes("ReduceMax"), Attrs: reduceAttrs},
	OpReduceGrad: {Name: "ReduceGrad", Arity: 2, Shape: reduceGradShape, Lower: lowerReduceGrad, Derived: true, Attrs: []AttrSpec{attr("axes", []int{}), attr("mean", false)}},

	OpConcat: {Name: "Concat", Arity: maxConcat, MinArity: 1, Shape: concatShape, Lower: lowerConcat, Attrs: []AttrSpec{need("axis", 0)}},
	OpSlice:  {Name: "Slice", Arity: 1, Shape: sliceShape, Lower: lowerSlice, Attrs: []AttrSpec{need("starts", []int{}), need("ends", []int{}), attr("axes", []int{}), attr("steps", []int{})}},
	OpGather: {Name: "Gather", Arity: 2, Shape: gatherShape, Lower: lowerGather, Attrs: []AttrSpec{attr("axis", 0)}},
	OpExpand: {Name: "Expand", Arity: 1, Declared: true, Shape: expandShape, Lower: lowerExpand},
	OpTile:   {Name: "Tile", Arity: 1, Shape: tileShape, Lower: lowerTile, Attrs: []AttrSpec{need("repeats", []int{})}},
	OpPad:    {Name: "Pad", Arity: 1, Shape: padShape, Lower: lowerPad, Attrs: []AttrSpec{need("pads", []int{}), attr("mode", "constant"), attr("value", 0.0)}},

	OpConv:            {Name: "Conv", Arity: 3, MinArity: 2, Shape: convNDShape, Lower: lowerConvND, Scratch: scratchConvND, Attrs: convNDAttrs},
	OpMaxPool:         {Name: "MaxPool", Arity: 1, Shape: poolNDShape, Lower: lowerPoolND, Attrs: maxPoolAttrs},
	OpSliceGrad:       {Name: "SliceGrad", Arity: 2, Shape: sliceGradShape, Lower: lowerSliceGrad, Derived: true, Attrs: []AttrSpec{need("starts", []int{}), need("ends", []int{}), attr("axes", []int{}), attr("steps", []int{})}},
	OpGatherGrad:      {Name: "GatherGrad", Arity: 3, Shape: gatherGradShape, Lower: lowerGatherGrad, Derived: true, Attrs: []AttrSpec{attr("axis", 0)}},
	OpTileGrad:        {Name: "TileGrad", Arity: 2, Shape: tileGradShape, Lower: lowerTileGrad, Derived: true},
	OpReduceMaxGrad:   {Name: "ReduceMaxGrad", Arity: 3, Shape: reduceMaxGradShape, Lower: lowerReduceMaxGrad, Scratch: scratchReduceMaxGrad, Derived: true, Attrs: []AttrSpec{attr("axes", []int{})}},
	OpConvGradInput:   {Name: "ConvGradInput", Arity: 3, Shape: convNDGradShape(1), Lower: lowerConvNDGrad(true), Scratch: scratchConvNDGrad, Derived: true, Attrs: convNDAttrs},
	OpConvGradWeight:  {Name: "ConvGradWeight", Arity: 3, Shape: convNDGradShape(2), Lower: lowerConvNDGrad(false), Scratch: scratchConvNDGrad, Derived: true, Attrs: convNDAttrs},
	OpMaxPoolGrad:     {Name: "MaxPoolGrad", Arity: 2, Shape: poolNDGradShape, Lower: lowerPoolNDGrad, Derived: true, Attrs: maxPoolAttrs},
	OpAveragePoolGrad: {Name: "AveragePoolGrad", Arity: 2, Shape: poolNDGradShape, Lower: lowerPoolNDGrad, Derived: true, Attrs: averagePoolAttrs},
	OpAveragePool:     {Name: "AveragePool", Arity: 1, Shape: poolNDShape, Lower: lowerPoolND, Attrs: averagePoolAttrs},
	// Indices, triangles and losses.
	OpArgMax:                        {Name: "ArgMax", Arity: 1, Shape: argShape, Lower: lowerArg("ArgMax"), NoGrad: true, Attrs: argAttrs},
	OpArgMin:                        {Name: "ArgMin", Arity: 1, Shape: argShape, Lower: lowerArg("ArgMin"), NoGrad: true, Attrs: argAttrs},
	OpTrilu:                         {Name: "Trilu", Arity: 1, Shape: triluShape, Lower: lowerTrilu, Attrs: []AttrSpec{attr("upper", 1), attr("k", 0)}},
	OpNegativeLogLikelihoodLoss:     {Name: "NegativeLogLikelihoodLoss", Arity: 3, MinArity: 2, Shape: nllShape, Lower: lowerNLL, Attrs: nllAttrs},
	OpNegativeLogLikelihoodLossGrad: {Name: "NegativeLogLikelihoodLossGrad", Arity: 4, MinArity: 3, Shape: nllGradShape, Lower: lowerNLL, Derived: true, Attrs: nllAttrs},
	OpReduceProd:                    {Name: "ReduceProd", Arity: 1, Shape: reduceAxesShape(false), Lower: lowerReduceAxes("ReduceProd"), Attrs: reduceAttrs},
	// Int8 inference.
	OpQuantize:   {Name: "Quantize", Arity: 1, Shape: quantizeShape, Lower: lowerQuantize, Derived: true, Attrs: qAttrs},
	OpDequantize: {Name: "Dequantize", Arity: 1, Shape: dequantizeShape, Lower: lowerDequantize, Derived: true, Attrs: qAttrs},
	OpQLinear:    {Name: "QLinear", Arity: 4, Shape: qLinearShape, Lower: lowerQLinear, Scratch: scratchQLinear, Derived: true, Attrs: qLayerAttrs},
	OpQConv2d:    {Name: "QConv2d", Arity: 4, Shape: qConvShape, Lower: lowerQConv, Scratch: scratchQConv, Derived: true, Attrs: append(convAttrs[:len(convAttrs):len(convAttrs)], qLayerAttrs...)},
	OpQMaxPool2d: {Name: "QMaxPool2d", Arity: 1, Shape: qMaxPoolShape, Lower: lowerQMaxPool, Derived: true, Attrs: poolAttrs},
	OpQAdd:       {Name: "QAdd", Arity: 2, Shape: qAddShape, Lower: lowerQAdd, Derived: true, Attrs: qAddAttrs},

	// Differentially private SGD (dp.go).
	OpRowOuterSqNorm: {Name: "RowOuterSqNorm", Arity: 3, MinArity: 2, Shape: rowOuterSqNormShape, Lower: lowerRowOuterSqNorm, Scratch: scratchRowOuterSqNorm, Derived: true},
	OpGroupSumSqNorm: {Name: "GroupSumSqNorm", Arity: 2, MinArity: 1, Shape: groupSumSqNormShape, Lower: lowerGroupSumSqNorm, Derived: true, Attrs: []AttrSpec{need("c", 0), attr("inner", 1)}},
	OpConvSqNorm:     {Name: "ConvSqNorm", Arity: 4, MinArity: 3, Shape: convSqNormShape, Lower: lowerConvSqNorm, Scratch: scratchConvSqNorm, Derived: true, Attrs: convAttrs},
	OpClipFactor:     {Name: "ClipFactor", Arity: 1, Shape: clipFactorShape, Lower: lowerClipFactor, Derived: true, Attrs: []AttrSpec{need("clip", 0.0)}},
	OpScaleRows:      {Name: "ScaleRows", Arity: 2, Shape: scaleRowsShape, Lower: lowerBinary("ScaleRows"), Derived: true},
	OpDPNoise:        {Name: "DPNoise", Arity: 1, Shape: dpNoiseShape, Lower: lowerDPNoise, Derived: true, Attrs: []AttrSpec{attr("std", 0.0), attr("scale", 1.0)}},
}

// Info returns op's row of the op table.
func (op Op) Info() *OpInfo {
	if op >= numOps {
		return &opTable[OpInvalid]
	}
	return &opTable[op]
}

func (op Op) String() string { return op.Info().Name }

var opByName = func() map[string]Op {
	m := make(map[string]Op, numOps)
	for i := Op(1); i < numOps; i++ {
		m[opTable[i].Name] = i
	}
	return m
}()

// LookupOp returns the op named name in the text form.
func LookupOp(name string) (Op, bool) {
	op, ok := opByName[name]
	return op, ok
}

func sameShape(args []Type, _ Attrs, _ Type) (Type, error) { return args[0], nil }

func scalarShape(args []Type, _ Attrs, _ Type) (Type, error) {
	return Type{DType: args[0].DType, Shape: Shape{}}, nil
}

func constShape(_ []Type, attrs Attrs, decl Type) (Type, error) {
	if _, ok := attrs.Get("value"); !ok {
		return Type{}, fmt.Errorf("Const without a value")
	}
	if decl.Shape.Rank() != 0 {
		return Type{}, fmt.Errorf("Const must be a scalar, is %s", decl)
	}
	return decl, nil
}

func dropoutShape(_ []Type, attrs Attrs, decl Type) (Type, error) {
	if p := attrs.Float("p", 0); p < 0 || p >= 1 {
		return Type{}, fmt.Errorf("dropout probability %v outside [0, 1)", p)
	}
	return decl, nil
}

func sameDType(args []Type) error {
	for _, a := range args[1:] {
		if a.DType != args[0].DType {
			return shapeErr(ShapeDType, -1, "mixed element types %s and %s", args[0].DType, a.DType)
		}
	}
	return nil
}

func broadcastShape(args []Type, _ Attrs, _ Type) (Type, error) {
	if err := sameDType(args); err != nil {
		return Type{}, err
	}
	s, ok := Broadcast(args[0].Shape, args[1].Shape)
	if !ok {
		return Type{}, shapeErr(ShapeBroadcast, -1, "shapes %s and %s do not broadcast", args[0].Shape, args[1].Shape)
	}
	return Type{DType: args[0].DType, Shape: s}, nil
}

// matmulShape: a is [..., m, k] and b is [k, n] (the leading dimensions of
// a are rows), or both are batched alike, [B..., m, k] and [B..., k, n], as
// torch.matmul does. ta and tb transpose the last two dimensions.
func matmulShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	if err := sameDType(args); err != nil {
		return Type{}, err
	}
	a, b := args[0].Shape, args[1].Shape
	ta, tb := attrs.Bool("ta"), attrs.Bool("tb")
	ra, rb := a.Rank(), b.Rank()
	batched := rb > 2
	switch {
	case ra < 2 || rb < 2:
		return Type{}, shapeErr(ShapeRank, min(ra, 2)/2, "matmul of %s and %s: operands need 2 dimensions or more", a, b)
	case batched && (ra != rb || !a[:ra-2].Equal(b[:rb-2])):
		return Type{}, shapeErr(ShapeBatchDims, -1, "matmul of %s and %s: batch dimensions differ", a, b)
	case !batched && ta && ra != 2:
		return Type{}, fmt.Errorf("matmul of %s and %s: a transposed left operand must be 2-D", a, b)
	}
	m, k := a[ra-2], a[ra-1]
	if ta {
		m, k = k, m
	}
	kb, n := b[rb-2], b[rb-1]
	if tb {
		kb, n = n, kb
	}
	if k != kb {
		return Type{}, shapeErr(ShapeInner, -1, "matmul of %s and %s: inner dimensions %s and %s differ", a, b, dimString(k), dimString(kb))
	}
	out := append(a[:ra-2].Clone(), m, n)
	if err := checkShape(out); err != nil {
		return Type{}, fmt.Errorf("matmul of %s and %s: %v", a, b, err)
	}
	return Type{DType: args[0].DType, Shape: out}, nil
}

func linearShape(args []Type, _ Attrs, _ Type) (Type, error) {
	if err := sameDType(args); err != nil {
		return Type{}, err
	}
	x, w := args[0].Shape, args[1].Shape
	if x.Rank() < 1 || w.Rank() != 2 || x[x.Rank()-1] != w[1] {
		return Type{}, fmt.Errorf("linear of %s with weight %s: feature counts differ", x, w)
	}
	if len(args) == 3 && !args[2].Shape.Equal(Shape{w[0]}) {
		return Type{}, fmt.Errorf("linear bias %s does not match weight %s", args[2].Shape, w)
	}
	out := x.Clone()
	out[len(out)-1] = w[0]
	return Type{DType: args[0].DType, Shape: out}, nil
}

func dimString(d int) string {
	if d == Batch {
		return "N"
	}
	return fmt.Sprint(d)
}

// NormAxis turns a possibly negative axis into 0..rank-1.
func NormAxis(dim, rank int) (int, bool) {
	if dim < 0 {
		dim += rank
	}
	return dim, dim >= 0 && dim < rank
}

func axisSameShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	if _, ok := NormAxis(attrs.Int("dim", 0), args[0].Shape.Rank()); !ok {
		return Type{}, shapeErr(ShapeAxis, 0, "dim %d out of range for %s", attrs.Int("dim", 0), args[0].Shape)
	}
	return args[0], nil
}

func reduceShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	s := args[0].Shape
	d, ok := NormAxis(attrs.Int("dim", 0), s.Rank())
	if !ok {
		return Type{}, shapeErr(ShapeAxis, 0, "dim %d out of range for %s", attrs.Int("dim", 0), s)
	}
	out := append(s[:d:d].Clone(), s[d+1:]...)
	return Type{DType: args[0].DType, Shape: out}, nil
}

// meanShape: a mean over the batch dimension divides by a size only known
// when the graph runs, which neither the VJP rule nor the kernels handle.
func meanShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	s := args[0].Shape
	if d, ok := NormAxis(attrs.Int("dim", 0), s.Rank()); ok && s[d] == Batch {
		return Type{}, shapeErr(ShapeBatchAxis, 0, "mean over the batch dimension of %s", s)
	}
	return reduceShape(args, attrs, decl)
}

func reshapeShape(args []Type, _ Attrs, decl Type) (Type, error) {
	in, out := args[0].Shape, decl.Shape
	if in.HasBatch() != out.HasBatch() || in.Elems() != out.Elems() {
		return Type{}, shapeErr(ShapeDeclared, 0, "cannot reshape %s into %s", in, out)
	}
	if decl.DType != args[0].DType {
		return Type{}, fmt.Errorf("reshape changes element type %s to %s", args[0].DType, decl.DType)
	}
	if copyKernel(decl.DType) == "" {
		return Type{}, shapeErr(ShapeDType, 0, "reshape of %s values is not supported", decl.DType)
	}
	return decl, nil
}

// ConvOut returns the output size of a convolution or pooling window along
// one axis, or a non-positive number when the window does not fit.
func ConvOut(in, kernel, stride, padding int) int {
	if stride <= 0 {
		return 0
	}
	span := in + 2*padding - kernel
	if span < 0 {
		return 0
	}
	return span/stride + 1
}

func conv2dShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	if err := sameDType(args); err != nil {
		return Type{}, err
	}
	x, w := args[0].Shape, args[1].Shape
	if x.Rank() != 4 || w.Rank() != 4 || x[1] != w[1] || w[2] != w[3] {
		return Type{}, shapeErr(ShapeMismatch, 0, "conv2d of %s with weight %s: needs [N, C, H, W] and [out, C, k, k]", x, w)
	}
	if len(args) == 3 && !args[2].Shape.Equal(Shape{w[0]}) {
		return Type{}, fmt.Errorf("conv2d bias %s does not match weight %s", args[2].Shape, w)
	}
	s, p := attrs.Int("stride", 0), attrs.Int("padding", 0)
	h, wd := ConvOut(x[2], w[2], s, p), ConvOut(x[3], w[3], s, p)
	if h <= 0 || wd <= 0 {
		return Type{}, shapeErr(ShapeWindow, 0, "conv2d kernel %d larger than padded input %s", w[2], x)
	}
	return Type{DType: args[0].DType, Shape: Shape{x[0], w[0], h, wd}}, nil
}

func maxPoolShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	x := args[0].Shape
	k := attrs.Int("kernel", 0)
	s := attrs.Int("stride", 0)
	if s == 0 {
		s = k
	}
	if x.Rank() != 4 || k <= 0 {
		return Type{}, shapeErr(ShapeRank, 0, "maxpool2d of %s: needs [N, C, H, W] and a positive kernel", x)
	}
	h, w := ConvOut(x[2], k, s, 0), ConvOut(x[3], k, s, 0)
	if h <= 0 || w <= 0 {
		return Type{}, shapeErr(ShapeWindow, 0, "maxpool2d kernel %d larger than input %s", k, x)
	}
	return Type{DType: args[0].DType, Shape: Shape{x[0], x[1], h, w}}, nil
}

func batchNormShape(args []Type, _ Attrs, _ Type) (Type, error) {
	if err := sameDType(args); err != nil {
		return Type{}, err
	}
	x := args[0].Shape
	if x.Rank() != 2 && x.Rank() != 4 {
		return Type{}, shapeErr(ShapeRank, 0, "batchnorm of %s: needs [N, C] or [N, C, H, W]", x)
	}
	for _, a := range args[1:] {
		if !a.Shape.Equal(Shape{x[1]}) {
			return Type{}, shapeErr(ShapeMismatch, 0, "batchnorm of %s with a statistic of shape %s", x, a.Shape)
		}
	}
	return args[0], nil
}

// classLossShape: logits [..., C] against class indices [...], i32 (the
// classes of a data set) or i64 (token ids).
func classLossShape(args []Type, _ Attrs, _ Type) (Type, error) {
	x, t := args[0], args[1]
	if r := x.Shape.Rank(); r < 2 || (t.DType != I32 && t.DType != I64) || !t.Shape.Equal(x.Shape[:r-1]) {
		return Type{}, fmt.Errorf("class loss of %s with targets %s: needs [N, ..., C] and i32 or i64 [N, ...]", x, t)
	}
	return Type{DType: x.DType, Shape: Shape{}}, nil
}

func arangeShape(_ []Type, attrs Attrs, _ Type) (Type, error) {
	n := attrs.Int("n", 0)
	if n < 1 {
		return Type{}, fmt.Errorf("arange(%d): needs a positive length", n)
	}
	return Type{DType: I64, Shape: Shape{n}}, nil
}

func embeddingShape(args []Type, _ Attrs, _ Type) (Type, error) {
	ids, w := args[0], args[1]
	if ids.DType != I64 || w.Shape.Rank() != 2 || !w.DType.IsFloat() || w.Shape.HasBatch() {
		return Type{}, fmt.Errorf("embedding of %s in a table %s: needs i64 ids and a [num, dim] table", ids, w)
	}
	out := append(ids.Shape.Clone(), w.Shape[1])
	if err := checkShape(out); err != nil {
		return Type{}, err
	}
	return Type{DType: w.DType, Shape: out}, nil
}

func embeddingGradShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	y, err := embeddingShape(args[1:], attrs, decl)
	if err != nil {
		return Type{}, err
	}
	if !y.Equal(args[0]) {
		return Type{}, fmt.Errorf("embedding gradient %s for an output of type %s", args[0], y)
	}
	return args[2], nil
}

func layerNormShape(args []Type, _ Attrs, _ Type) (Type, error) {
	if err := sameDType(args); err != nil {
		return Type{}, err
	}
	x := args[0].Shape
	if x.Rank() < 1 || x[x.Rank()-1] == Batch {
		return Type{}, fmt.Errorf("layer norm of %s: needs a last dimension of fixed size", x)
	}
	d := Shape{x[x.Rank()-1]}
	for _, a := range args[1:] {
		if !a.Shape.Equal(d) {
			return Type{}, fmt.Errorf("layer norm of %s with a weight or bias of shape %s, not %s", x, a.Shape, d)
		}
	}
	return args[0], nil
}

// layerNormGradShape: the gradient of LayerNorm's input (i = 1) given dy,
// x, weight and its output y, or of its weight (i = -1) given dy, x, y.
func layerNormGradShape(i int) func([]Type, Attrs, Type) (Type, error) {
	return func(args []Type, _ Attrs, _ Type) (Type, error) {
		dy, x, y := args[0], args[1], args[len(args)-1]
		if !dy.Equal(x) || !y.Equal(x) || x.Shape.Rank() < 1 {
			return Type{}, fmt.Errorf("layer norm gradient %s for an input %s and output %s", dy, x, y)
		}
		if i == 1 {
			return x, nil
		}
		return Type{DType: x.DType, Shape: Shape{x.Shape[x.Shape.Rank()-1]}}, nil
	}
}

func valueLossShape(args []Type, _ Attrs, _ Type) (Type, error) {
	if !args[0].Equal(args[1]) {
		return Type{}, fmt.Errorf("loss of %s with targets %s: types differ", args[0], args[1])
	}
	return Type{DType: args[0].DType, Shape: Shape{}}, nil
}

func correctShape(args []Type, _ Attrs, _ Type) (Type, error) {
	return Type{DType: I32, Shape: Shape{}}, nil
}

func gradShape(args []Type, _ Attrs, _ Type) (Type, error) {
	if !args[0].Equal(args[1]) {
		return Type{}, fmt.Errorf("gradient %s of a value of type %s", args[0], args[1])
	}
	return args[0], nil
}

func axisGradShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	if _, err := axisSameShape(args[1:], attrs, decl); err != nil {
		return Type{}, err
	}
	return gradShape(args, attrs, decl)
}

// sumToShape: the declared shape broadcasts to the argument's.
func sumToShape(args []Type, _ Attrs, decl Type) (Type, error) {
	if s, ok := Broadcast(decl.Shape, args[0].Shape); !ok || !s.Equal(args[0].Shape) || decl.DType != args[0].DType {
		return Type{}, fmt.Errorf("cannot sum %s to %s", args[0], decl)
	}
	return decl, nil
}

// broadcastToShape: the argument broadcasts to the declared shape.
func broadcastToShape(args []Type, _ Attrs, decl Type) (Type, error) {
	if s, ok := Broadcast(args[0].Shape, decl.Shape); !ok || !s.Equal(decl.Shape) || decl.DType != args[0].DType {
		return Type{}, fmt.Errorf("cannot broadcast %s to %s", args[0], decl)
	}
	return decl, nil
}

func matmulTNShape(args []Type, _ Attrs, _ Type) (Type, error) {
	a, b := args[0].Shape, args[1].Shape
	if a.Rank() < 2 || a.Rank() != b.Rank() || !a[:a.Rank()-1].Equal(b[:b.Rank()-1]) || a[a.Rank()-1] == Batch || b[b.Rank()-1] == Batch {
		return Type{}, fmt.Errorf("matmulTN of %s and %s: leading dimensions differ", a, b)
	}
	if err := sameDType(args); err != nil {
		return Type{}, err
	}
	return Type{DType: args[0].DType, Shape: Shape{a[a.Rank()-1], b[b.Rank()-1]}}, nil
}

func lossGradShape(args []Type, _ Attrs, _ Type) (Type, error) {
	if args[0].Shape.Rank() != 0 {
		return Type{}, fmt.Errorf("loss gradient seeded by %s, not a scalar", args[0])
	}
	return args[1], nil
}

func incrementShape(args []Type, _ Attrs, _ Type) (Type, error) {
	if args[0].DType != I64 || args[0].Shape.Rank() != 0 {
		return Type{}, fmt.Errorf("increment of %s, not an i64 scalar", args[0])
	}
	return args[0], nil
}

// updateShape: an optimizer update returns its first argument's type; the
// other tensors match it, and a step argument is an i64 scalar.
func updateShape(args []Type, _ Attrs, _ Type) (Type, error) {
	for _, a := range args[1:] {
		if a.DType == I64 && a.Shape.Rank() == 0 {
			continue
		}
		if !a.Equal(args[0]) {
			return Type{}, fmt.Errorf("optimizer update of %s with %s", args[0], a)
		}
	}
	return args[0], nil
}

func matmulMaskShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	t, err := matmulShape(args[:2], attrs, decl)
	if err != nil {
		return Type{}, err
	}
	if !t.Equal(args[2]) {
		return Type{}, fmt.Errorf("relu mask %s for a product of type %s", args[2], t)
	}
	return t, nil
}

// convGradShape: the gradient of Conv2d's argument i, given dy, x, w.
func convGradShape(i int) func([]Type, Attrs, Type) (Type, error) {
	return func(args []Type, attrs Attrs, decl Type) (Type, error) {
		y, err := conv2dShape(args[1:], attrs, decl)
		if err != nil {
			return Type{}, err
		}
		if !y.Equal(args[0]) {
			return Type{}, fmt.Errorf("conv2d gradient %s for an output of type %s", args[0], y)
		}
		return args[i], nil
	}
}

func channelSumShape(args []Type, _ Attrs, _ Type) (Type, error) {
	s := args[0].Shape
	if s.Rank() < 2 || s[1] == Batch {
		return Type{}, fmt.Errorf("channel sum of %s: needs [N, C, ...]", s)
	}
	return Type{DType: args[0].DType, Shape: Shape{s[1]}}, nil
}

func maxPoolGradShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	y, err := maxPoolShape(args[1:], attrs, decl)
	if err != nil {
		return Type{}, err
	}
	if !y.Equal(args[0]) {
		return Type{}, fmt.Errorf("maxpool2d gradient %s for an output of type %s", args[0], y)
	}
	return args[1], nil
}

// bnGradShape: the gradient of BatchNormTrain's argument i, given dy, x,
// weight.
func bnGradShape(i int) func([]Type, Attrs, Type) (Type, error) {
	return func(args []Type, attrs Attrs, decl Type) (Type, error) {
		if !args[0].Equal(args[1]) {
			return Type{}, fmt.Errorf("batchnorm gradient %s for an input of type %s", args[0], args[1])
		}
		if _, err := batchNormShape(args[1:], attrs, decl); err != nil {
			return Type{}, err
		}
		return args[i], nil
	}
}

func runningShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	if _, err := batchNormShape([]Type{args[1], args[0]}, attrs, decl); err != nil {
		return Type{}, err
	}
	return args[0], nil
}

func foldWeightShape(args []Type, _ Attrs, _ Type) (Type, error) {
	w := args[0].Shape
	if w.Rank() < 2 || w.HasBatch() || !args[1].Shape.Equal(Shape{w[0]}) || !args[2].Shape.Equal(Shape{w[0]}) {
		return Type{}, fmt.Errorf("batchnorm fold of weight %s with statistics %s", w, args[1].Shape)
	}
	return args[0], nil
}

func foldBiasShape(args []Type, _ Attrs, _ Type) (Type, error) {
	c := args[1].Shape
	if c.Rank() != 1 || c.HasBatch() {
		return Type{}, fmt.Errorf("batchnorm fold with statistics %s", c)
	}
	if b := args[0].Shape; b.Rank() != 0 && !b.Equal(c) {
		return Type{}, fmt.Errorf("batchnorm fold of bias %s with statistics %s", b, c)
	}
	for _, a := range args[2:] {
		if !a.Shape.Equal(c) {
			return Type{}, fmt.Errorf("batchnorm fold with statistics %s and %s", c, a.Shape)
		}
	}
	return Type{DType: args[1].DType, Shape: c.Clone()}, nil
}

// geluAttrs: approximate is "none" (the exact GELU, with erf) or "tanh"
// (0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))), as torch's gelu.
var geluAttrs = []AttrSpec{attr("approximate", "none")}

func checkApproximate(attrs Attrs) error {
	a, ok := attrs.Get("approximate")
	if !ok || a == "none" || a == "tanh" {
		return nil
	}
	return fmt.Errorf("gelu: approximate must be \"none\" or \"tanh\", not %s", formatAttrVal(a))
}

func geluShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	if err := checkApproximate(attrs); err != nil {
		return Type{}, err
	}
	return sameShape(args, attrs, decl)
}

func geluGradShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	if err := checkApproximate(attrs); err != nil {
		return Type{}, err
	}
	return gradShape(args, attrs, decl)
}

// transposeShape swaps dimensions d0 and d1 of the argument; either may
// count from the end, as torch.transpose's.
func transposeShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	s := args[0].Shape
	d0, ok0 := NormAxis(attrs.Int("d0", 0), s.Rank())
	d1, ok1 := NormAxis(attrs.Int("d1", 0), s.Rank())
	if !ok0 || !ok1 {
		return Type{}, shapeErr(ShapeAxis, 0, "transpose of %s: dimensions %d and %d, needs each in [%d, %d)", s, attrs.Int("d0", 0), attrs.Int("d1", 0), -s.Rank(), s.Rank())
	}
	if !args[0].DType.IsFloat() && !(d0 == d1 && copyKernel(args[0].DType) != "") {
		return Type{}, shapeErr(ShapeDType, 0, "transpose of %s values is not supported: the kernel moves floats", args[0].DType)
	}
	out := s.Clone()
	out[d0], out[d1] = out[d1], out[d0]
	return Type{DType: args[0].DType, Shape: out}, nil
}

// Ops returns every op of the table, in order.
func Ops() []Op {
	ops := make([]Op, 0, numOps-1)
	for op := Op(1); op < numOps; op++ {
		ops = append(ops, op)
	}
	return ops
}

// gradSqNormShape: a float gradient and, after the first of the chain, the
// running total; the result is the total, an i64 scalar holding float64 bits.
func gradSqNormShape(args []Type, _ Attrs, _ Type) (Type, error) {
	if !args[0].DType.IsFloat() {
		return Type{}, shapeErr(ShapeDType, 0, "gradient norm of %s, not a float tensor", args[0])
	}
	total := Type{DType: F64, Shape: Shape{}}
	if len(args) > 1 && !args[1].Equal(total) {
		return Type{}, shapeErr(ShapeDType, 1, "gradient norm total %s, not an f64 scalar", args[1])
	}
	return total, nil
}

// clipGradShape: a float gradient scaled by the total of a GradSqNorm chain.
func clipGradShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	if !args[0].DType.IsFloat() {
		return Type{}, shapeErr(ShapeDType, 0, "gradient clipping of %s, not a float tensor", args[0])
	}
	if !args[1].Equal(Type{DType: F64, Shape: Shape{}}) {
		return Type{}, shapeErr(ShapeDType, 1, "gradient norm total %s, not an f64 scalar", args[1])
	}
	if m := attrs.Float("max_norm", 0); !(m > 0) {
		return Type{}, fmt.Errorf("clip_grad_norm must be positive, got %v", m)
	}
	return args[0], nil
}

// attentionShape: q [..., L, E], k [..., S, E] and v [..., S, Ev] of one
// float type with equal leading dimensions (none broadcast) give
// [..., L, Ev]. The last two dimensions have fixed sizes.
func attentionShape(args []Type, _ Attrs, _ Type) (Type, error) {
	if err := sameDType(args); err != nil {
		return Type{}, err
	}
	if !args[0].DType.IsFloat() {
		return Type{}, shapeErr(ShapeDType, 0, "attention over %s: needs floating-point q, k and v", args[0].DType)
	}
	q, k, v := args[0].Shape, args[1].Shape, args[2].Shape
	r := q.Rank()
	if r < 2 {
		return Type{}, shapeErr(ShapeRank, 0, "attention of q %s, k %s, v %s: each needs 2 dimensions or more", q, k, v)
	}
	if k.Rank() != r || v.Rank() != r || !k[:r-2].Equal(q[:r-2]) || !v[:r-2].Equal(q[:r-2]) {
		return Type{}, shapeErr(ShapeBatchDims, -1, "attention of q %s, k %s, v %s: leading dimensions differ", q, k, v)
	}
	for i, s := range []Shape{q, k, v} {
		if s[r-1] == Batch || s[r-2] == Batch {
			return Type{}, shapeErr(ShapeRank, i, "attention of q %s, k %s, v %s: the last two dimensions cannot be the batch", q, k, v)
		}
	}
	if k[r-1] != q[r-1] {
		return Type{}, shapeErr(ShapeInner, 1, "attention of q %s and k %s: feature sizes %d and %d differ", q, k, q[r-1], k[r-1])
	}
	if v[r-2] != k[r-2] {
		return Type{}, shapeErr(ShapeMismatch, 2, "attention of k %s and v %s: sequence lengths %d and %d differ", k, v, k[r-2], v[r-2])
	}
	out := append(q[:r-2].Clone(), q[r-2], v[r-1])
	return Type{DType: args[0].DType, Shape: out}, nil
}

// attentionGradShape: the backward ops take dy, v and y (the Attention
// value, whose type dy has); they give the gradient of v, or the scores'
// [..., L, S].
func attentionGradShape(scores bool) func([]Type, Attrs, Type) (Type, error) {
	return func(args []Type, _ Attrs, _ Type) (Type, error) {
		dy, v, y := args[0], args[1], args[2]
		r := y.Shape.Rank()
		if !dy.Equal(y) || v.DType != y.DType || v.Shape.Rank() != r || r < 2 || !v.Shape[:r-2].Equal(y.Shape[:r-2]) || v.Shape[r-1] != y.Shape[r-1] {
			return Type{}, fmt.Errorf("attention gradient %s for a value %s and an output %s", dy, v, y)
		}
		if !scores {
			return v, nil
		}
		return Type{DType: y.DType, Shape: append(y.Shape[:r-1].Clone(), v.Shape[r-2])}, nil
	}
}
