package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/npy"
)

// copyONNX copies the PyTorch-exported model name and its input array
// into a temporary folder.
func copyONNX(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{name + ".onnx", name + ".in.npy", name + ".out.npy"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "onnx", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func nncOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := Main(args, &out, &errb); code != 0 {
		t.Fatalf("nnc %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

// TestImportRoundTrip: nnc import writes a .nn and its weights, and
// predicting with them gives the outputs of predicting with the .onnx, to
// the bit; both are PyTorch's within 1e-4.
func TestImportRoundTrip(t *testing.T) {
	// The encoder's attention reshapes to [T, N·heads, D]: its batch is
	// fixed with --set, on import as on predicting with the .onnx.
	for name, set := range map[string][]string{"mlp": nil, "cnn": nil, "depthwise": nil, "encoder": {"--set", "N=4"}} {
		t.Run(name, func(t *testing.T) {
			dir := copyONNX(t, name)
			p := func(f string) string { return filepath.Join(dir, f) }
			if got := nncOK(t, append([]string{"import", p(name + ".onnx"), "-o", p("imported.nn")}, set...)...); got != "wrote "+p("imported.nn")+" and "+p("imported.safetensors")+"\n" {
				t.Errorf("nnc import printed %q", got)
			}
			nncOK(t, "check", p("imported.nn"))
			nncOK(t, append([]string{"predict", p(name + ".onnx"), "--input", p(name + ".in.npy"), "--output", p("onnx.npy")}, set...)...)
			nncOK(t, "predict", p("imported.nn"), "--weights", p("imported.safetensors"), "--input", p(name+".in.npy"), "--output", "out="+p("nn.npy"))
			a, err := os.ReadFile(p("onnx.npy"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(p("nn.npy"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("the .nn predicts other outputs than the .onnx")
			}
			got, err := npy.Read(p("nn.npy"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := npy.Read(p(name + ".out.npy"))
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range want.F32 {
				if d := got.F32[i] - w; d > 1e-4 || d < -1e-4 {
					t.Fatalf("output %d: %g, PyTorch %g", i, got.F32[i], w)
				}
			}
		})
	}
}

// TestONNXCommands: check, ir and bench take model.onnx; eval says why
// it cannot; predict prints the rows of an array input; bad arguments are
// one-line errors.
func TestONNXCommands(t *testing.T) {
	dir := copyONNX(t, "mlp")
	p := func(f string) string { return filepath.Join(dir, f) }
	nncOK(t, "check", p("mlp.onnx"))
	if ir := nncOK(t, "ir", p("mlp.onnx")); !strings.Contains(ir, "LinearRelu") || !strings.Contains(ir, "(fc1.weight)") {
		t.Errorf("nnc ir mlp.onnx:\n%s", ir)
	}
	if out := nncOK(t, "bench", p("mlp.onnx"), "--json"); !strings.Contains(out, `"allocs_per_step":0`) {
		t.Errorf("nnc bench: %s", out)
	}
	out := nncOK(t, "predict", p("mlp.onnx"), "--input", p("mlp.in.npy"))
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 8 || lines[0] != "output0 output1 output2 output3 output4" {
		t.Errorf("nnc predict printed:\n%s", out)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"eval", p("mlp.onnx")}, 2, "an ONNX model has no train block"},
		{[]string{"predict", p("mlp.onnx"), "--input", "y=" + p("mlp.in.npy")}, 2, "the model has no input y; its inputs are x"},
		{[]string{"predict", p("mlp.onnx"), "--input", p("missing.npy")}, 1, "no such file"},
		{[]string{"predict", p("mlp.onnx"), "--input", p("mlp.onnx") + ".npy"}, 1, "no such file"},
		{[]string{"predict", p("mlp.onnx"), "--input", p("mlp.out.npy")}, 1, "the array has shape [7 5]"},
		{[]string{"check", p("mlp.in.npy") + ".onnx"}, 1, "no such file"},
		{[]string{"import", p("mlp.in.npy")}, 2, "not an ONNX file"},
		{[]string{"check", "--set", "N=x", p("mlp.onnx")}, 2, "takes a positive size"},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) || strings.Count(strings.TrimSpace(stderr.String()), "\n") > 0 {
			t.Errorf("nnc %s: exit %d, stderr %q; want exit %d and one line saying %q", strings.Join(tc.args, " "), code, stderr.String(), tc.code, tc.want)
		}
	}
	// A corrupt file is an error, not a panic.
	os.WriteFile(p("bad.onnx"), []byte("\x08\x07garbage\xff\xff"), 0o644)
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"check", p("bad.onnx")}, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), "not an ONNX model") {
		t.Errorf("nnc check bad.onnx: exit %d, %q", code, stderr.String())
	}
}

// TestImportIndexLossOps: nnc import spells ArgMax, ArgMin, Trilu and the
// two losses of ONNX's backend tests as their built-ins, and the .nn
// written checks.
func TestImportIndexLossOps(t *testing.T) {
	const suite = "/usr/share/libonnx-testdata/data/node"
	_, err := os.Stat(suite)
	testenv.Require(t, "ONNX backend test data", "apt-get install libonnx-testdata", err)
	for name, want := range map[string]string{
		"test_argmax_keepdims_random_select_last_index": "arg_max(data, axis = 1, keepdims = 1, select_last_index = 1)",
		"test_argmin_no_keepdims_example":               "arg_min(data, axis = 1, keepdims = 0, select_last_index = 0)",
		"test_triu_square":                              "trilu(x, upper = 1, k = 0)",
		"test_nllloss_NCd1_weight_ii":                   `negative_log_likelihood_loss(input, target, weight, reduction = "mean", ignore_index = 1)`,
		"test_sce_mean_weight_ii":                       `negative_log_likelihood_loss(log_softmax(x), y, w, reduction = "mean", ignore_index = 0)`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "m.nn")
			nncOK(t, "import", filepath.Join(suite, name, "model.onnx"), "-o", out)
			src, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(src), want) {
				t.Errorf("the .nn does not hold %s:\n%s", want, src)
			}
			nncOK(t, "check", out)
		})
	}
}
