package passes

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/diff/fd"

	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
)

// The VJP rules of ir/vjp.go are checked against central finite
// differences. Each case is a small graph in f64 whose differentiable
// values come from Param values, reduced to a scalar "loss" by a loss op
// (MSELoss against a random Target for most: its gradient 2(out−t)/size is
// a random upstream gradient, so every component of a rule is exercised).
// The graph is differentiated by the grad pass, planned by memplan and run
// by the interpreter; each grad.NAME output is then compared with the
// numerical gradient of the loss, computed by perturbing the parameter in
// the store and running the same machine forward again.
//
// A parameter cannot have the batch dimension (the store holds tensors of
// fixed size), so a value of shape [N, ...] is "lifted" from a parameter:
// MatMul(x, a) with x an Input of shape [N,5] and a a Param [5,k], reshaped
// when the case needs more dimensions. With N = 4 ≤ 5 and x random, x has
// full row rank, so grad.a = xᵀ·d(lifted) determines the gradient flowing
// into the lifted value: an error in it cannot cancel out.
//
// Every case runs twice: with grad and memplan only, so that the rules
// themselves are what is tested, and through the whole pipeline (Table:
// optim, fold, cse, fuse, ...), whose SGD step with learning rate 1 turns
// the parameters into p − grad, which checks that the rewrites preserve the
// gradients and that a step writes the new parameters back.

const (
	vjpBatch = 4    // rows of a batch
	vjpLR    = 1.0  // the learning rate of the pipeline variant's SGD step
	fdStep   = 1e-6 // the finite-difference step
	// fdTol bounds |analytic − numerical| / max(1, |numerical|). The
	// central difference's error is about step²·f''' + ε·|loss|/step,
	// below 1e-8 for these graphs.
	fdTol = 1e-6
	// sameTol bounds the difference between two analytic gradients of the
	// same graph, computed by differently rewritten code.
	sameTol = 1e-12
)

// vjpCase is one op's check.
type vjpCase struct {
	name string
	// body holds the values and the return line of the graph; vjpGraph
	// adds the header with the batch size and the optimizer.
	body string
	// pos names the sources drawn from [0.1, 1] rather than ±[0.1, 1],
	// which keeps a lifted divisor away from 0.
	pos []string
	// prob names the float targets drawn from [0, 1]: probabilities.
	prob []string
	// emits lists backward ops the grad pass must emit, to show that the
	// case exercises the rule path it is meant to.
	emits []string
	// rejects is, for a graph the front end never builds and the IR
	// refuses, the error ir.Parse must give; the case checks only that.
	rejects string
}

// The lifts of a batch of rows to a value of the given shape, from the
// input x [N,5] and parameter a: lift3 gives [N,3] in v2, lift1 [N,1].
const (
	lift3 = `
  v0 = Input <f64[N,5]> (x)
  v1 = Param <f64[5,3]> (a)
  v2 = MatMul <f64[N,3]> v0 v1`
	lift1 = `
  v0 = Input <f64[N,5]> (x)
  v1 = Param <f64[5,1]> (a)
  v2 = MatMul <f64[N,1]> v0 v1`
	// lift34 gives [N,3,4] in v3.
	lift34 = `
  v0 = Input <f64[N,5]> (x)
  v1 = Param <f64[5,12]> (a)
  v2 = MatMul <f64[N,12]> v0 v1
  v3 = Reshape <f64[N,3,4]> v2`
)

// binaryCases checks Add, Sub, Mul and Div with the same shapes, with each
// broadcast the ops meet (a bias row, a column against a row, a 3-D column
// against a row, a scalar constant or parameter), each operand on either
// side.
func binaryCases() []vjpCase {
	templates := []struct {
		name  string
		body  string
		pos   bool // the divisor is lifted: keep it positive
		emits []string
	}{
		{"same", `
  v0 = Param <f64[4,3]> (a)
  v1 = Param <f64[4,3]> (b)
  v2 = OP <f64[4,3]> v0 v1
  v3 = Target <f64[4,3]> (t)
  v4 = MSELoss <f64[]> v2 v3 (loss)
  return loss=v4`, false, nil},
		{"N3_3", lift3 + `
  v3 = Param <f64[3]> (b)
  v4 = OP <f64[N,3]> v2 v3
  v5 = Target <f64[N,3]> (t)
  v6 = MSELoss <f64[]> v4 v5 (loss)
  return loss=v6`, false, []string{"SumTo"}},
		{"3_N3", lift3 + `
  v3 = Param <f64[3]> (b)
  v4 = OP <f64[N,3]> v3 v2
  v5 = Target <f64[N,3]> (t)
  v6 = MSELoss <f64[]> v4 v5 (loss)
  return loss=v6`, true, []string{"SumTo"}},
		{"N1_13", lift1 + `
  v3 = Param <f64[1,3]> (b)
  v4 = OP <f64[N,3]> v2 v3
  v5 = Target <f64[N,3]> (t)
  v6 = MSELoss <f64[]> v4 v5 (loss)
  return loss=v6`, false, []string{"SumTo"}},
		{"13_N1", lift1 + `
  v3 = Param <f64[1,3]> (b)
  v4 = OP <f64[N,3]> v3 v2
  v5 = Target <f64[N,3]> (t)
  v6 = MSELoss <f64[]> v4 v5 (loss)
  return loss=v6`, true, []string{"SumTo"}},
		{"N21_3", `
  v0 = Input <f64[N,5]> (x)
  v1 = Param <f64[5,2]> (a)
  v2 = MatMul <f64[N,2]> v0 v1
  v3 = Reshape <f64[N,2,1]> v2
  v4 = Param <f64[3]> (b)
  v5 = OP <f64[N,2,3]> v3 v4
  v6 = Target <f64[N,2,3]> (t)
  v7 = MSELoss <f64[]> v5 v6 (loss)
  return loss=v7`, false, []string{"SumTo"}},
		{"3_N21", `
  v0 = Input <f64[N,5]> (x)
  v1 = Param <f64[5,2]> (a)
  v2 = MatMul <f64[N,2]> v0 v1
  v3 = Reshape <f64[N,2,1]> v2
  v4 = Param <f64[3]> (b)
  v5 = OP <f64[N,2,3]> v4 v3
  v6 = Target <f64[N,2,3]> (t)
  v7 = MSELoss <f64[]> v5 v6 (loss)
  return loss=v7`, true, []string{"SumTo"}},
		{"N3_const", lift3 + `
  v3 = Const <f64[]> {value=0.75}
  v4 = OP <f64[N,3]> v2 v3
  v5 = Target <f64[N,3]> (t)
  v6 = MSELoss <f64[]> v4 v5 (loss)
  return loss=v6`, false, nil},
		{"const_N3", lift3 + `
  v3 = Const <f64[]> {value=0.75}
  v4 = OP <f64[N,3]> v3 v2
  v5 = Target <f64[N,3]> (t)
  v6 = MSELoss <f64[]> v4 v5 (loss)
  return loss=v6`, true, nil},
		{"N3_scalar", lift3 + `
  v3 = Param <f64[]> (s)
  v4 = OP <f64[N,3]> v2 v3
  v5 = Target <f64[N,3]> (t)
  v6 = MSELoss <f64[]> v4 v5 (loss)
  return loss=v6`, false, []string{"SumTo"}},
		{"scalar_N3", lift3 + `
  v3 = Param <f64[]> (s)
  v4 = OP <f64[N,3]> v3 v2
  v5 = Target <f64[N,3]> (t)
  v6 = MSELoss <f64[]> v4 v5 (loss)
  return loss=v6`, true, []string{"SumTo"}},
	}
	var cs []vjpCase
	for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
		for _, tm := range templates {
			c := vjpCase{name: op + "/" + tm.name, body: strings.ReplaceAll(tm.body, "OP", op), emits: tm.emits}
			if tm.pos {
				c.pos = []string{"x", "a"}
			}
			cs = append(cs, c)
		}
	}
	// A value used twice: grad sums the two contributions.
	cs = append(cs, vjpCase{name: "Mul/square", body: `
  v0 = Param <f64[4,3]> (a)
  v1 = Mul <f64[4,3]> v0 v0
  v2 = Target <f64[4,3]> (t)
  v3 = MSELoss <f64[]> v1 v2 (loss)
  return loss=v3`, emits: []string{"Add"}})
	return cs
}

