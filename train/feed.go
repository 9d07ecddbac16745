package train

import (
	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/kernels"
)

// feeder copies batches from a loader into the input and target buffers of
// a step, converting float32 data to the model's element type.
type feeder[T kernels.Float] struct {
	x       []T
	labels  []int32
	targets []T
	stageX  []float32 // for float64 models: the loader writes float32
	stageT  []float32
	feat    int // features per row
	width   int // float targets per row
}

func newFeeder[T kernels.Float](s *side[T], ds *data.Dataset) *feeder[T] {
	f := &feeder[T]{x: s.x, labels: s.labels, targets: s.targets, feat: ds.Features, width: ds.TargetWidth}
	if len(f.targets) == 0 {
		f.targets = nil
	}
	if len(f.labels) == 0 {
		f.labels = nil
	}
	if xs, ok := any(f.x).([]float32); ok {
		f.stageX = xs
		if f.targets != nil {
			f.stageT = any(f.targets).([]float32)
		}
	} else {
		f.stageX = make([]float32, len(f.x))
		if f.targets != nil {
			f.stageT = make([]float32, len(f.targets))
		}
	}
	return f
}

func (f *feeder[T]) batch(l *data.Loader, i int) int {
	n := l.Batch(i, f.stageX, f.labels, f.stageT)
	if _, direct := any(f.x).([]float32); !direct {
		for j, v := range f.stageX[:n*f.feat] {
			f.x[j] = T(v)
		}
		if f.targets != nil {
			for j, v := range f.stageT[:n*f.width] {
				f.targets[j] = T(v)
			}
		}
	}
	return n
}
