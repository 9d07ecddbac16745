package train

import (
	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/kernels"
)

// feeder copies batches from a loader into the buffers of a step,
// converting float32 data to the model's element type.
type feeder[T kernels.Float] struct {
	b      *Batch[T]
	stageX []float32 // for float64 models: the loader writes float32
	stageT []float32
	feat   int // features per row
	width  int // float targets per row
}

func newFeeder[T kernels.Float](s *side[T], ds *data.Dataset) *feeder[T] {
	f := &feeder[T]{b: &s.b, feat: ds.Features, width: ds.TargetWidth}
	if ds.Tokens != nil {
		return f
	}
	if xs, ok := any(f.b.X).([]float32); ok {
		f.stageX = xs
		if f.b.Targets != nil {
			f.stageT = any(f.b.Targets).([]float32)
		}
	} else {
		f.stageX = make([]float32, len(f.b.X))
		if f.b.Targets != nil {
			f.stageT = make([]float32, len(f.b.Targets))
		}
	}
	return f
}

func (f *feeder[T]) batch(l *data.Loader, i int) int {
	if f.stageX == nil {
		return l.BatchTokens(i, f.b.IDs, f.b.Tokens)
	}
	n := l.Batch(i, f.stageX, f.b.Labels, f.stageT)
	if _, direct := any(f.b.X).([]float32); !direct {
		for j, v := range f.stageX[:n*f.feat] {
			f.b.X[j] = T(v)
		}
		if f.b.Targets != nil {
			for j, v := range f.stageT[:n*f.width] {
				f.b.Targets[j] = T(v)
			}
		}
	}
	return n
}