// unaryCases checks the activations on a parameter and on a lifted batch.
func unaryCases() []vjpCase {
	var cs []vjpCase
	for _, op := range []string{"Neg", "Relu", "Sigmoid", "Tanh", "Gelu"} {
		cs = append(cs, vjpCase{name: op + "/param", body: strings.ReplaceAll(`
  v0 = Param <f64[4,3]> (a)
  v1 = OP <f64[4,3]> v0
  v2 = Target <f64[4,3]> (t)
  v3 = MSELoss <f64[]> v1 v2 (loss)
  return loss=v3`, "OP", op)}, vjpCase{name: op + "/N", body: strings.ReplaceAll(lift3+`
  v3 = OP <f64[N,3]> v2
  v4 = Target <f64[N,3]> (t)
  v5 = MSELoss <f64[]> v3 v4 (loss)
  return loss=v5`, "OP", op)})
	}
	// A composition with a value read by several ops.
	return append(cs, vjpCase{name: "Chain/fanout", body: lift3 + `
  v3 = Tanh <f64[N,3]> v2
  v4 = Mul <f64[N,3]> v3 v2
  v5 = Sigmoid <f64[N,3]> v4
  v6 = Sub <f64[N,3]> v5 v3
  v7 = Gelu <f64[N,3]> v6
  v8 = SumAll <f64[]> v7
  v9 = Target <f64[]> (t)
  v10 = MSELoss <f64[]> v8 v9 (loss)
  return loss=v10`})
}

// matmulCases checks the four transpose combinations on 2-D operands, the
// batch dimension as rows and as the contracted dimension, the rows of a
// left operand with leading dimensions, and batched products.
func matmulCases() []vjpCase {
	cs := []vjpCase{
		{name: "MatMul/nn", body: `
  v0 = Param <f64[3,4]> (a)
  v1 = Param <f64[4,2]> (b)
  v2 = MatMul <f64[3,2]> v0 v1
  v3 = Target <f64[3,2]> (t)
  v4 = MSELoss <f64[]> v2 v3 (loss)
  return loss=v4`},
		{name: "MatMul/tn", body: `
  v0 = Param <f64[4,3]> (a)
  v1 = Param <f64[4,2]> (b)
  v2 = MatMul <f64[3,2]> v0 v1 {ta=true}
  v3 = Target <f64[3,2]> (t)
  v4 = MSELoss <f64[]> v2 v3 (loss)
  return loss=v4`},
		{name: "MatMul/nt", body: `
  v0 = Param <f64[3,4]> (a)
  v1 = Param <f64[2,4]> (b)
  v2 = MatMul <f64[3,2]> v0 v1 {tb=true}
  v3 = Target <f64[3,2]> (t)
  v4 = MSELoss <f64[]> v2 v3 (loss)
  return loss=v4`},
		{name: "MatMul/tt", body: `
  v0 = Param <f64[4,3]> (a)
  v1 = Param <f64[2,4]> (b)
  v2 = MatMul <f64[3,2]> v0 v1 {ta=true,tb=true}
  v3 = Target <f64[3,2]> (t)
  v4 = MSELoss <f64[]> v2 v3 (loss)
  return loss=v4`},
		{name: "MatMul/N_nn", body: lift3 + `
  v3 = Param <f64[3,2]> (w)
  v4 = MatMul <f64[N,2]> v2 v3
  v5 = Target <f64[N,2]> (t)
  v6 = MSELoss <f64[]> v4 v5 (loss)
  return loss=v6`},
		{name: "MatMul/N_nt", body: lift3 + `
  v3 = Param <f64[2,3]> (w)
  v4 = MatMul <f64[N,2]> v2 v3 {tb=true}
  v5 = Target <f64[N,2]> (t)
  v6 = MSELoss <f64[]> v4 v5 (loss)
  return loss=v6`},
		// uᵀ·v contracts the batch dimension, as a weight gradient does.
		{name: "MatMul/N_contracted", body: lift3 + `
  v3 = Param <f64[5,2]> (b)
  v4 = MatMul <f64[N,2]> v0 v3
  v5 = MatMul <f64[3,2]> v2 v4 {ta=true}
  v6 = Target <f64[3,2]> (t)
  v7 = MSELoss <f64[]> v5 v6 (loss)
  return loss=v7`},
		{name: "MatMul/rows_nn", body: `
  v0 = Input <f64[N,5]> (x)
  v1 = Param <f64[5,6]> (a)
  v2 = MatMul <f64[N,6]> v0 v1
  v3 = Reshape <f64[N,2,3]> v2
  v4 = Param <f64[3,4]> (w)
  v5 = MatMul <f64[N,2,4]> v3 v4
  v6 = Target <f64[N,2,4]> (t)
  v7 = MSELoss <f64[]> v5 v6 (loss)
  return loss=v7`, emits: []string{"MatMulTN"}},
		{name: "MatMul/rows_nt", body: `
  v0 = Input <f64[N,5]> (x)
  v1 = Param <f64[5,6]> (a)
  v2 = MatMul <f64[N,6]> v0 v1
  v3 = Reshape <f64[N,2,3]> v2
  v4 = Param <f64[4,3]> (w)
  v5 = MatMul <f64[N,2,4]> v3 v4 {tb=true}
  v6 = Target <f64[N,2,4]> (t)
  v7 = MSELoss <f64[]> v5 v6 (loss)
  return loss=v7`, emits: []string{"MatMulTN"}},
		// The same value on both sides: uᵀ·u, its gradients summed.
		{name: "MatMul/N_gram", body: lift3 + `
  v3 = MatMul <f64[3,3]> v2 v2 {ta=true}
  v4 = Target <f64[3,3]> (t)
  v5 = MSELoss <f64[]> v3 v4 (loss)
  return loss=v5`},
		{name: "MatMul/rows_4d", body: `
  v0 = Input <f64[N,5]> (x)
  v1 = Param <f64[5,12]> (a)
  v2 = MatMul <f64[N,12]> v0 v1
  v3 = Reshape <f64[N,2,2,3]> v2
  v4 = Param <f64[4,3]> (w)
  v5 = MatMul <f64[N,2,2,4]> v3 v4 {tb=true}
  v6 = Target <f64[N,2,2,4]> (t)
  v7 = MSELoss <f64[]> v5 v6 (loss)
  return loss=v7`, emits: []string{"MatMulTN"}},
		{name: "MatMul/batched_4d", body: `
  v0 = Input <f64[N,5]> (x)
  v1 = Param <f64[5,12]> (a)
  v2 = MatMul <f64[N,12]> v0 v1
  v3 = Reshape <f64[N,2,2,3]> v2
  v4 = Param <f64[5,24]> (b)
  v5 = MatMul <f64[N,24]> v0 v4
  v6 = Reshape <f64[N,2,3,4]> v5
  v7 = MatMul <f64[N,2,2,4]> v3 v6
  v8 = Target <f64[N,2,2,4]> (t)
  v9 = MSELoss <f64[]> v7 v8 (loss)
  return loss=v9`},
		{name: "MatMul/batched_fixed", body: `
  v0 = Param <f64[2,2,3]> (a)
  v1 = Param <f64[2,3,4]> (b)
  v2 = MatMul <f64[2,2,4]> v0 v1
  v3 = Target <f64[2,2,4]> (t)
  v4 = MSELoss <f64[]> v2 v3 (loss)
  return loss=v4`},
	}
	// Batched products of two lifted operands, u = x·a and v = x·b
	// reshaped, over every transpose combination.
	for _, b := range []struct {
		name           string
		attrs          string
		ushape, vshape string
	}{
		{"nn", "", "2,3", "3,4"},
		{"tn", " {ta=true}", "3,2", "3,4"},
		{"nt", " {tb=true}", "2,3", "4,3"},
		{"tt", " {ta=true,tb=true}", "3,2", "4,3"},
	} {
		cs = append(cs, vjpCase{name: "MatMul/batched_" + b.name, body: fmt.Sprintf(`
  v0 = Input <f64[N,5]> (x)
  v1 = Param <f64[5,6]> (a)
  v2 = MatMul <f64[N,6]> v0 v1
  v3 = Reshape <f64[N,%s]> v2
  v4 = Param <f64[5,12]> (b)
  v5 = MatMul <f64[N,12]> v0 v4
  v6 = Reshape <f64[N,%s]> v5
  v7 = MatMul <f64[N,2,4]> v3 v6%s
  v8 = Target <f64[N,2,4]> (t)
  v9 = MSELoss <f64[]> v7 v8 (loss)
  return loss=v9`, b.ushape, b.vshape, b.attrs)})
	}
	return cs
}

