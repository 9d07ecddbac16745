package train

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
	"github.com/nnc-go/nnc/nncrt"
	"github.com/nnc-go/nnc/passes"
)

// An int8 checkpoint (nnc quantize) is a safetensors file whose metadata
// holds quantization=int8. Each quantized layer L (a Linear or Conv2d,
// batch norm folded in) has, beside PyTorch's names:
//
//	L.weight              I8  [out, ...]  symmetric per output channel, in [-127, 127]
//	L.weight_scale        F32 [out]       the scale of each output channel's weights
//	L.bias                I32 [out]       scale L.input_scale·L.weight_scale[o], zero point 0
//	L.input_scale         F32 []          the input's scale (u8 activations)
//	L.input_zero_point    I64 []          its zero point, in [0, 255]
//	L.output_scale        F32 []          the output's (after the ReLU a layer fuses)
//	L.output_zero_point   I64 []
//
// A layer without L.output_scale and L.output_zero_point stores its output
// in f32 whatever reads it (nnc quantize always writes them; the int8
// checkpoint the ONNX importer makes of a QDQ model leaves them out for a
// layer whose output no QuantizeLinear reads).
//
// A residual Add run in int8 (passes.Int8Adds names them add0, add1, ...
// in the order of the forward graph) has only its output's parameters,
// its operands keeping those of the layers that make them:
//
//	addK.output_scale       F32 []
//	addK.output_zero_point  I64 []
//
// Activations are u8, real = scale·(q − zero_point), as PyTorch's quint8
// (TFLite's int8 activations are the same numbers less 128). Every other
// tensor is the f32 parameter of a layer that stays in float.

// Int8StoreKey is the metadata key by which an int8 checkpoint, with
// value "u8", stores every layer's and Add's output u8 when it has an
// output scale, its f32 readers reading it dequantized (passes.QLayer.U8),
// as ONNX's QDQ form computes: the ONNX importer's checkpoint of a QDQ
// model says so. nnc quantize's stores f32 what f32 ops alone read.
const Int8StoreKey = "int8_store"

// Int8Key is the metadata key that marks an int8 checkpoint, with value
// "int8".
const Int8Key = "quantization"

// IsInt8 reports whether f is an int8 checkpoint.
func IsInt8(f *checkpoint.File) bool { return f.Metadata[Int8Key] == "int8" }

// int8Suffixes are the tensors of a quantized layer besides its weight.
var int8Suffixes = []string{".weight_scale", ".bias", ".input_scale", ".input_zero_point", ".output_scale", ".output_zero_point"}

// Int8Layers reads the quantized layers of an int8 checkpoint, checking
// every tensor that describes them: dtypes, shapes, weights in [-127,
// 127], scales positive and finite, zero points in [0, 255].
func Int8Layers(f *checkpoint.File) (map[string]passes.QLayer, error) {
	if !IsInt8(f) {
		return nil, fmt.Errorf("not an int8 checkpoint (its metadata has no %s=int8)", Int8Key)
	}
	layers := map[string]passes.QLayer{}
	for _, t := range f.Tensors {
		name, ok := strings.CutSuffix(t.Name, ".weight_scale")
		if !ok {
			continue
		}
		l, err := int8Layer(f, name)
		if err != nil {
			return nil, err
		}
		layers[name] = l
	}
	for _, t := range f.Tensors {
		name, ok := strings.CutSuffix(t.Name, ".output_scale")
		if _, layer := layers[name]; !ok || layer {
			continue
		}
		l := passes.QLayer{Add: true}
		if err := int8Params(f, name, "output", &l.OutScale, &l.OutZP); err != nil {
			return nil, err
		}
		layers[name] = l
	}
	if f.Metadata[Int8StoreKey] == "u8" {
		for name, l := range layers {
			l.U8 = true
			layers[name] = l
		}
	}
	for _, t := range f.Tensors {
		if d := t.DType(); d == checkpoint.I8 || d == checkpoint.I32 {
			layer := strings.TrimSuffix(strings.TrimSuffix(t.Name, ".weight"), ".bias")
			if _, ok := layers[layer]; !ok {
				return nil, fmt.Errorf("tensor %q is %s, but no %s.weight_scale says how it is quantized", t.Name, d, layer)
			}
		}
	}
	if len(layers) == 0 {
		return nil, fmt.Errorf("an int8 checkpoint without quantized layers (no tensor NAME.weight_scale)")
	}
	return layers, nil
}

