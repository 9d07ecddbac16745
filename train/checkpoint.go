package train

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
	"github.com/nnc-go/nnc/nncrt"
)

// LoadCheckpoint replaces the parameters and buffers of store with those
// of the safetensors file at path, which must hold exactly the model's
// tensors, with their shapes and dtypes.
func LoadCheckpoint[T kernels.Float](store nncrt.Tensors[T], g *ir.Graph, path string) error {
	f, err := checkpoint.Read(path)
	if err != nil {
		return err
	}
	return loadTensors(store, g, f, path)
}

// loadTensors replaces the parameters and buffers of store with the
// tensors of f, read from path, which must fit g.
func loadTensors[T kernels.Float](store nncrt.Tensors[T], g *ir.Graph, f *checkpoint.File, path string) error {
	var specs []checkpoint.Spec
	// The optimizer's state is loaded when the file holds exactly the
	// model's (it was saved with the same optimizer); otherwise it is left
	// out, and the file's weights alone are used.
	modelState := map[string]bool{}
	for _, v := range g.Values {
		if v.Op == ir.OpState {
			modelState[v.Name] = true
		}
	}
	fileState := 0
	hasState := len(modelState) > 0
	for _, t := range f.Tensors {
		if strings.HasPrefix(t.Name, "optimizer.") {
			fileState++
			hasState = hasState && modelState[t.Name]
		}
	}
	hasState = hasState && fileState == len(modelState)
	if !hasState && fileState > 0 {
		kept := &checkpoint.File{Metadata: f.Metadata}
		for _, t := range f.Tensors {
			if !strings.HasPrefix(t.Name, "optimizer.") {
				kept.Tensors = append(kept.Tensors, t)
			}
		}
		f = kept
	}
	for _, v := range g.Values {
		// The optimizer's state loads when the file has it (a checkpoint
		// nnc saved), and is not required (one PyTorch saved).
		if v.Op == ir.OpParam || v.Op == ir.OpBuffer || (v.Op == ir.OpState && hasState) {
			specs = append(specs, checkpoint.Spec{Name: v.Name, DType: dtypeOf[T](v.Type.DType), Shape: v.Type.Shape})
		}
	}
	if err := checkpoint.Check(f, specs); err != nil {
		return fmt.Errorf("%s: %v%s", path, err, savedFrom(f.Metadata))
	}
	for _, s := range specs {
		t := f.Get(s.Name)
		switch s.DType {
		case checkpoint.I64:
			copy(store.Int64(s.Name), t.I64)
		case checkpoint.F32:
			dst := store.Float(s.Name)
			for i, v := range t.F32 {
				dst[i] = T(v)
			}
		case checkpoint.F64:
			dst := store.Float(s.Name)
			for i, v := range t.F64 {
				dst[i] = T(v)
			}
		}
	}
	return nil
}

func dtypeOf[T kernels.Float](d ir.DType) checkpoint.DType {
	if d == ir.I64 {
		return checkpoint.I64
	}
	var z T
	if _, ok := any(z).(float32); ok {
		return checkpoint.F32
	}
	return checkpoint.F64
}

// saveCheckpoint writes the parameters and buffers of store to path in the
// safetensors format, atomically, with the model's name and the SHA-256 of
// its source in the metadata. Non-finite weights are refused: a diverged
// run must not overwrite a good checkpoint. Run's checkpoints also record
// the training data's DataInfo.
// SaveCheckpoint writes store's tensors for p's model as nnc run --save
// does: atomically, with the model's and the data's metadata (info).
func SaveCheckpoint[T kernels.Float](store nncrt.Tensors[T], p *ir.Program, src []byte, info DataInfo, path string) error {
	return saveCheckpoint(store, p, src, info, path)
}

func saveCheckpoint[T kernels.Float](store nncrt.Tensors[T], p *ir.Program, src []byte, info DataInfo, path string) error {
	return saveState(store, p, src, info, nil, path)
}

// saveState writes the state_dict, the optimizer's state (under
// optimizer.NAME.momentum_buffer, .exp_avg, .exp_avg_sq and
// optimizer.step) and, for an interrupted run, its position.
func saveState[T kernels.Float](store nncrt.Tensors[T], p *ir.Program, src []byte, info DataInfo, pos *Position, path string) error {
	sum := sha256.Sum256(src)
	f := &checkpoint.File{Metadata: map[string]string{"source_sha256": hex.EncodeToString(sum[:]), "format": "pt"}}
	modelMetadata(f.Metadata, p)
	info.metadata(f.Metadata)
	if pos != nil {
		pos.metadata(f.Metadata)
	}
	for _, v := range p.TrainGraph.Values {
		if v.Op != ir.OpParam && v.Op != ir.OpBuffer && v.Op != ir.OpState {
			continue
		}
		t := &checkpoint.Tensor{Name: v.Name, Shape: append([]int{}, v.Type.Shape...)}
		switch dtypeOf[T](v.Type.DType) {
		case checkpoint.I64:
			t.I64 = store.Int64(v.Name)
		case checkpoint.F32:
			src := store.Float(v.Name)
			t.F32 = make([]float32, len(src))
			for i, x := range src {
				t.F32[i] = float32(x)
			}
		case checkpoint.F64:
			src := store.Float(v.Name)
			t.F64 = make([]float64, len(src))
			for i, x := range src {
				t.F64[i] = float64(x)
			}
		}
		if !finite(t.F32) || !finite(t.F64) {
			return fmt.Errorf("not saving %s: %s holds non-finite values", path, v.Name)
		}
		f.Tensors = append(f.Tensors, t)
	}
	return checkpoint.Write(path, f)
}

// finite reports whether every element of x is finite.
func finite[T kernels.Float](x []T) bool {
	for _, v := range x {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}