// axisCases checks softmax and log-softmax along an inner and the last
// axis of a 3-D value, the reductions and the reshape.
func axisCases() []vjpCase {
	var cs []vjpCase
	for _, op := range []string{"Softmax", "LogSoftmax"} {
		for _, dim := range []string{"1", "-1"} {
			cs = append(cs, vjpCase{name: op + "/dim" + dim, body: fmt.Sprintf(lift34+`
  v4 = %s <f64[N,3,4]> v3 {dim=%s}
  v5 = Target <f64[N,3,4]> (t)
  v6 = MSELoss <f64[]> v4 v5 (loss)
  return loss=v6`, op, dim), emits: []string{op + "Grad"}})
		}
	}
	for _, op := range []string{"Sum", "Mean"} {
		cs = append(cs,
			vjpCase{name: op + "/dim0", body: fmt.Sprintf(`
  v0 = Param <f64[3,4]> (a)
  v1 = %s <f64[4]> v0 {dim=0}
  v2 = Target <f64[4]> (t)
  v3 = MSELoss <f64[]> v1 v2 (loss)
  return loss=v3`, op), emits: []string{"BroadcastTo"}},
			vjpCase{name: op + "/dim1", body: fmt.Sprintf(lift34+`
  v4 = %s <f64[N,4]> v3 {dim=1}
  v5 = Target <f64[N,4]> (t)
  v6 = MSELoss <f64[]> v4 v5 (loss)
  return loss=v6`, op), emits: []string{"BroadcastTo"}},
			vjpCase{name: op + "/dim-1", body: fmt.Sprintf(lift3+`
  v3 = %s <f64[N]> v2 {dim=-1}
  v4 = Target <f64[N]> (t)
  v5 = MSELoss <f64[]> v3 v4 (loss)
  return loss=v5`, op), emits: []string{"BroadcastTo"}},
			// Over the batch dimension, whose size is known only when
			// the step runs. A sum over it has a gradient; a mean over it
			// the front end refuses (see
			// testdata/golden/err_mean_over_batch.txtar), and the IR too.
			vjpCase{name: op + "/dimN", body: fmt.Sprintf(lift3+`
  v3 = %s <f64[3]> v2 {dim=0}
  v4 = Target <f64[3]> (t)
  v5 = MSELoss <f64[]> v3 v4 (loss)
  return loss=v5`, op), emits: []string{"BroadcastTo"}, rejects: map[string]string{"Mean": "ir: vjp: v3: mean over the batch dimension of [N, 3]"}[op]},
		)
	}
	return append(cs,
		vjpCase{name: "SumAll/param", body: `
  v0 = Param <f64[3,4]> (a)
  v1 = SumAll <f64[]> v0
  v2 = Target <f64[]> (t)
  v3 = MSELoss <f64[]> v1 v2 (loss)
  return loss=v3`, emits: []string{"BroadcastTo"}},
		vjpCase{name: "SumAll/N", body: lift3 + `
  v3 = SumAll <f64[]> v2
  v4 = Target <f64[]> (t)
  v5 = MSELoss <f64[]> v3 v4 (loss)
  return loss=v5`, emits: []string{"BroadcastTo"}},
		vjpCase{name: "Reshape/param", body: `
  v0 = Param <f64[3,4]> (a)
  v1 = Reshape <f64[2,6]> v0
  v2 = Target <f64[2,6]> (t)
  v3 = MSELoss <f64[]> v1 v2 (loss)
  return loss=v3`},
		vjpCase{name: "Reshape/N", body: `
  v0 = Input <f64[N,5]> (x)
  v1 = Param <f64[5,6]> (a)
  v2 = MatMul <f64[N,6]> v0 v1
  v3 = Reshape <f64[N,3,2]> v2
  v4 = Target <f64[N,3,2]> (t)
  v5 = MSELoss <f64[]> v3 v4 (loss)
  return loss=v5`},
	)
}

