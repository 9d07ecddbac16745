package kernels

// The entry points of the lowered IR. Every op of nnc's IR is computed by
// calls to functions of this package that return nothing: the results go
// to the output slices that come first. The functions below give that form
// to kernels that return a value (losses) or take a scalar that the graph
// holds in a one-element tensor (the step count, the loss's gradient).

// Copy copies x into dst (a reshape: the same elements in the same order).
func Copy[T Float](dst, x []T) {
	same("Copy", "x", len(x), len(dst))
	copy(dst, x)
}

// Increment sets dst[0] to src[0] + 1 (an optimizer's step count).
func Increment(dst, src []int64) { dst[0] = src[0] + 1 }

// BroadcastAdd is Broadcast(OpAdd, ...); likewise BroadcastSub, BroadcastMul
// and BroadcastDiv.
func BroadcastAdd[T Float](dst []T, shape []int, a []T, aShape []int, b []T, bShape []int) {
	Broadcast(OpAdd, dst, shape, a, aShape, b, bShape)
}

// BroadcastSub is Broadcast(OpSub, ...).
func BroadcastSub[T Float](dst []T, shape []int, a []T, aShape []int, b []T, bShape []int) {
	Broadcast(OpSub, dst, shape, a, aShape, b, bShape)
}

// BroadcastMul is Broadcast(OpMul, ...).
func BroadcastMul[T Float](dst []T, shape []int, a []T, aShape []int, b []T, bShape []int) {
	Broadcast(OpMul, dst, shape, a, aShape, b, bShape)
}

// BroadcastDiv is Broadcast(OpDiv, ...).
func BroadcastDiv[T Float](dst []T, shape []int, a []T, aShape []int, b []T, bShape []int) {
	Broadcast(OpDiv, dst, shape, a, aShape, b, bShape)
}

// BroadcastTo repeats x, of shape xShape, over dst of shape shape, as NumPy
// broadcasting does.
func BroadcastTo[T Float](dst []T, shape []int, x []T, xShape []int) {
	var zero [1]T
	Broadcast(OpAdd, dst, shape, x, xShape, zero[:], nil)
}

// MatMul sets c to op(a)·op(b), m×n, with inner dimension k: Gemm with
// alpha 1 and beta 0.
func MatMul[T Float](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	Gemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
}

// MatMulBatched runs count products MatMul(op(a_i), op(b_i)) into c_i,
// where operand i starts at i·sa, i·sb and i·sc.
func MatMulBatched[T Float](count int, transA, transB bool, m, n, k int, a []T, lda, sa int, b []T, ldb, sb int, c []T, ldc, sc int) {
	for i := 0; i < count; i++ {
		Gemm(transA, transB, m, n, k, 1, a[i*sa:(i+1)*sa], lda, b[i*sb:(i+1)*sb], ldb, 0, c[i*sc:(i+1)*sc], ldc)
	}
}

// scaleBy multiplies x by d[0] unless that is 1: the gradient of a loss
// seeded by d.
func scaleBy[T Float](x, d []T) {
	if s := d[0]; s != 1 {
		Scale(x, s, x)
	}
}

// NLLLossOut sets loss[0] to the negative log-likelihood NLLLoss computes.
func NLLLossOut[T Float](loss, logp []T, target []int32, n, c int) {
	loss[0] = T(NLLLoss(nil, logp, target, n, c, 0))
}

// NLLLossGrad sets dlogp to the gradient of NLLLoss, seeded by dloss[0].
func NLLLossGrad[T Float](dlogp, dloss, logp []T, target []int32, n, c int) {
	NLLLoss(dlogp, logp, target, n, c, float64(dloss[0]))
}

// CrossEntropyLoss sets loss[0] to the softmax cross-entropy of logits
// against target; when dlogits is not nil, it also receives the gradient of
// the mean loss (CrossEntropy's), for CopyScale to use later.
func CrossEntropyLoss[T Float](loss, dlogits, logits []T, target []int32, n, c int) {
	l, _ := CrossEntropy(dlogits, logits, target, n, c)
	loss[0] = T(l)
}

// CrossEntropyGrad sets dlogits to the gradient of the softmax
// cross-entropy, seeded by dloss[0].
func CrossEntropyGrad[T Float](dlogits, dloss, logits []T, target []int32, n, c int) {
	CrossEntropy(dlogits, logits, target, n, c)
	scaleBy(dlogits, dloss)
}

// CopyScale sets dst to x·d[0]: a gradient computed earlier, seeded by d.
func CopyScale[T Float](dst, x, d []T) {
	Copy(dst, x)
	scaleBy(dst, d)
}

