package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// loaderStream is the second word of a Loader's PCG seed; see randomStream.
const loaderStream = 0x6e6e632d6c6f6164 // "nnc-load"

// A Loader cuts a Dataset into mini-batches of a fixed size, the last batch
// of an epoch being smaller when the batch size does not divide the number
// of samples. With shuffling, each epoch visits the samples in a new order
// drawn from a PCG generator seeded by the loader's seed, so that equal seeds
// give equal sequences of batches; without it, every epoch visits them in
// order.
//
// A Loader is not safe for concurrent use.
type Loader struct {
	ds      *Dataset
	batch   int
	shuffle bool
	rng     *rand.Rand
	order   []int // sample indices in the current epoch's order
	// Poisson sampling (NewPoissonLoader): each batch's samples are
	// order[bounds[i]:bounds[i+1]].
	rate     float64
	steps    int
	maxBatch int
	bounds   []int
}

// NewLoader returns a loader over ds with the given batch size and prepares
// the first epoch: with shuffle, a random order of the samples. Call Epoch
// after each epoch to prepare the next. A batch larger than the data set
// gives one batch per epoch. NewLoader panics if batch < 1.
func NewLoader(ds *Dataset, batch int, shuffle bool, seed uint64) *Loader {
	if batch < 1 {
		panic(fmt.Sprintf("data: NewLoader: batch size %d, want at least 1", batch))
	}
	l := &Loader{
		ds:      ds,
		batch:   batch,
		shuffle: shuffle,
		rng:     rand.New(rand.NewPCG(seed, loaderStream)),
		order:   make([]int, ds.N),
	}
	l.Epoch()
	return l
}

// NewPoissonLoader returns a loader that draws each of an epoch's steps
// batches by Poisson sampling, as Opacus's DP data loader does: every
// sample joins a batch independently with probability rate, so batch sizes
// vary around rate·N. A batch that comes out empty or larger than
// maxBatch (the most the step's buffers hold) is drawn again; with
// maxBatch nine standard deviations above the mean, as DP training plans
// it, both are rarer than e^-rate·N and 1e-18. NewPoissonLoader panics
// unless 0 < rate ≤ 1, steps ≥ 1 and maxBatch ≥ 1.
func NewPoissonLoader(ds *Dataset, rate float64, steps, maxBatch int, seed uint64) *Loader {
	if !(rate > 0 && rate <= 1) || steps < 1 || maxBatch < 1 {
		panic(fmt.Sprintf("data: NewPoissonLoader: rate %v, %d steps, batches up to %d", rate, steps, maxBatch))
	}
	l := &Loader{
		ds:       ds,
		batch:    maxBatch,
		rng:      rand.New(rand.NewPCG(seed, loaderStream)),
		rate:     rate,
		steps:    steps,
		maxBatch: maxBatch,
		bounds:   make([]int, steps+1),
	}
	l.Epoch()
	return l
}

// poissonEpoch draws the batches of a Poisson-sampling loader: the gaps
// between the samples a batch takes are geometric, which is the same
// process as one Bernoulli trial per sample and cheaper for small rates.
func (l *Loader) poissonEpoch() {
	l.order = l.order[:0]
	logq := math.Log1p(-l.rate)
	for b := range l.steps {
		start := len(l.order)
		l.bounds[b] = start
		for {
			l.order = l.order[:start]
			i := -1
			for {
				if l.rate < 1 {
					i += 1 + int(math.Floor(math.Log(1-l.rng.Float64())/logq))
				} else {
					i++
				}
				if i >= l.ds.N || i < 0 {
					break
				}
				l.order = append(l.order, i)
			}
			if n := len(l.order) - start; n > 0 && n <= l.maxBatch {
				break
			}
		}
	}
	l.bounds[l.steps] = len(l.order)
}

// Rate returns the Poisson sampling rate of a loader from
// NewPoissonLoader, and 0 for one that cuts fixed batches.
func (l *Loader) Rate() float64 { return l.rate }

// rows returns the sample indices of batch i of the current epoch.
func (l *Loader) rows(i int) []int {
	if l.bounds != nil {
		return l.order[l.bounds[i]:l.bounds[i+1]]
	}
	return l.order[i*l.batch : min((i+1)*l.batch, len(l.order))]
}

// Epoch prepares the next epoch. With shuffling it draws a new permutation
// of the samples from the loader's generator (Fisher-Yates, starting from
// the identity, so the order depends only on the seed and the number of
// epochs so far); without, the order stays 0, 1, ..., N-1.
func (l *Loader) Epoch() {
	if l.bounds != nil {
		l.poissonEpoch()
		return
	}
	for i := range l.order {
		l.order[i] = i
	}
	if !l.shuffle {
		return
	}
	for i := len(l.order) - 1; i > 0; i-- {
		j := l.rng.IntN(i + 1)
		l.order[i], l.order[j] = l.order[j], l.order[i]
	}
}

// Batches returns the number of batches in an epoch: N divided by the batch
// size, rounded up (the steps of a Poisson-sampling loader).
func (l *Loader) Batches() int {
	if l.bounds != nil {
		return l.steps
	}
	return (l.ds.N + l.batch - 1) / l.batch
}

// Batch copies batch i of the current epoch into the caller's buffers and
// returns its number of rows r: features into x[:r*Features], class labels
// into labels[:r] and float targets into targets[:r*TargetWidth]. Labels
// and targets are copied only when the data set has them; a nil buffer is
// skipped. Batch does not allocate.
//
// Batch panics if i is not in [0, Batches()), or if x, or a non-nil labels
// or targets buffer, is too short for the batch.
func (l *Loader) Batch(i int, x []float32, labels []int32, targets []float32) int {
	if i < 0 || i >= l.Batches() {
		panic(fmt.Sprintf("data: Loader.Batch: batch %d out of range [0, %d)", i, l.Batches()))
	}
	rows := l.rows(i)
	ds := l.ds
	f := ds.Features
	x = x[:len(rows)*f]
	if ds.Pixels != nil {
		for r, s := range rows {
			dst := x[r*f : (r+1)*f]
			for j, b := range ds.Pixels[s*f : (s+1)*f] {
				dst[j] = pixelValue[b]
			}
		}
	} else {
		for r, s := range rows {
			copy(x[r*f:(r+1)*f], ds.X[s*f:(s+1)*f])
		}
	}
	if labels != nil && ds.Labels != nil {
		labels = labels[:len(rows)]
		for r, s := range rows {
			labels[r] = ds.Labels[s]
		}
	}
	if targets != nil && ds.Targets != nil {
		w := ds.TargetWidth
		targets = targets[:len(rows)*w]
		for r, s := range rows {
			copy(targets[r*w:(r+1)*w], ds.Targets[s*w:(s+1)*w])
		}
	}
	return len(rows)
}