// lossCases checks the losses, each the graph's loss.
func lossCases() []vjpCase {
	return []vjpCase{
		{name: "NLLLoss/logsoftmax_dim1", body: lift3 + `
  v3 = LogSoftmax <f64[N,3]> v2 {dim=1}
  v4 = Target <i32[N]> (y)
  v5 = NLLLoss <f64[]> v3 v4 (loss)
  return loss=v5`, emits: []string{"NLLLossGrad", "LogSoftmaxGrad"}},
		{name: "NLLLoss/logsoftmax_dim-1", body: lift3 + `
  v3 = LogSoftmax <f64[N,3]> v2 {dim=-1}
  v4 = Target <i32[N]> (y)
  v5 = NLLLoss <f64[]> v3 v4 (loss)
  return loss=v5`, emits: []string{"NLLLossGrad", "LogSoftmaxGrad"}},
		{name: "NLLLoss/direct", body: lift3 + `
  v3 = Target <i32[N]> (y)
  v4 = NLLLoss <f64[]> v2 v3 (loss)
  return loss=v4`, emits: []string{"NLLLossGrad"}},
		{name: "SoftmaxCrossEntropy", body: lift3 + `
  v3 = Target <i32[N]> (y)
  v4 = SoftmaxCrossEntropy <f64[]> v2 v3 (loss)
  return loss=v4`, emits: []string{"SoftmaxCrossEntropyGrad"}},
		{name: "MSELoss/param", body: `
  v0 = Param <f64[4,3]> (a)
  v1 = Target <f64[4,3]> (t)
  v2 = MSELoss <f64[]> v0 v1 (loss)
  return loss=v2`, emits: []string{"MSELossGrad"}},
		{name: "MSELoss/N", body: lift3 + `
  v3 = Target <f64[N,3]> (t)
  v4 = MSELoss <f64[]> v2 v3 (loss)
  return loss=v4`, emits: []string{"MSELossGrad"}},
		{name: "BCEWithLogitsLoss", body: lift3 + `
  v3 = Target <f64[N,3]> (t)
  v4 = BCEWithLogitsLoss <f64[]> v2 v3 (loss)
  return loss=v4`, prob: []string{"t"}, emits: []string{"BCEWithLogitsLossGrad"}},
	}
}

// convCases checks the convolutional layers' rules on lifted images.
func convCases() []vjpCase {
	const lift2x4x4 = `
  v0 = Input <f64[N,5]> (x)
  v1 = Param <f64[5,32]> (a)
  v2 = MatMul <f64[N,32]> v0 v1
  v3 = Reshape <f64[N,2,4,4]> v2`
	return []vjpCase{
		{name: "Conv2d/pad1", body: lift2x4x4 + `
  v4 = Param <f64[3,2,3,3]> (w)
  v5 = Param <f64[3]> (b)
  v6 = Conv2d <f64[N,3,4,4]> v3 v4 v5 {stride=1,padding=1}
  v7 = Target <f64[N,3,4,4]> (t)
  v8 = MSELoss <f64[]> v6 v7 (loss)
  return loss=v8`, emits: []string{"Conv2dGradInput", "Conv2dGradWeight", "ChannelSum"}},
		{name: "Conv2d/stride2_nobias", body: lift2x4x4 + `
  v4 = Param <f64[3,2,2,2]> (w)
  v6 = Conv2d <f64[N,3,2,2]> v3 v4 {stride=2,padding=0}
  v7 = Target <f64[N,3,2,2]> (t)
  v8 = MSELoss <f64[]> v6 v7 (loss)
  return loss=v8`, emits: []string{"Conv2dGradInput", "Conv2dGradWeight"}},
		{name: "MaxPool2d", body: lift2x4x4 + `
  v4 = MaxPool2d <f64[N,2,2,2]> v3 {kernel=2,stride=2}
  v7 = Target <f64[N,2,2,2]> (t)
  v8 = MSELoss <f64[]> v4 v7 (loss)
  return loss=v8`, emits: []string{"MaxPool2dGrad"}},
		{name: "MaxPool2d/overlapping", body: lift2x4x4 + `
  v4 = MaxPool2d <f64[N,2,3,3]> v3 {kernel=2,stride=1}
  v7 = Target <f64[N,2,3,3]> (t)
  v8 = MSELoss <f64[]> v4 v7 (loss)
  return loss=v8`, emits: []string{"MaxPool2dGrad"}},
		{name: "LayerNorm/3d", body: lift34 + `
  v4 = Param <f64[4]> (w)
  v5 = Param <f64[4]> (b)
  v6 = LayerNorm <f64[N,3,4]> v3 v4 v5 {eps=1e-05}
  v7 = Target <f64[N,3,4]> (t)
  v8 = MSELoss <f64[]> v6 v7 (loss)
  return loss=v8`, emits: []string{"LayerNormGradInput", "LayerNormGradWeight", "SumTo"}},
		{name: "LayerNorm/2d", body: lift3 + `
  v3 = Param <f64[3]> (w)
  v4 = Param <f64[3]> (b)
  v5 = LayerNorm <f64[N,3]> v2 v3 v4 {eps=1e-05}
  v7 = Target <f64[N,3]> (t)
  v8 = MSELoss <f64[]> v5 v7 (loss)
  return loss=v8`, emits: []string{"LayerNormGradInput", "LayerNormGradWeight", "SumTo"}},
		{name: "Embedding", body: `
  v0 = Input <i64[N,3]> (ids)
  v1 = Param <f64[5,4]> (w)
  v2 = Embedding <f64[N,3,4]> v0 v1
  v3 = Target <f64[N,3,4]> (t)
  v4 = MSELoss <f64[]> v2 v3 (loss)
  return loss=v4`, emits: []string{"EmbeddingGrad"}},
		{name: "Embedding/then_layernorm", body: `
  v0 = Input <i64[N,3]> (ids)
  v1 = Param <f64[5,4]> (w)
  v2 = Embedding <f64[N,3,4]> v0 v1
  v3 = Param <f64[4]> (g)
  v4 = Param <f64[4]> (b)
  v5 = LayerNorm <f64[N,3,4]> v2 v3 v4 {eps=1e-05}
  v6 = Target <f64[N,3,4]> (t)
  v7 = MSELoss <f64[]> v5 v6 (loss)
  return loss=v7`, emits: []string{"EmbeddingGrad", "LayerNormGradInput"}},
		{name: "BatchNormTrain/1d", body: lift3 + `
  v3 = Param <f64[3]> (w)
  v4 = Param <f64[3]> (b)
  v5 = BatchNormTrain <f64[N,3]> v2 v3 v4 {eps=1e-05,momentum=0.1}
  v7 = Target <f64[N,3]> (t)
  v8 = MSELoss <f64[]> v5 v7 (loss)
  return loss=v8`, emits: []string{"BatchNormGradInput", "BatchNormGradWeight", "ChannelSum"}},
		// Evaluation mode, which explanations differentiate: the input's
		// gradient alone (the statistics are buffers here, the scale and
		// shift too, since no gradient flows to them).
		{name: "BatchNorm/eval", body: lift3 + `
  v3 = Buffer <f64[3]> (w)
  v4 = Buffer <f64[3]> (b)
  v5 = Buffer <f64[3]> (rm)
  v6 = Buffer <f64[3]> (rv)
  v7 = BatchNorm <f64[N,3]> v2 v3 v4 v5 v6 {eps=1e-05}
  v8 = Target <f64[N,3]> (t)
  v9 = MSELoss <f64[]> v7 v8 (loss)
  return loss=v9`, pos: []string{"rv"}, emits: []string{"BroadcastTo"}},
		{name: "BatchNormTrain/2d", body: lift2x4x4 + `
  v4 = Param <f64[2]> (w)
  v5 = Param <f64[2]> (b)
  v6 = BatchNormTrain <f64[N,2,4,4]> v3 v4 v5 {eps=1e-05,momentum=0.1}
  v7 = Target <f64[N,2,4,4]> (t)
  v8 = MSELoss <f64[]> v6 v7 (loss)
  return loss=v8`, emits: []string{"BatchNormGradInput", "BatchNormGradWeight", "ChannelSum"}},
	}
}