// CountCorrect sets count[0] to the number of rows of x (n×c) whose argmax
// is the target; pred (n) receives the argmaxes.
func CountCorrect[T Float](count, pred []int32, x []T, target []int32, n, c int) {
	Argmax(pred, x, n, c)
	hit := int32(0)
	for i, p := range pred[:n] {
		if p == target[i] {
			hit++
		}
	}
	count[0] = hit
}

// CountCorrectBinary sets count[0] to the number of logits whose sign
// predicts the 0/1 target: a logit above 0 predicts 1.
func CountCorrectBinary[T Float](count []int32, logits, target []T) {
	same("CountCorrectBinary", "target", len(target), len(logits))
	hit := int32(0)
	for i, z := range logits {
		if (z > 0) == (target[i] > 0.5) {
			hit++
		}
	}
	count[0] = hit
}

// MSELoss sets loss[0] to the mean squared error of pred against target.
func MSELoss[T Float](loss, pred, target []T) { loss[0] = T(MSE(nil, pred, target)) }

// MSELossGrad sets dpred to the gradient of MSELoss, seeded by dloss[0].
func MSELossGrad[T Float](dpred, dloss, pred, target []T) {
	MSE(dpred, pred, target)
	scaleBy(dpred, dloss)
}

// BCEWithLogitsLoss sets loss[0] to the binary cross-entropy of the
// logits against target.
func BCEWithLogitsLoss[T Float](loss, logits, target []T) {
	loss[0] = T(BCEWithLogits(nil, logits, target))
}

// BCEWithLogitsLossGrad sets dlogits to the gradient of BCEWithLogitsLoss,
// seeded by dloss[0].
func BCEWithLogitsLossGrad[T Float](dlogits, dloss, logits, target []T) {
	BCEWithLogits(dlogits, logits, target)
	scaleBy(dlogits, dloss)
}

// SGDBufAt is SGDBuf at step step[0]: the first step starts the buffer.
func SGDBufAt[T Float](dst, buf, grad, param []T, step []int64, momentum, dampening, weightDecay float64) {
	SGDBuf(dst, buf, grad, param, momentum, dampening, weightDecay, step[0] == 1)
}

// AdamStepAt is AdamStep at step step[0].
func AdamStepAt[T Float](dst, param, m, v []T, step []int64, lr, beta1, beta2, eps, weightDecay float64, decoupled bool) {
	AdamStep(dst, param, m, v, int(step[0]), lr, beta1, beta2, eps, weightDecay, decoupled)
}

// Embedding is EmbeddingForward for the lowered IR: an id outside
// [0, num) panics with the *IDError, which the back ends recover and
// report as an error of the input, naming the id and where it is.
func Embedding[T Float](out, weight []T, ids []int64, num, dim int) {
	if err := EmbeddingForward(out, weight, ids, num, dim); err != nil {
		panic(err)
	}
}

// CrossEntropyLoss64 is CrossEntropyLoss with int64 class targets (token
// ids).
func CrossEntropyLoss64[T Float](loss, dlogits, logits []T, target []int64, n, c int) {
	l, _ := CrossEntropyInt64(dlogits, logits, target, n, c)
	loss[0] = T(l)
}

// CrossEntropyGrad64 is CrossEntropyGrad with int64 class targets.
func CrossEntropyGrad64[T Float](dlogits, dloss, logits []T, target []int64, n, c int) {
	CrossEntropyInt64(dlogits, logits, target, n, c)
	scaleBy(dlogits, dloss)
}

// CountCorrect64 is CountCorrect with int64 class targets.
func CountCorrect64[T Float](count, pred []int32, x []T, target []int64, n, c int) {
	Argmax(pred, x, n, c)
	hit := int32(0)
	for i, p := range pred[:n] {
		if int64(p) == target[i] {
			hit++
		}
	}
	count[0] = hit
}

// LayerNormGradInput is LayerNormBackward's input gradient alone.
func LayerNormGradInput[T Float](dx, dy, x, weight, mean, rstd []T, rows, d int) {
	LayerNormBackward(dx, nil, nil, dy, x, weight, mean, rstd, rows, d)
}

// LayerNormGradWeight is LayerNormBackward's weight gradient alone.
func LayerNormGradWeight[T Float](dweight, dy, x, mean, rstd []T, rows, d int) {
	LayerNormBackward(nil, dweight, nil, dy, x, nil, mean, rstd, rows, d)
}

// Arange sets dst[i] to i.
func Arange(dst []int64) {
	for i := range dst {
		dst[i] = int64(i)
	}
}