func int8Layer(f *checkpoint.File, name string) (passes.QLayer, error) {
	get := func(suffix string, d checkpoint.DType, shape []int) (*checkpoint.Tensor, error) {
		t := f.Get(name + suffix)
		switch {
		case t == nil:
			return nil, fmt.Errorf("quantized layer %s has no tensor %s%s", name, name, suffix)
		case t.DType() != d:
			return nil, fmt.Errorf("tensor %q has dtype %s, an int8 checkpoint has %s", t.Name, t.DType(), d)
		case shape != nil && !slices.Equal(t.Shape, shape):
			return nil, fmt.Errorf("tensor %q has shape %v, the weight %s.weight needs %v", t.Name, t.Shape, name, shape)
		}
		return t, nil
	}
	w := f.Get(name + ".weight")
	switch {
	case w == nil:
		return passes.QLayer{}, fmt.Errorf("quantized layer %s has no tensor %s.weight", name, name)
	case w.DType() != checkpoint.I8:
		return passes.QLayer{}, fmt.Errorf("tensor %q has dtype %s, an int8 checkpoint has I8", w.Name, w.DType())
	case len(w.Shape) != 2 && len(w.Shape) != 4:
		return passes.QLayer{}, fmt.Errorf("tensor %q has shape %v: a Linear or Conv2d weight has 2 or 4 dimensions", w.Name, w.Shape)
	case w.Shape[0] == 0:
		return passes.QLayer{}, fmt.Errorf("tensor %q has no output channels", w.Name)
	}
	if i := slices.Index(w.I8, -128); i >= 0 {
		return passes.QLayer{}, fmt.Errorf("tensor %q holds -128 at %d: symmetric int8 weights are in [-127, 127]", w.Name, i)
	}
	out := []int{w.Shape[0]}
	ws, err := get(".weight_scale", checkpoint.F32, out)
	if err != nil {
		return passes.QLayer{}, err
	}
	for i, s := range ws.F32 {
		if !positive(float64(s)) {
			return passes.QLayer{}, fmt.Errorf("tensor %q: scale %v at %d is not a positive finite number", ws.Name, s, i)
		}
	}
	if _, err := get(".bias", checkpoint.I32, out); err != nil {
		return passes.QLayer{}, err
	}
	l := passes.QLayer{Conv: len(w.Shape) == 4, OutShape0: w.Shape[0]}
	if err := int8Params(f, name, "input", &l.InScale, &l.InZP); err != nil {
		return passes.QLayer{}, err
	}
	if f.Get(name+".output_scale") == nil && f.Get(name+".output_zero_point") == nil {
		// No output scale: the layer stores f32 (an imported ONNX QDQ
		// model's layer whose output stays float).
		l.Float = true
		return l, nil
	}
	if err := int8Params(f, name, "output", &l.OutScale, &l.OutZP); err != nil {
		return passes.QLayer{}, err
	}
	return l, nil
}

// int8Params reads the scale and zero point NAME.WHICH_scale and
// NAME.WHICH_zero_point of a u8 activation into scale and zp.
func int8Params(f *checkpoint.File, name, which string, scale *float64, zp *int) error {
	get := func(suffix string, d checkpoint.DType) (*checkpoint.Tensor, error) {
		t := f.Get(name + suffix)
		switch {
		case t == nil:
			return nil, fmt.Errorf("quantized layer %s has no tensor %s%s", name, name, suffix)
		case t.DType() != d:
			return nil, fmt.Errorf("tensor %q has dtype %s, an int8 checkpoint has %s", t.Name, t.DType(), d)
		case len(t.Shape) != 0:
			return nil, fmt.Errorf("tensor %q has shape %v, a scale or zero point is a scalar []", t.Name, t.Shape)
		}
		return t, nil
	}
	s, err := get("."+which+"_scale", checkpoint.F32)
	if err != nil {
		return err
	}
	z, err := get("."+which+"_zero_point", checkpoint.I64)
	if err != nil {
		return err
	}
	if !positive(float64(s.F32[0])) {
		return fmt.Errorf("tensor %q: scale %v is not a positive finite number", s.Name, s.F32[0])
	}
	if z.I64[0] < 0 || z.I64[0] > 255 {
		return fmt.Errorf("tensor %q: zero point %d outside [0, 255]", z.Name, z.I64[0])
	}
	*scale, *zp = float64(s.F32[0]), int(z.I64[0])
	return nil
}