// tiedCases use one parameter twice, as weight tying (tok.weight) does:
// the grad pass must add the gradients of both uses.
func tiedCases() []vjpCase {
	return []vjpCase{
		{name: "Tied/embedding_and_matmul", body: `
  v0 = Input <i64[N,3]> (ids)
  v1 = Param <f64[5,4]> (w)
  v2 = Embedding <f64[N,3,4]> v0 v1
  v3 = Param <f64[4,5]> (u)
  v4 = MatMul <f64[N,3,5]> v2 v3
  v5 = MatMul <f64[N,3,4]> v4 v1
  v6 = Target <f64[N,3,4]> (t)
  v7 = MSELoss <f64[]> v5 v6 (loss)
  return loss=v7`, emits: []string{"EmbeddingGrad", "MatMul"}},
		{name: "Tied/twice_in_a_product", body: lift3 + `
  v3 = Param <f64[3,3]> (b)
  v4 = MatMul <f64[N,3]> v2 v3
  v5 = MatMul <f64[N,3]> v4 v3
  v6 = Target <f64[N,3]> (t)
  v7 = MSELoss <f64[]> v5 v6 (loss)
  return loss=v7`},
	}
}

func vjpCases() []vjpCase {
	return slices.Concat(binaryCases(), unaryCases(), matmulCases(), axisCases(), lossCases(), convCases(), tiedCases(), attentionCases(), attnCases(), onnxCases())
}

// attentionCases checks scaled dot-product attention's rule, causal and
// not, over rank 3 (q of another length than k and v, v of another width)
// and rank 4, and with q, k and v one value, whose three gradients add up.
func attentionCases() []vjpCase {
	// lifts gives q [N,3,4] in v3, k [N,5,4] in v6 and v [N,5,2] in v9.
	const lifts = `
  v0 = Input <f64[N,5]> (x)
  v1 = Param <f64[5,12]> (a)
  v2 = MatMul <f64[N,12]> v0 v1
  v3 = Reshape <f64[N,3,4]> v2
  v4 = Param <f64[5,20]> (b)
  v5 = MatMul <f64[N,20]> v0 v4
  v6 = Reshape <f64[N,5,4]> v5
  v7 = Param <f64[5,10]> (c)
  v8 = MatMul <f64[N,10]> v0 v7
  v9 = Reshape <f64[N,5,2]> v8`
	// lifts4 gives q, k and v [N,2,3,4] in v3, v6 and v9.
	const lifts4 = `
  v0 = Input <f64[N,5]> (x)
  v1 = Param <f64[5,24]> (a)
  v2 = MatMul <f64[N,24]> v0 v1
  v3 = Reshape <f64[N,2,3,4]> v2
  v4 = Param <f64[5,24]> (b)
  v5 = MatMul <f64[N,24]> v0 v4
  v6 = Reshape <f64[N,2,3,4]> v5
  v7 = Param <f64[5,24]> (c)
  v8 = MatMul <f64[N,24]> v0 v7
  v9 = Reshape <f64[N,2,3,4]> v8`
	emits := []string{"AttentionGradScores", "AttentionGradV", "MatMul"}
	var cs []vjpCase
	for _, causal := range []bool{false, true} {
		attrs, name := "", "plain"
		if causal {
			attrs, name = " {causal=true}", "causal"
		}
		cs = append(cs,
			vjpCase{name: "Attention/3d_" + name, body: lifts + `
  v10 = Attention <f64[N,3,2]> v3 v6 v9` + attrs + `
  v11 = Target <f64[N,3,2]> (t)
  v12 = MSELoss <f64[]> v10 v11 (loss)
  return loss=v12`, emits: emits},
			vjpCase{name: "Attention/4d_" + name, body: lifts4 + `
  v10 = Attention <f64[N,2,3,4]> v3 v6 v9` + attrs + `
  v11 = Target <f64[N,2,3,4]> (t)
  v12 = MSELoss <f64[]> v10 v11 (loss)
  return loss=v12`, emits: emits},
			vjpCase{name: "Attention/self_" + name, body: lift34 + `
  v4 = Attention <f64[N,3,4]> v3 v3 v3` + attrs + `
  v5 = Target <f64[N,3,4]> (t)
  v6 = MSELoss <f64[]> v4 v5 (loss)
  return loss=v6`, emits: emits},
		)
	}
	cs = append(cs, vjpCase{name: "Attention/rank_differs", body: lifts + `
  v10 = Reshape <f64[N,1,3,4]> v2
  v11 = Attention <f64[N,1,3,2]> v10 v6 v9
  return loss=v11`, rejects: "ir: vjp: v11: attention of q [N, 1, 3, 4], k [N, 5, 4], v [N, 5, 2]: leading dimensions differ"})
	return cs
}

