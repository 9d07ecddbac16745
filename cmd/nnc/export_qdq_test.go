package main

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/npy"
)

// TestExportONNXInt8 quantizes LeNet (convolutions, batch norm folded,
// max pooling, a residual Add) on a subset of MNIST, exports the int8
// checkpoint in ONNX's QDQ form, has ONNX's checker accept it, and
// imports it back: the .onnx compiles to the int8 ops the checkpoint runs
// (the importer lowers its QDQ layers to them) and predicts the int8
// checkpoint's logits bit for bit.
func TestExportONNXInt8(t *testing.T) {
	dir := t.TempDir()
	lenet := lenetSubset(t, dir)
	w, q := filepath.Join(dir, "lenet.safetensors"), filepath.Join(dir, "lenet.int8.safetensors")
	model, x := filepath.Join(dir, "lenet.qdq.onnx"), filepath.Join(dir, "x.npy")
	nncOut(t, "run", lenet, "--epochs", "1", "--save", w, "--quiet")
	if out := nncOut(t, "quantize", lenet, "--weights", w, "--calib", "200", "-o", q); !strings.Contains(out, "and residual add0 to int8") {
		t.Errorf("quantize printed %q: want the residual add0 quantized", out)
	}
	if out := nncOut(t, "export", lenet, "--format", "onnx", "--weights", q, "-o", model); !strings.Contains(out, "in QDQ form (int8") {
		t.Errorf("export printed %q", out)
	}
	writeInput(t, x, "f32:5,1,28,28")
	xs, ys := predictONNXAndInt8(t, dir, model, lenet, q, x)
	if len(xs) != 50 || len(ys) != 50 {
		t.Fatalf("%d outputs from the .onnx, %d from the int8 checkpoint, want 50", len(xs), len(ys))
	}
	worst, spread := 0.0, 0.0
	for r := range 5 {
		argmax := func(v []float64) int {
			k := 0
			for i := range v {
				if v[i] > v[k] {
					k = i
				}
			}
			return k
		}
		if i, j := argmax(xs[10*r:10*r+10]), argmax(ys[10*r:10*r+10]); i != j {
			t.Errorf("row %d: the .onnx predicts %d, the int8 checkpoint %d", r, i, j)
		}
		for i := 10 * r; i < 10*r+10; i++ {
			worst = max(worst, math.Abs(xs[i]-ys[i]))
			spread = max(spread, math.Abs(ys[i]))
		}
	}
	if worst != 0 {
		t.Errorf("the QDQ model's logits differ from the int8 checkpoint's by up to %g (largest logit %g)", worst, spread)
	}
	if got, want := int8Ops(t, nncOut(t, "ir", model)), int8Ops(t, nncOut(t, "ir", "--forward", lenet, "--weights", q)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the imported .onnx compiles to\n%s\nthe int8 checkpoint to\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	t.Logf("largest difference %g, largest logit %g", worst, spread)
	py := "/usr/bin/python3"
	err := exec.Command(py, "-c", "import onnx").Run()
	testenv.Require(t, "python3 with onnx", "apt-get install python3-onnx", err)
	script := `import onnx, sys
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
ops = {n.op_type for n in m.graph.node}
assert {"QuantizeLinear", "DequantizeLinear", "Gemm", "Conv", "Add"} <= ops, ops
init = {t.name: t for t in m.graph.initializer}
assert init["conv1.weight_quantized"].data_type == onnx.TensorProto.INT8
assert init["fc1.bias_quantized"].data_type == onnx.TensorProto.INT32
assert list(init["conv1.weight_scale"].dims) == [6]
`
	if out, err := exec.Command(py, "-c", script, model).CombinedOutput(); err != nil {
		t.Errorf("onnx.checker: %v\n%s", err, out)
	}
}

// flattenMLP flattens its image before the first int8 layer: the quantize
// pass quantizes the image straight into the flattened shape.
const flattenMLP = `model FlatMLP {
    fc1 = Linear(2 * 3 * 5, 19)
    fc2 = Linear(19, 4)

    forward(x: f32[N, 2, 3, 5]) {
        return fc2(relu(fc1(flatten(x))))
    }
}

train FlatMLP {
    data      = random(samples = 200, classes = 4, seed = 3)
    loss      = cross_entropy
    optimizer = Adam(lr = 0.01)
    epochs    = 2
    batch     = 20
    seed      = 1
}
`

// TestExportONNXInt8Flatten: an int8 MLP whose input is flattened exports
// in QDQ form (a Reshape before its QuantizeLinear), and the .onnx
// predicts the int8 checkpoint's logits.
func TestExportONNXInt8Flatten(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "flat.nn")
	if err := os.WriteFile(file, []byte(flattenMLP), 0o644); err != nil {
		t.Fatal(err)
	}
	w, q := filepath.Join(dir, "flat.safetensors"), filepath.Join(dir, "flat.int8.safetensors")
	model, x := filepath.Join(dir, "flat.onnx"), filepath.Join(dir, "x.npy")
	nncOut(t, "run", file, "--save", w, "--quiet")
	nncOut(t, "quantize", file, "--weights", w, "--calib", "100", "-o", q)
	if ir := nncOut(t, "ir", file, "--forward", "--weights", q); !strings.Contains(ir, "Quantize <u8[N,30]> v0 ") {
		t.Errorf("the int8 graph does not quantize the input into its flattened shape:\n%s", ir)
	}
	nncOut(t, "export", file, "--format", "onnx", "--weights", q, "-o", model)
	writeInput(t, x, "f32:6,2,3,5")
	xs, ys := predictONNXAndInt8(t, dir, model, file, q, x)
	if len(xs) != 24 || len(ys) != 24 {
		t.Fatalf("%d outputs from the .onnx, %d from the int8 checkpoint, want 24", len(xs), len(ys))
	}
	for i := range xs {
		if math.Abs(xs[i]-ys[i]) > 1e-4*(1+math.Abs(ys[i])) {
			t.Fatalf("logit %d: the .onnx gives %g, the int8 checkpoint %g", i, xs[i], ys[i])
		}
	}
}

// predictONNXAndInt8 predicts the input file x with the .onnx model and
// with the model file and its int8 checkpoint q, and returns both outputs.
func predictONNXAndInt8(t *testing.T, dir, model, file, q, x string) (fromONNX, fromInt8 []float64) {
	t.Helper()
	var out [2][]float64
	for i, args := range [][]string{{model}, {file, "--weights", q}} {
		path := filepath.Join(dir, fmt.Sprintf("predicted%d.npy", i))
		nncOut(t, append(append([]string{"predict"}, args...), "--input", x, "--output", path)...)
		a, err := npy.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = a.Float64s()
	}
	return out[0], out[1]
}
