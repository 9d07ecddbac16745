package kernels

import "fmt"

// An IDError reports a token id outside [0, Num): the row it would select
// does not exist. Pos is the id's index in the flat ids slice, which the
// caller turns into batch and position.
type IDError struct {
	Pos int   // index of the id in ids
	ID  int64 // the id
	Num int   // number of rows of the table
}

func (e *IDError) Error() string {
	return fmt.Sprintf("id %d at index %d is outside [0, %d)", e.ID, e.Pos, e.Num)
}

// checkEmbedding panics unless the table operand, of length lt, holds
// num×dim values and the rows operand, of length lr, holds n×dim.
func checkEmbedding(fn, table string, lt int, rows string, lr, n, num, dim int) {
	if num < 0 || dim < 0 {
		panic(fmt.Sprintf("kernels.%s: negative size %d×%d", fn, num, dim))
	}
	need(fn, table, lt, num*dim)
	need(fn, rows, lr, n*dim)
}

// EmbeddingForward sets row i of out, an n×dim matrix with n = len(ids),
// to row ids[i] of weight, a num×dim matrix, as torch.nn.Embedding does.
//
// An id outside [0, num) is an error of the input, not of the program:
// EmbeddingForward then returns an *IDError for the first such id, with out
// written up to that row. It panics if weight is shorter than num*dim or
// out than len(ids)*dim.
func EmbeddingForward[T Float](out []T, weight []T, ids []int64, num, dim int) error {
	checkEmbedding("EmbeddingForward", "weight", len(weight), "out", len(out), len(ids), num, dim)
	for i, id := range ids {
		if id < 0 || id >= int64(num) {
			return &IDError{Pos: i, ID: id, Num: num}
		}
		k := int(id)
		copy(out[i*dim:(i+1)*dim], weight[k*dim:(k+1)*dim])
	}
	return nil
}

// EmbeddingBackward sets dw, the gradient of a num×dim embedding table, to
// the scatter-add of dy, the n×dim gradient of EmbeddingForward's output
// (n = len(ids)): dw is zeroed, then row i of dy is added to row ids[i] of
// dw for i = 0, 1, ..., n-1. Each row of dw is thus a sum in the order of
// ids, as in PyTorch's CPU kernel, so the result depends on nothing but the
// inputs.
//
// EmbeddingBackward panics if an id is outside [0, num) (EmbeddingForward
// reports it first) or if a slice is shorter than its shape.
func EmbeddingBackward[T Float](dw, dy []T, ids []int64, num, dim int) {
	checkEmbedding("EmbeddingBackward", "dw", len(dw), "dy", len(dy), len(ids), num, dim)
	clear(dw[:num*dim])
	for i, id := range ids {
		if id < 0 || id >= int64(num) {
			panic(fmt.Sprintf("kernels.EmbeddingBackward: ids[%d] = %d outside [0, %d)", i, id, num))
		}
		k := int(id)
		row := dw[k*dim : (k+1)*dim]
		for j, g := range dy[i*dim : (i+1)*dim] {
			row[j] += g
		}
	}
}
