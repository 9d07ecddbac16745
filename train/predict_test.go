package train_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/passes"
	"github.com/nnc-go/nnc/train"
)

// blobModel classifies points of three overlapping clusters in 4-D.
const blobModel = `model Blobs(hid = 16) {
    fc1 = Linear(4, hid)
    fc2 = Linear(hid, 3)
    forward(x: f32[N, 4]) {
        return fc2(relu(fc1(x)))
    }
}

train Blobs {
    data      = csv("blobs.csv", target = "kind")
    loss      = cross_entropy
    optimizer = Adam(lr = 0.02)
    epochs    = 8
    batch     = 16
    seed      = 3
}
`

// The class names, in the order of the cluster centres: their sorted order
// differs, so the classes are not numbered in order of appearance.
var blobNames = []string{"gamma", "alpha", "beta"}

// blobs returns a CSV of n points: columns a, b, c, d and kind. The
// clusters overlap, so that a trained model misclassifies some points and
// an accuracy that agrees says something.
func blobs(n int, seed uint64) (csv string, labels []string) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	b.WriteString("a,b,c,d,kind\n")
	for i := range n {
		k := i % 3
		for j := range 4 {
			centre := 0.0
			if j == k {
				centre = 1.2
			}
			fmt.Fprintf(&b, "%.4f,", centre+rng.NormFloat64())
		}
		b.WriteString(blobNames[k] + "\n")
		labels = append(labels, blobNames[k])
	}
	return b.String(), labels
}