// positive reports whether s is a usable scale: positive, finite, and
// not so small that its reciprocal overflows.
func positive(s float64) bool { return s > 1e-30 && s < 1e30 }

// Int8Graph returns a copy of g, a graph the pipeline has run over,
// rewritten by passes.Quantize to run the layers f quantizes in int8.
func Int8Graph(g *ir.Graph, f *checkpoint.File) (*ir.Graph, error) {
	layers, err := Int8Layers(f)
	if err != nil {
		return nil, err
	}
	q := g.Clone()
	if err := passes.Quantize(q, layers); err != nil {
		return nil, err
	}
	return q, nil
}

// loadInt8 fills store with the tensors of the int8 checkpoint f (read
// from path) that g, which Int8Graph made, reads (Int8Tensors).
func loadInt8[T kernels.Float](st nncrt.Tensors[T], g *ir.Graph, f *checkpoint.File, path string) error {
	store, ok := st.(*interp.Store[T])
	if !ok {
		return fmt.Errorf("%s: an int8 checkpoint runs on the interpreter's store", path)
	}
	ts, err := Int8Tensors(g, f, path)
	if err != nil {
		return err
	}
	for _, t := range ts {
		switch t.DType() {
		case checkpoint.I8:
			copy(store.I8[t.Name], t.I8)
		case checkpoint.I32:
			copy(store.I32[t.Name], t.I32)
		case checkpoint.I64:
			copy(store.I64[t.Name], t.I64)
		default:
			dst := store.F[t.Name]
			for i, x := range t.F32 {
				dst[i] = T(x)
			}
		}
	}
	return nil
}