// attnCases checks the ops of attention written out by hand (issue 14):
// the tanh form of gelu, transpose of every kind of axis pair, and a head
// of attention, softmax(q·kᵀ·c)·v with q, k, v reshaped into heads.
func attnCases() []vjpCase {
	cs := []vjpCase{
		{name: "Gelu/tanh_param", body: `
  v0 = Param <f64[4,3]> (a)
  v1 = Gelu <f64[4,3]> v0 {approximate="tanh"}
  v2 = Target <f64[4,3]> (t)
  v3 = MSELoss <f64[]> v1 v2 (loss)
  return loss=v3`, emits: []string{"GeluGrad"}},
		{name: "Gelu/tanh_N", body: lift3 + `
  v3 = Gelu <f64[N,3]> v2 {approximate="tanh"}
  v4 = Tanh <f64[N,3]> v3
  v5 = Gelu <f64[N,3]> v4 {approximate="none"}
  v6 = Target <f64[N,3]> (t)
  v7 = MSELoss <f64[]> v5 v6 (loss)
  return loss=v7`},
		{name: "Gelu/approximate_unknown", body: `
  v0 = Param <f64[4,3]> (a)
  v1 = Gelu <f64[4,3]> v0 {approximate="fast"}
  return out=v1`, rejects: `ir: vjp: v1: gelu: approximate must be "none" or "tanh", not "fast"`},
		{name: "Transpose/param", body: `
  v0 = Param <f64[3,4]> (a)
  v1 = Transpose <f64[4,3]> v0 {d0=0,d1=1}
  v2 = Target <f64[4,3]> (t)
  v3 = MSELoss <f64[]> v1 v2 (loss)
  return loss=v3`, emits: []string{"Transpose"}},
		{name: "Transpose/last2_negative", body: lift34 + `
  v4 = Transpose <f64[N,4,3]> v3 {d0=-1,d1=-2}
  v5 = Target <f64[N,4,3]> (t)
  v6 = MSELoss <f64[]> v4 v5 (loss)
  return loss=v6`},
		{name: "Transpose/batch_axis", body: lift34 + `
  v4 = Transpose <f64[4,3,N]> v3 {d0=0,d1=2}
  v5 = Param <f64[4,3,1]> (b)
  v6 = Mul <f64[4,3,N]> v4 v5
  v7 = Transpose <f64[N,3,4]> v6 {d0=2,d1=0}
  v8 = Target <f64[N,3,4]> (t)
  v9 = MSELoss <f64[]> v7 v8 (loss)
  return loss=v9`},
		{name: "Transpose/out_of_range", body: lift34 + `
  v4 = Transpose <f64[N,4,3]> v3 {d0=1,d1=3}
  return out=v4`, rejects: "ir: vjp: v4: transpose of [N, 3, 4]: dimensions 1 and 3, needs each in [-3, 3)"},
		// One step of two-head attention over 3 positions of width 2:
		// u = x·a reshaped to [N, 3, 2, 2] (positions, heads, width) and
		// transposed into heads, q = k = v = u, as self-attention reads
		// one value three times.
		{name: "Transpose/attention_heads", body: `
  v0 = Input <f64[N,5]> (x)
  v1 = Param <f64[5,12]> (a)
  v2 = MatMul <f64[N,12]> v0 v1
  v3 = Reshape <f64[N,3,2,2]> v2
  v4 = Transpose <f64[N,2,3,2]> v3 {d0=1,d1=2}
  v5 = Param <f64[5,12]> (b)
  v6 = MatMul <f64[N,12]> v0 v5
  v7 = Reshape <f64[N,3,2,2]> v6
  v8 = Transpose <f64[N,2,3,2]> v7 {d0=1,d1=2}
  v9 = Transpose <f64[N,2,2,3]> v8 {d0=2,d1=3}
  v10 = MatMul <f64[N,2,3,3]> v4 v9
  v11 = Const <f64[]> {value=0.7}
  v12 = Mul <f64[N,2,3,3]> v10 v11
  v13 = Softmax <f64[N,2,3,3]> v12 {dim=3}
  v14 = MatMul <f64[N,2,3,2]> v13 v4
  v15 = Transpose <f64[N,3,2,2]> v14 {d0=1,d1=2}
  v16 = Reshape <f64[N,12]> v15
  v17 = Target <f64[N,12]> (t)
  v18 = MSELoss <f64[]> v16 v17 (loss)
  return loss=v18`, emits: []string{"Transpose", "SoftmaxGrad"}},
	}
	return cs
}