// reorder returns csv with the columns perm, in that order.
func reorder(csv string, perm []int) string {
	var b strings.Builder
	for line := range strings.Lines(csv) {
		fields := strings.Split(strings.TrimSuffix(line, "\n"), ",")
		var out []string
		for _, j := range perm {
			out = append(out, fields[j])
		}
		b.WriteString(strings.Join(out, ",") + "\n")
	}
	return b.String()
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// compileForward compiles the forward pass alone, planned for batch rows,
// as nnc predict does.
func compileForward(t *testing.T, file string, batch int) *ir.Program {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := nnc.Compile(file, src, nnc.Options{After: "none"})
	if err != nil {
		t.Fatal(err)
	}
	p.Forward.Attrs = p.Forward.Attrs.Set("batch", batch)
	if err := passes.Run(p.Forward, passes.Options{}); err != nil {
		t.Fatal(err)
	}
	return p
}

// trainBlobs trains blobModel on n points in dir, saving the checkpoint
// model.safetensors, and returns the report and the labels.
func trainBlobs(t *testing.T, dir string, n int, opt train.Options) (*train.Report, []string) {
	t.Helper()
	csv, labels := blobs(n, 7)
	write(t, filepath.Join(dir, "blobs.csv"), csv)
	file := filepath.Join(dir, "blobs.nn")
	write(t, file, blobModel)
	p, err := nnc.Compile(file, []byte(blobModel), nnc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opt.Source = []byte(blobModel)
	if opt.Save == "" {
		opt.Save = filepath.Join(dir, "model.safetensors")
	}
	rep, err := train.Run(p, opt)
	if err != nil {
		testenv.NoInternal(t, err)
		t.Fatal(err)
	}
	return rep, labels
}

// TestPredictRoundTrip trains on a CSV whose target holds names, saves the
// checkpoint, predicts on the same rows' features, and holds the accuracy
// of the predictions to the final training accuracy the run reported.
func TestPredictRoundTrip(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	rep, labels := trainBlobs(t, dir, 150, train.Options{Out: &out})
	if !strings.HasPrefix(out.String(), "classes: 0=alpha 1=beta 2=gamma\nepoch 1/8  loss ") {
		t.Errorf("run output starts %q", out.String()[:min(out.Len(), 60)])
	}
	if rep.Final.Accuracy > 0.97 || rep.Final.Accuracy < 0.5 {
		t.Fatalf("train accuracy %v: the test wants a model that is good but not perfect", rep.Final.Accuracy)
	}

	csv, _ := blobs(150, 7)
	features := filepath.Join(dir, "features.csv")
	write(t, features, reorder(csv, []int{0, 1, 2, 3}))
	p := compileForward(t, filepath.Join(dir, "blobs.nn"), 32) // several batches, the last one short
	weights := filepath.Join(dir, "model.safetensors")
	preds, err := train.Predict(p, train.PredictOptions{Weights: weights, Input: features, Loss: ir.CrossEntropy})
	if err != nil {
		t.Fatal(err)
	}
	if preds.N != 150 || preds.Width != 3 || preds.Loss != ir.CrossEntropy {
		t.Fatalf("got N=%d Width=%d Loss=%v", preds.N, preds.Width, preds.Loss)
	}
	if !slices.Equal(preds.Data.Classes, []string{"alpha", "beta", "gamma"}) {
		t.Errorf("class names %q", preds.Data.Classes)
	}
	correct := 0
	var probs []float64
	for i := range preds.N {
		if preds.Label(preds.Class(i)) == labels[i] {
			correct++
		}
		probs = preds.Probabilities(i, probs)
		sum := 0.0
		for _, q := range probs {
			sum += q
		}
		if math.Abs(sum-1) > 1e-9 || slices.Max(probs) != probs[preds.Class(i)] {
			t.Fatalf("row %d: probabilities %v for class %d", i+1, probs, preds.Class(i))
		}
	}
	if acc := float64(correct) / float64(preds.N); acc != rep.Final.Accuracy {
		t.Errorf("predictions are %d/%d = %v right, the run reported train accuracy %v", correct, preds.N, acc, rep.Final.Accuracy)
	}

	// The loss is taken from the checkpoint when the caller has none, and
	// the columns are matched by name, in any order.
	shuffled := filepath.Join(dir, "shuffled.csv")
	write(t, shuffled, reorder(csv, []int{2, 0, 3, 1}))
	again, err := train.Predict(p, train.PredictOptions{Weights: weights, Input: shuffled})
	if err != nil {
		t.Fatal(err)
	}
	if again.Loss != ir.CrossEntropy || !slices.Equal(again.Out, preds.Out) {
		t.Errorf("columns by name: loss %v, outputs differ: %v", again.Loss, !slices.Equal(again.Out, preds.Out))
	}

	// Without a header the columns are taken in order.
	headless := filepath.Join(dir, "headless.csv")
	write(t, headless, strings.SplitN(reorder(csv, []int{0, 1, 2, 3}), "\n", 2)[1])
	again, err = train.Predict(p, train.PredictOptions{Weights: weights, Input: headless})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.Out, preds.Out) {
		t.Error("a file without a header predicts differently")
	}

	// A file that still holds the target column gives the answers: the
	// score of the predictions is the run's final evaluation.
	answers := filepath.Join(dir, "answers.csv")
	write(t, answers, csv)
	again, err = train.Predict(p, train.PredictOptions{Weights: weights, Input: answers})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.Out, preds.Out) || !again.HasAnswers() || len(again.Labels) != 150 {
		t.Fatalf("with the target column: outputs differ: %v, %d answers", !slices.Equal(again.Out, preds.Out), len(again.Labels))
	}
	for i, l := range again.Labels {
		if again.Label(int(l)) != labels[i] {
			t.Fatalf("row %d: answer %d (%s), the file says %s", i+1, l, again.Label(int(l)), labels[i])
		}
	}
	loss, acc := again.Score()
	if acc != rep.Final.Accuracy || math.Abs(loss-rep.Final.Loss) > 1e-5*rep.Final.Loss {
		t.Errorf("score with the answers: loss %v, accuracy %v; the run: loss %v, accuracy %v", loss, acc, rep.Final.Loss, rep.Final.Accuracy)
	}
	if preds.HasAnswers() {
		t.Error("a file without the target column has answers")
	}

	for _, tt := range []struct {
		name, csv, want string
	}{
		{"missing", reorder(csv, []int{0, 1, 3}), `: missing column "c"; the model was trained on a, b, c, d`},
		{"missing and extra", "a,b,x,d,y\n1,2,3,4,5\n", `: missing column "c"; extra columns "x", "y"; the model`},
		{"repeated", "a,b,c,d,d\n1,2,3,4,5\n", `: 5 columns for 4 features: a column name is repeated`},
		{"too few", "1,2,3\n4,5,6\n", `: 3 columns, the model's input takes 4`},
		{"too many", "1,2,3,4,5\n", `: 5 columns, the model's input takes 4`},
		{"not a number", "a,b,c,d\n1,2,3,4\n1,2,x,4\n", `:3: column "c": "x" is not a number`},
		{"empty", "", `: empty file`},
	} {
		path := filepath.Join(dir, "bad.csv")
		write(t, path, tt.csv)
		_, err := train.Predict(p, train.PredictOptions{Weights: weights, Input: path})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), path) {
			t.Errorf("%s: got %v, want %s%s", tt.name, err, path, tt.want)
		}
	}

	// A checkpoint that is missing, corrupt or of another model.
	bad := filepath.Join(dir, "bad.safetensors")
	write(t, bad, "not a checkpoint")
	for _, w := range []string{filepath.Join(dir, "none.safetensors"), bad} {
		if _, err := train.Predict(p, train.PredictOptions{Weights: w, Input: features}); err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("weights %s: got %v", w, err)
		}
	}
	wide := filepath.Join(dir, "wide.nn")
	write(t, wide, strings.Replace(blobModel, "hid = 16", "hid = 5", 1))
	if _, err := train.Predict(compileForward(t, wide, 8), train.PredictOptions{Weights: weights, Input: features}); err == nil || !strings.Contains(err.Error(), `"fc1.weight" has shape [16 4], model expects [5 4] (the file was saved from model Blobs with hid=16)`) {
		t.Errorf("another model's weights: got %v", err)
	}
}

