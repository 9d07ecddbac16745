package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const flowersModel = `model Flowers(hid = 8) {
    fc1 = Linear(4, hid)
    fc2 = Linear(hid, 3)
    forward(x: f32[N, 4]) {
        return fc2(relu(fc1(x)))
    }
}

train Flowers {
    data      = csv("flowers.csv", target = "species")
    loss      = cross_entropy
    optimizer = Adam(lr = 0.05)
    epochs    = 40
    batch     = 5
    seed      = 1
}
`

const flowersCSV = `sepal_length,sepal_width,petal_length,petal_width,species
5.1,3.5,1.4,0.2,setosa
4.9,3.0,1.4,0.2,setosa
4.7,3.2,1.3,0.2,setosa
5.0,3.6,1.4,0.2,setosa
5.4,3.9,1.7,0.4,setosa
7.0,3.2,4.7,1.4,versicolor
6.4,3.2,4.5,1.5,versicolor
6.9,3.1,4.9,1.5,versicolor
5.5,2.3,4.0,1.3,versicolor
6.5,2.8,4.6,1.5,versicolor
6.3,3.3,6.0,2.5,virginica
5.8,2.7,5.1,1.9,virginica
7.1,3.0,5.9,2.1,virginica
6.3,2.9,5.6,1.8,virginica
6.5,3.0,5.8,2.2,virginica
`

// TestPredictAgreesWithRun trains with `nnc run --save`, predicts with
// `nnc predict` on the training CSV's features, and holds the accuracy of
// the predicted class names to the run's final "train accuracy" line, in
// text and in JSON.
func TestPredictAgreesWithRun(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "flowers.nn")
	ckpt := filepath.Join(dir, "flowers.safetensors")
	features := filepath.Join(dir, "features.csv")
	var labels []string
	var rows strings.Builder
	for i, line := range strings.Split(strings.TrimSpace(flowersCSV), "\n") {
		cut := strings.LastIndexByte(line, ',')
		rows.WriteString(line[:cut] + "\n")
		if i > 0 {
			labels = append(labels, line[cut+1:])
		}
	}
	for name, s := range map[string]string{model: flowersModel, filepath.Join(dir, "flowers.csv"): flowersCSV, features: rows.String()} {
		if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	nnc := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := Main(args, &stdout, &stderr); code != 0 || stderr.Len() > 0 {
			t.Fatalf("nnc %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
		}
		return stdout.String()
	}

	out := strings.Split(strings.TrimSpace(nnc("run", model, "--save", ckpt)), "\n")
	if out[0] != "classes: 0=setosa 1=versicolor 2=virginica" {
		t.Errorf("first line %q", out[0])
	}
	final := out[len(out)-1]
	if !strings.HasPrefix(final, "train accuracy ") || final == "train accuracy 1.0000" {
		t.Fatalf("final line %q: the test wants a model that is good but not perfect", final)
	}

	accuracy := func(classes []string) string {
		if len(classes) != len(labels) {
			t.Fatalf("%d predictions for %d rows", len(classes), len(labels))
		}
		right := 0
		for i, c := range classes {
			if c == labels[i] {
				right++
			}
		}
		return fmt.Sprintf("train accuracy %.4f", float64(right)/float64(len(labels)))
	}
	var text []string
	lines := strings.Split(strings.TrimSpace(nnc("predict", model, "--weights", ckpt, "--input", features)), "\n")
	if lines[0] != "class  p(setosa) p(versicolor) p(virginica)" {
		t.Errorf("header %q", lines[0])
	}
	for _, line := range lines[1:] {
		name, _, _ := strings.Cut(line, "  ")
		text = append(text, name)
	}
	if got := accuracy(text); got != final {
		t.Errorf("nnc predict: %s; nnc run: %s", got, final)
	}
	var js []string
	for i, line := range strings.Split(strings.TrimSpace(nnc("predict", model, "--weights", ckpt, "--input", features, "--json", "--batch", "4")), "\n") {
		var row struct {
			Row           int
			Class         int
			Label         string
			Probabilities []float64
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if row.Row != i+1 || len(row.Probabilities) != 3 || []string{"setosa", "versicolor", "virginica"}[row.Class] != row.Label {
			t.Errorf("line %d: %q", i+1, line)
		}
		js = append(js, row.Label)
	}
	if got := accuracy(js); got != final {
		t.Errorf("nnc predict --json: %s; nnc run: %s", got, final)
	}
}