// vjpGraph parses a case's graph: a training step with SGD.
func vjpGraph(t *testing.T, c vjpCase) *ir.Graph {
	t.Helper()
	src := fmt.Sprintf("graph vjp %q {batch=%d,optimizer=\"SGD\",lr=%g} {%s\n}\n", "vjp_test.go", vjpBatch, vjpLR, c.body)
	g, err := ir.Parse(src)
	if c.rejects != "" {
		if err == nil || err.Error() != c.rejects {
			t.Fatalf("ir.Parse gave %v, want %s\n%s", err, c.rejects, src)
		}
		return nil
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	return g
}

// sources are the values of a graph's sources, by name: parameters,
// inputs and float targets in f, class targets in classes.
type sources struct {
	f       map[string][]float64
	classes []int32
	ids     map[string][]int64 // i64 inputs: token ids
}

// drawSources draws every source of g from rng in graph order: ±[0.1, 1]
// (away from ReLU's kink and from 0 as a divisor) unless c says otherwise,
// class targets uniform over the classes of the loss that reads them.
func drawSources(t *testing.T, g *ir.Graph, c vjpCase, rng *rand.Rand) sources {
	t.Helper()
	classes := map[*ir.Value]int{}
	for _, v := range g.Values {
		if v.Op == ir.OpNLLLoss || v.Op == ir.OpSoftmaxCrossEntropy || v.Op == ir.OpCorrect {
			classes[v.Args[1]] = v.Args[0].Type.Shape[1]
		}
	}
	ids := map[*ir.Value]int{} // i64 inputs: the rows of the table they index
	for _, v := range g.Values {
		if v.Op == ir.OpEmbedding {
			ids[v.Args[0]] = v.Args[1].Type.Shape[0]
		}
	}
	s := sources{f: map[string][]float64{}, ids: map[string][]int64{}}
	for _, v := range g.Values {
		switch v.Op {
		case ir.OpParam, ir.OpBuffer, ir.OpInput, ir.OpTarget:
		default:
			continue
		}
		n := v.Type.Shape.Size(vjpBatch)
		if v.Type.DType == ir.I64 {
			k := ids[v]
			if k == 0 {
				t.Fatalf("i64 input %s indexes no embedding", v.Name)
			}
			for range n {
				s.ids[v.Name] = append(s.ids[v.Name], int64(rng.IntN(k)))
			}
			continue
		}
		if v.Type.DType == ir.I32 {
			k := classes[v]
			if k == 0 {
				t.Fatalf("class target %s is read by no class loss", v.Name)
			}
			for range n {
				s.classes = append(s.classes, int32(rng.IntN(k)))
			}
			continue
		}
		if v.Name == "" {
			t.Fatalf("v%d: a %s needs a name", v.ID, v.Op)
		}
		x := make([]float64, n)
		for i := range x {
			switch {
			case slices.Contains(c.prob, v.Name):
				x[i] = rng.Float64()
			case slices.Contains(c.pos, v.Name):
				x[i] = 0.1 + 0.9*rng.Float64()
			default:
				x[i] = 0.1 + 0.9*rng.Float64()
				if rng.IntN(2) == 0 {
					x[i] = -x[i]
				}
			}
		}
		s.f[v.Name] = x
	}
	return s
}

// rig is a planned graph compiled by the interpreter over its own store.
type rig struct {
	g      *ir.Graph
	m      *interp.Machine[float64]
	store  *interp.Store[float64]
	src    sources
	params []string // the parameters' names, in graph order
}

func newRig(t *testing.T, g *ir.Graph, src sources) *rig {
	t.Helper()
	store := interp.NewStore[float64]()
	m, err := interp.New(g, store, 1)
	if err != nil {
		t.Fatalf("interp.New: %v\n%s", err, ir.Print(g))
	}
	r := &rig{g: g, m: m, store: store, src: src}
	for _, p := range g.Sources(ir.OpParam) {
		r.params = append(r.params, p.Name)
	}
	r.loadParams()
	for _, v := range g.Sources(ir.OpBuffer) {
		copy(store.F[v.Name], src.f[v.Name]) // constant statistics: drawn once
	}
	for _, v := range g.Sources(ir.OpInput) {
		copy(m.Input(v.Name), src.f[v.Name])
	}
	for _, in := range m.InputTensors() {
		copy(in.I64, src.ids[in.Name])
	}
	cls, ft := m.Targets()
	copy(cls, src.classes)
	for _, v := range g.Sources(ir.OpTarget) {
		if v.Type.DType != ir.I32 {
			copy(ft, src.f[v.Name])
		}
	}
	return r
}

// loadParams writes the drawn parameters into the store.
func (r *rig) loadParams() {
	for _, p := range r.params {
		copy(r.store.F[p], r.src.f[p])
	}
}

// step runs a step over a full batch and returns the loss.
func (r *rig) step(t *testing.T) float64 {
	t.Helper()
	if err := r.m.Run(vjpBatch); err != nil {
		testenv.NoInternal(t, err)
		t.Fatalf("Run: %v", err)
	}
	loss, ok := r.m.Output("loss")
	if !ok || math.IsNaN(loss) || math.IsInf(loss, 0) {
		t.Fatalf("loss = %v, %v", loss, ok)
	}
	return loss
}

// checkSources fails t if a step changed an input or a target, or, with
// params set, a parameter: only the optimizer's outputs may be written
// back.
func (r *rig) checkSources(t *testing.T, params bool) {
	t.Helper()
	for _, v := range r.g.Sources(ir.OpInput) {
		checkSame(t, "input "+v.Name, r.m.Input(v.Name), r.src.f[v.Name])
	}
	cls, ft := r.m.Targets()
	if !slices.Equal(cls[:len(r.src.classes)], r.src.classes) {
		t.Errorf("class targets changed by a step: %v, were %v", cls, r.src.classes)
	}
	for _, v := range r.g.Sources(ir.OpTarget) {
		if v.Type.DType != ir.I32 {
			checkSame(t, "target "+v.Name, ft, r.src.f[v.Name])
		}
	}
	if params {
		for _, p := range r.params {
			checkSame(t, "parameter "+p, r.store.F[p], r.src.f[p])
		}
	}
}

func checkSame(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if !slices.Equal(got[:len(want)], want) {
		t.Errorf("%s changed by a step: %v, was %v", what, got[:len(want)], want)
	}
}

// numGrad returns the central-difference gradient of the loss with
// respect to parameter p, the other parameters at their drawn values.
// Every evaluation reloads the parameters, since a step of the pipeline
// variant writes updated ones back.
func (r *rig) numGrad(t *testing.T, p string) []float64 {
	t.Helper()
	defer r.loadParams()
	return fd.Gradient(nil, func(x []float64) float64 {
		r.loadParams()
		copy(r.store.F[p], x)
		return r.step(t)
	}, slices.Clone(r.src.f[p]), &fd.Settings{Formula: fd.Central, Step: fdStep})
}

// gradError compares an analytic gradient with a reference: worst is the
// largest |got−want|/max(1, |want|), at index at; rel the largest
// |got−want|/|want| over the components where |want| > 1e-6.
func gradError(got, want []float64) (worst float64, at int, rel float64) {
	for i := range want {
		d := math.Abs(got[i] - want[i])
		if math.IsNaN(d) {
			return math.Inf(1), i, math.Inf(1)
		}
		if e := d / math.Max(1, math.Abs(want[i])); e > worst {
			worst, at = e, i
		}
		if w := math.Abs(want[i]); w > 1e-6 {
			rel = math.Max(rel, d/w)
		}
	}
	return worst, at, rel
}

// checkGrad fails t when got and want differ by more than tol; it returns
// the errors for the log.
func checkGrad(t *testing.T, what string, got, want []float64, tol float64) (worst, rel float64) {
	t.Helper()
	worst, at, rel := gradError(got, want)
	if worst > tol {
		t.Errorf("%s: error %.3g at [%d] (tolerance %g): %v, want %v\ngot  %v\nwant %v", what, worst, at, tol, got[at], want[at], got, want)
	}
	return worst, rel
}

// runPasses runs the named passes over g, verifying the graph after each.
func runPasses(t *testing.T, g *ir.Graph, names ...string) {
	t.Helper()
	for _, name := range names {
		p, ok := Lookup(name)
		if !ok {
			t.Fatalf("no pass %s", name)
		}
		if err := runOne(p, g, true); err != nil {
			t.Fatalf("%v\n%s", err, ir.Print(g))
		}
	}
}

func TestVJP(t *testing.T) {
	for _, c := range vjpCases() {
		t.Run(c.name, func(t *testing.T) {
			g0 := vjpGraph(t, c)
			if g0 == nil {
				return // refused, as the case wants
			}
			src := drawSources(t, g0, c, rand.New(rand.NewPCG(1, 1)))

			// The rules alone: grad, then memplan.
			g := g0.Clone()
			runPasses(t, g, "grad", "memplan")
			for _, op := range c.emits {
				if !slices.ContainsFunc(g.Values, func(v *ir.Value) bool { return v.Op.String() == op }) {
					t.Errorf("grad emitted no %s:\n%s", op, ir.Print(g))
				}
			}
			r := newRig(t, g, src)
			loss := r.step(t)
			r.checkSources(t, true)
			grads := map[string][]float64{}
			var worst, rel float64
			for _, p := range r.params {
				out := r.m.OutputTensor("grad." + p)
				if out == nil {
					t.Fatalf("no output grad.%s:\n%s", p, ir.Print(g))
				}
				grads[p] = slices.Clone(out[:len(src.f[p])])
			}
			for _, p := range r.params {
				w, rl := checkGrad(t, "grad."+p, grads[p], r.numGrad(t, p), fdTol)
				worst, rel = max(worst, w), max(rel, rl)
			}

			// The whole pipeline: the SGD step writes p − lr·grad back.
			gp := g0.Clone()
			if err := Run(gp, Options{Verify: true}); err != nil {
				t.Fatalf("pipeline: %v", err)
			}
			rp := newRig(t, gp, src)
			lossp := rp.step(t)
			rp.checkSources(t, false)
			if math.Abs(loss-lossp) > sameTol*math.Max(1, math.Abs(loss)) {
				t.Errorf("loss after the pipeline %v, after grad alone %v", lossp, loss)
			}
			if s := rp.store.I64["optimizer.step"]; len(s) != 1 || s[0] != 1 {
				t.Errorf("optimizer.step after one step = %v, want [1]", s)
			}
			// Read every update before numGrad runs more steps.
			stepped := map[string][]float64{}
			for _, p := range rp.params {
				d := make([]float64, len(src.f[p]))
				for i, x := range src.f[p] {
					d[i] = (x - rp.store.F[p][i]) / vjpLR
				}
				stepped[p] = d
			}
			var worstp, relp float64
			for _, p := range rp.params {
				checkGrad(t, "pipeline grad."+p+" against grad alone", stepped[p], grads[p], sameTol)
				w, rl := checkGrad(t, "pipeline grad."+p, stepped[p], rp.numGrad(t, p), fdTol)
				worstp, relp = max(worstp, w), max(relp, rl)
			}
			t.Logf("worst error: %.2g (relative %.2g); after the pipeline %.2g (relative %.2g)", worst, rel, worstp, relp)
		})
	}
}

// mlpStep is a training step of a two-layer classifier as build.Build writes
// it for `h = relu(fc1(x)); return fc2(h)` with cross_entropy.
const mlpStep = `graph MLP.train_step "mlp.nn" {batch=4,optimizer="SGD",lr=0.1,momentum=0.0,dampening=0.0,weight_decay=0.0,nesterov=false} {
  v0 = Input <f64[N,4]> (x) @5:13
  v1 = Param <f64[6,4]> {init="uniform",fan_in=4} (fc1.weight) @2:5
  v2 = Param <f64[6]> {init="uniform",fan_in=4} (fc1.bias) @2:5
  v3 = Param <f64[3,6]> {init="uniform",fan_in=6} (fc2.weight) @3:5
  v4 = Param <f64[3]> {init="uniform",fan_in=6} (fc2.bias) @3:5
  v5 = MatMul <f64[N,6]> v0 v1 {tb=true} @6:18
  v6 = Add <f64[N,6]> v5 v2 @6:18
  v7 = Relu <f64[N,6]> v6 (h) @6:13
  v8 = MatMul <f64[N,3]> v7 v3 {tb=true} @7:16
  v9 = Add <f64[N,3]> v8 v4 @7:16
  v10 = Target <i32[N]> (y)
  v11 = LogSoftmax <f64[N,3]> v9 {dim=1} @7:16
  v12 = NLLLoss <f64[]> v11 v10 (loss) @7:16
  v13 = Correct <i32[]> v9 v10 @7:16
  return loss=v12 correct=v13
}
`

// TestVJPPipelineMLP trains a small MLP for a few steps through the whole
// pipeline, whose fused ops (LinearRelu, Linear, SoftmaxCrossEntropy and its
// gradient) replace those the VJP rules differentiate, and checks each
// step against the gradients of grad alone at the same parameters: the new
// parameters must be p − lr·grad. The gradients of grad alone are checked
// against finite differences at the first step.
func TestVJPPipelineMLP(t *testing.T) {
	const lr = 0.1 // the graph's
	parse := func() *ir.Graph {
		g, err := ir.Parse(mlpStep)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	ref := parse()
	runPasses(t, ref, "grad", "memplan")
	opt := parse()
	if err := Run(opt, Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, v := range opt.Values {
		ops[v.Op.String()]++
	}
	for _, op := range []string{"LinearRelu", "Linear", "SoftmaxCrossEntropy", "SoftmaxCrossEntropyGrad", "SGDStep"} {
		if ops[op] == 0 {
			t.Errorf("the pipeline did not produce %s:\n%s", op, ir.Print(opt))
		}
	}
	for _, op := range []string{"LogSoftmax", "NLLLoss", "Relu"} {
		if ops[op] != 0 {
			t.Errorf("the pipeline left %s unfused:\n%s", op, ir.Print(opt))
		}
	}

	src := drawSources(t, parse(), vjpCase{name: "mlp"}, rand.New(rand.NewPCG(1, 1)))
	r, ro := newRig(t, ref, src), newRig(t, opt, src)
	for step := range 3 {
		loss := r.step(t)
		r.checkSources(t, true)
		lossOpt := ro.step(t)
		ro.checkSources(t, false)
		if math.Abs(loss-lossOpt) > sameTol*math.Max(1, loss) {
			t.Errorf("step %d: loss %v after the pipeline, %v after grad alone", step, lossOpt, loss)
		}
		c1, _ := r.m.Output("correct")
		c2, _ := ro.m.Output("correct")
		if c1 != c2 {
			t.Errorf("step %d: %v correct after the pipeline, %v after grad alone", step, c2, c1)
		}
		// Read every gradient before numGrad runs more steps.
		grads := map[string][]float64{}
		for _, p := range r.params {
			grads[p] = slices.Clone(r.m.OutputTensor("grad." + p)[:len(src.f[p])])
		}
		next := map[string][]float64{}
		for _, p := range r.params {
			g := grads[p]
			if step == 0 {
				w, rel := checkGrad(t, "grad."+p, g, r.numGrad(t, p), fdTol)
				t.Logf("grad.%s: worst error %.2g (relative %.2g)", p, w, rel)
			}
			want := make([]float64, len(g))
			for i := range g {
				want[i] = src.f[p][i] - lr*g[i]
			}
			checkGrad(t, fmt.Sprintf("step %d: %s", step, p), ro.store.F[p], want, sameTol)
			next[p] = slices.Clone(ro.store.F[p])
		}
		// Both rigs go on from the pipeline's new parameters.
		for p, x := range next {
			copy(src.f[p], x)
		}
		r.loadParams()
		ro.loadParams()
	}
}

// TestClipGradNorm checks the optim pass's clipping against the gradients
// of the grad pass: with clip_grad_norm = c, an SGD step with learning rate
// 1 writes p − coef·grad, coef = c / (‖all grads‖ + 1e-6) when that is
// below 1 (torch.nn.utils.clip_grad_norm_), else p − grad.
func TestClipGradNorm(t *testing.T) {
	c := tiedCases()[0]
	g0 := vjpGraph(t, c)
	src := drawSources(t, g0, c, rand.New(rand.NewPCG(2, 2)))
	g := g0.Clone()
	runPasses(t, g, "grad", "memplan")
	r := newRig(t, g, src)
	r.step(t)
	grads := map[string][]float64{}
	sq := 0.0
	for _, p := range r.params {
		grads[p] = slices.Clone(r.m.OutputTensor("grad." + p)[:len(src.f[p])])
		for _, x := range grads[p] {
			sq += x * x
		}
	}
	norm := math.Sqrt(sq)
	for _, maxNorm := range []float64{norm / 3, norm * 2} {
		t.Run(fmt.Sprintf("max_norm=%.3g", maxNorm), func(t *testing.T) {
			gp := g0.Clone()
			gp.Attrs = append(gp.Attrs, ir.Attr{Key: "clip_grad_norm", Val: maxNorm})
			if err := Run(gp, Options{Verify: true}); err != nil {
				t.Fatalf("pipeline: %v", err)
			}
			if !slices.ContainsFunc(gp.Values, func(v *ir.Value) bool { return v.Op == ir.OpClipGrad }) {
				t.Fatalf("no ClipGrad in the step:\n%s", ir.Print(gp))
			}
			coef := math.Min(1, maxNorm/(norm+1e-6))
			rp := newRig(t, gp, src)
			rp.step(t)
			for _, p := range rp.params {
				want := make([]float64, len(src.f[p]))
				got := make([]float64, len(src.f[p]))
				for i, x := range src.f[p] {
					want[i] = coef * grads[p][i]
					got[i] = (x - rp.store.F[p][i]) / vjpLR
				}
				checkGrad(t, "clipped grad."+p, got, want, sameTol)
			}
		})
	}
}