// TestCheckpointMetadata checks what a run records about its data and that
// a checkpoint without it (as PyTorch writes) still predicts.
func TestCheckpointMetadata(t *testing.T) {
	dir := t.TempDir()
	trainBlobs(t, dir, 30, train.Options{})
	f, err := checkpoint.Read(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"model":           "Blobs",
		"hyperparameters": "hid=16",
		"format":          "pt",
		"loss":            "cross_entropy",
		"classes":         `["alpha","beta","gamma"]`,
		"features":        `["a","b","c","d"]`,
		"target":          "kind",
	}
	for k, v := range want {
		if f.Metadata[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, f.Metadata[k], v)
		}
	}

	// Without metadata, classes are numbered and columns counted.
	f.Metadata = map[string]string{"format": "pt"}
	plain := filepath.Join(dir, "plain.safetensors")
	if err := checkpoint.Write(plain, f); err != nil {
		t.Fatal(err)
	}
	csv, _ := blobs(30, 7)
	features := filepath.Join(dir, "features.csv")
	write(t, features, reorder(csv, []int{3, 2, 1, 0}))
	p := compileForward(t, filepath.Join(dir, "blobs.nn"), 256)
	preds, err := train.Predict(p, train.PredictOptions{Weights: plain, Input: features})
	if err != nil {
		t.Fatal(err)
	}
	if preds.Loss != ir.NoLoss || preds.Label(0) != "" || preds.N != 30 {
		t.Errorf("without metadata: loss %v, label %q, %d rows", preds.Loss, preds.Label(0), preds.N)
	}

	// Metadata that is not a list is a corrupt checkpoint.
	f.Metadata["classes"] = "alpha,beta"
	if err := checkpoint.Write(plain, f); err != nil {
		t.Fatal(err)
	}
	if _, err := train.Predict(p, train.PredictOptions{Weights: plain, Input: features}); err == nil || !strings.Contains(err.Error(), `metadata "classes" is not a JSON list of strings`) {
		t.Errorf("corrupt metadata: got %v", err)
	}
}

