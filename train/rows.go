package train

// rowBlock is the number of rows a forward pass for predictions computes
// in whole multiples of: the matrix kernels choose their tiles, and so the
// order they sum in, by the number of rows (a product of one to four rows
// takes other kernels than a larger one; the rows past a multiple of four
// or eight take the tail kernels). Computing whole blocks of eight rows,
// the padding rows ignored, makes each row's outputs independent of how
// many rows it was predicted with: nnc predict, nnc.Model and nnc serve's
// dynamic batches give every row the same bits.
const rowBlock = 8

// PredictRows returns how many rows to compute for n rows of inputs with
// buffers for capacity rows: n rounded up to a whole number of blocks,
// within capacity.
func PredictRows(n, capacity int) int {
	return min((n+rowBlock-1)/rowBlock*rowBlock, capacity)
}

// PredictBatch returns the batch to plan a forward pass for predictions
// for, for a requested batch: a whole number of blocks, so that the last
// rows of a full batch are a block too.
func PredictBatch(batch int) int {
	return max(rowBlock, (batch+rowBlock-1)/rowBlock*rowBlock)
}