// Int8Tensors returns the tensors of the int8 checkpoint f (read from
// path) that g, which Int8Graph made, reads, in the order of g's
// parameters: the i8 weights, the f32 scales and float parameters, and
// each layer's qbias, the i32 bias corrected for its input's zero point
// (kernels.QBias), which the loader computes once. A tensor of f that g
// has no use for is an error, as in loadTensors. nnc build embeds them.
func Int8Tensors(g *ir.Graph, f *checkpoint.File, path string) ([]*checkpoint.Tensor, error) {
	layers, err := Int8Layers(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	used := map[string]bool{}
	for name, l := range layers {
		if l.Add {
			used[name+".output_scale"], used[name+".output_zero_point"] = true, true
			continue
		}
		for _, s := range int8Suffixes {
			used[name+s] = true
		}
	}
	var out []*checkpoint.Tensor
	for _, v := range g.Values {
		if v.Op != ir.OpParam && v.Op != ir.OpBuffer {
			continue
		}
		if layer, ok := strings.CutSuffix(v.Name, ".qweight"); ok {
			used[layer+".weight"] = true
			w, want := f.Get(layer+".weight"), ir.QLinearWeightShape(g, v)
			switch {
			case w == nil:
				return nil, fmt.Errorf("%s: checkpoint: tensor %q is missing, model expects I8 %v", path, layer+".weight", want)
			case w.DType() != checkpoint.I8 || !slices.Equal(w.Shape, want):
				return nil, fmt.Errorf("%s: checkpoint: tensor %q is %s %v, model expects I8 %v", path, layer+".weight", w.DType(), w.Shape, want)
			}
			q := make([]int8, v.Type.Shape.Elems())
			kernels.QPackLinear(q, w.I8, w.Shape[0], w.Shape[1])
			out = append(out, &checkpoint.Tensor{Name: v.Name, Shape: []int(v.Type.Shape.Clone()), I8: q})
			continue
		}
		if layer, ok := strings.CutSuffix(v.Name, ".qbias"); ok {
			w, b := f.Get(layer+".weight"), f.Get(layer+".bias")
			if w == nil || b == nil {
				return nil, fmt.Errorf("%s: no tensor %s.weight or %s.bias", path, layer, layer)
			}
			q := make([]int32, w.Shape[0])
			kernels.QBias(q, b.I32, w.I8, len(w.I8)/w.Shape[0], layers[layer].InZP)
			out = append(out, &checkpoint.Tensor{Name: v.Name, Shape: []int{len(q)}, I32: q})
			continue
		}
		used[v.Name] = true
		t := f.Get(v.Name)
		want := checkpoint.F32
		switch v.Type.DType {
		case ir.I8:
			want = checkpoint.I8
		case ir.I64:
			want = checkpoint.I64
		}
		switch {
		case t == nil:
			return nil, fmt.Errorf("%s: checkpoint: tensor %q is missing, model expects %s %v", path, v.Name, want, []int(v.Type.Shape))
		case t.DType() != want:
			return nil, fmt.Errorf("%s: checkpoint: tensor %q has dtype %s, model expects %s", path, v.Name, t.DType(), want)
		case !slices.Equal(t.Shape, []int(v.Type.Shape)):
			return nil, fmt.Errorf("%s: checkpoint: tensor %q has shape %v, model expects %v", path, v.Name, t.Shape, []int(v.Type.Shape))
		}
		out = append(out, t)
	}
	for _, t := range f.Tensors {
		if !used[t.Name] {
			return nil, fmt.Errorf("%s: checkpoint: unexpected tensor %q (%s %v), the int8 model has no such parameter", path, t.Name, t.DType(), t.Shape)
		}
	}
	return out, nil
}

// Int8Embed returns g, the forward graph, rewritten to run the layers the
// int8 checkpoint f (read from path) quantizes in int8 (Int8Graph), and
// the tensors that graph reads in a safetensors file, which nnc build
// embeds: the int8 weights, the biases corrected for their input's zero
// point, the scales and the float layers' parameters (Int8Tensors). The
// file keeps f's metadata (the training data's statistics) but for the
// int8 mark: it is the generated model's state, not an int8 checkpoint.
func Int8Embed(g *ir.Graph, f *checkpoint.File, path string) (*ir.Graph, []byte, error) {
	q, err := Int8Graph(g, f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	ts, err := Int8Tensors(q, f, path)
	if err != nil {
		return nil, nil, err
	}
	// A Linear's weights are embedded as the checkpoint holds them
	// (NAME.weight, [out, in]), not packed with the padding of their last
	// group: the generated code packs them when it loads them
	// (nncrt.Tensor.Packed).
	for i, t := range ts {
		if layer, ok := strings.CutSuffix(t.Name, ".qweight"); ok {
			ts[i] = f.Get(layer + ".weight")
		}
	}
	meta := map[string]string{}
	for k, v := range f.Metadata {
		if k != Int8Key {
			meta[k] = v
		}
	}
	b, err := checkpoint.Encode(&checkpoint.File{Metadata: meta, Tensors: ts})
	return q, b, err
}

// ReadInt8 reads the int8 checkpoint at path, or returns nil when the file
// is a float checkpoint.
func ReadInt8(path string) (*checkpoint.File, error) {
	f, err := checkpoint.Read(path)
	if err != nil {
		return nil, err
	}
	if !IsInt8(f) {
		return nil, nil
	}
	if _, err := Int8Layers(f); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return f, nil
}

// quantizeWeights quantizes w (out rows of k) symmetrically per row to
// [-127, 127], returning the values and the scale of each row (absmax/127;
// 1 for a row of zeros).
func quantizeWeights(w []float32, out int) ([]int8, []float32) {
	k := len(w) / out
	q := make([]int8, len(w))
	scales := make([]float32, out)
	for o := range out {
		row := w[o*k : (o+1)*k]
		m := float32(0)
		for _, v := range row {
			m = max(m, float32(math.Abs(float64(v))))
		}
		s := m / 127
		if !(s > 0) {
			s = 1
		}
		scales[o] = s
		for i, v := range row {
			q[o*k+i] = int8(max(-127, min(127, math.RoundToEven(float64(v)/float64(s)))))
		}
	}
	return q, scales
}

// affineParams returns the u8 scale and zero point of a tensor whose values
// lie in [lo, hi], a range widened to hold 0 so that 0 is exact.
func affineParams(lo, hi float64) (scale float64, zp int) {
	lo, hi = min(lo, 0), max(hi, 0)
	scale = (hi - lo) / 255
	if !positive(scale) {
		return 1, 0
	}
	scale = float64(float32(scale)) // the checkpoint holds it as F32
	zp = int(math.RoundToEven(-lo / scale))
	return scale, min(max(zp, 0), 255)
}

// LoadInt8 fills store, an *interp.Store[float32], with the tensors of the
// int8 checkpoint f (read from path) that g, which Int8Graph made, reads.
func LoadInt8(store any, g *ir.Graph, f *checkpoint.File, path string) error {
	s, ok := store.(*interp.Store[float32])
	if !ok {
		return fmt.Errorf("%s: an int8 checkpoint runs in a model of f32 values", path)
	}
	return loadInt8[float32](s, g, f, path)
}