// TestPredictIDX predicts on an IDX file of images.
func TestPredictIDX(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "img.nn")
	write(t, file, `model Img {
    fc = Linear(6, 2)
    forward(x: f32[N, 1, 2, 3]) {
        return fc(flatten(x))
    }
}
`)
	p := compileForward(t, file, 4)
	f := &checkpoint.File{Tensors: []*checkpoint.Tensor{
		{Name: "fc.weight", Shape: []int{2, 6}, F32: []float32{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
		{Name: "fc.bias", Shape: []int{2}, F32: []float32{0, 0}},
	}}
	weights := filepath.Join(dir, "w.safetensors")
	if err := checkpoint.Write(weights, f); err != nil {
		t.Fatal(err)
	}
	img := binary.BigEndian.AppendUint32(nil, 0x803)
	for _, d := range []uint32{5, 2, 3} {
		img = binary.BigEndian.AppendUint32(img, d)
	}
	for i := range 5 {
		img = append(img, byte(i*50), 0, 0, 0, 0, byte(255-i*50))
	}
	path := filepath.Join(dir, "images-idx3-ubyte")
	write(t, path, string(img))
	preds, err := train.Predict(p, train.PredictOptions{Weights: weights, Input: path, Loss: ir.CrossEntropy})
	if err != nil {
		t.Fatal(err)
	}
	var classes []int
	for i := range preds.N {
		classes = append(classes, preds.Class(i))
	}
	if !slices.Equal(classes, []int{1, 1, 1, 0, 0}) {
		t.Errorf("classes %v, want [1 1 1 0 0]", classes)
	}

	// Images of another size.
	small := filepath.Join(dir, "small.nn")
	write(t, small, strings.NewReplacer("6, 2", "4, 2", "1, 2, 3", "1, 2, 2").Replace(string(must(os.ReadFile(file)))))
	if _, err := train.Predict(compileForward(t, small, 4), train.PredictOptions{Weights: weights, Input: path}); err == nil || !strings.Contains(err.Error(), "holds images of 6 values, the model's input takes 4") {
		t.Errorf("images of another size: got %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestQuietAndPlot checks that --quiet prints the final line alone, and
// that --plot writes a PNG picture without changing the run.
func TestQuietAndPlot(t *testing.T) {
	dir := t.TempDir()
	var loud, quiet bytes.Buffer
	trainBlobs(t, dir, 30, train.Options{Out: &loud})
	plot := filepath.Join(dir, "curves.png")
	rep, _ := trainBlobs(t, dir, 30, train.Options{Out: &quiet, Quiet: true, Plot: plot})
	lines := strings.Split(loud.String(), "\n")
	if got, want := quiet.String(), lines[len(lines)-2]+"\n"; got != want {
		t.Errorf("quiet run printed %q, want %q", got, want)
	}
	if len(rep.Test) != 0 {
		t.Errorf("a run without a test set evaluated one: %v", rep.Test)
	}
	b, err := os.ReadFile(plot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if s := img.Bounds().Size(); s.X < 400 || s.X > 2000 || s.Y < 300 || s.Y > 2000 {
		t.Errorf("the plot is %v pixels", s)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".curves.png.tmp*")); len(tmp) > 0 {
		t.Errorf("temporary files left behind: %v", tmp)
	}

	// With a test set, it is evaluated after each epoch, and the last
	// evaluation is the final one; the printed lines do not change.
	model := strings.Replace(blobModel, "    loss", "    test      = csv(\"test.csv\", target = \"kind\")\n    loss", 1)
	csv, _ := blobs(40, 9)
	write(t, filepath.Join(dir, "test.csv"), csv)
	file := filepath.Join(dir, "test.nn")
	write(t, file, model)
	run := func(opt train.Options) (*train.Report, string) {
		p, err := nnc.Compile(file, []byte(model), nnc.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		opt.Out = &out
		rep, err := train.Run(p, opt)
		if err != nil {
			testenv.NoInternal(t, err)
			t.Fatal(err)
		}
		return rep, out.String()
	}
	_, plain := run(train.Options{})
	svg := filepath.Join(dir, "curves.svg")
	rep, plotted := run(train.Options{Plot: svg})
	if plain != plotted {
		t.Errorf("plotting changed the run:\n%s\nwithout:\n%s", plotted, plain)
	}
	if len(rep.Test) != 8 || rep.Test[7].Loss != rep.Final.Loss || rep.Test[7].Accuracy != rep.Final.Accuracy {
		t.Errorf("test curve %v, final %v", rep.Test, rep.Final)
	}
	if b, err := os.ReadFile(svg); err != nil || !bytes.Contains(b, []byte("<svg")) {
		t.Errorf("svg plot: %v", err)
	}

	// A format nnc cannot write fails before training.
	if err := train.CheckPlotPath("curves.gif"); err == nil || !strings.Contains(err.Error(), "cannot plot to a .gif file") {
		t.Errorf("CheckPlotPath(curves.gif) = %v", err)
	}
}

// TestTestSetClasses checks that a test set lacking a class is numbered
// after the training set's classes, not its own.
func TestTestSetClasses(t *testing.T) {
	dir := t.TempDir()
	rep, _ := trainBlobs(t, dir, 60, train.Options{})
	csv, _ := blobs(60, 7)
	// The training rows without the class alpha, as the test set.
	var b strings.Builder
	for line := range strings.Lines(csv) {
		if !strings.Contains(line, "alpha") {
			b.WriteString(line)
		}
	}
	write(t, filepath.Join(dir, "test.csv"), b.String())
	model := strings.Replace(blobModel, "    loss", "    test      = csv(\"test.csv\", target = \"kind\")\n    loss", 1)
	file := filepath.Join(dir, "test.nn")
	write(t, file, model)
	p, err := nnc.Compile(file, []byte(model), nnc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := train.Run(p, train.Options{})
	if err != nil {
		testenv.NoInternal(t, err)
		t.Fatal(err)
	}
	// The same weights on a subset of the training rows: their accuracy
	// cannot be far from the whole set's, as it would be with the classes
	// renumbered.
	if math.Abs(got.Final.Accuracy-rep.Final.Accuracy) > 0.25 {
		t.Errorf("test accuracy %v on training rows, train accuracy %v", got.Final.Accuracy, rep.Final.Accuracy)
	}

	// A test class the training data lacks is an error.
	write(t, filepath.Join(dir, "test.csv"), "a,b,c,d,kind\n1,2,3,4,delta\n")
	_, err = train.Run(p, train.Options{})
	testenv.NoInternal(t, err)
	if err == nil || !strings.Contains(err.Error(), `test.csv: class "delta" does not occur in the training data blobs.csv`) {
		t.Errorf("unknown test class: got %v", err)
	}
}
