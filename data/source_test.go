package data

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nnc-go/nnc/ir"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	for name, b := range map[string][]byte{"images": testImages, "labels": testLabels} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "two.csv"), []byte("a,b,y,z\n1,2,3,4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	idx := Source{Kind: "idx", Images: "images", Labels: "labels"}
	ds, err := Open(idx, dir, 6, 12, ir.CrossEntropy)
	if err != nil {
		t.Fatal(err)
	}
	if ds.N != 3 || ds.Classes != 12 {
		t.Errorf("idx: %d samples of %d classes, want 3 of 12 (the model's outputs)", ds.N, ds.Classes)
	}
	ds, err = Open(Source{Kind: "random", Samples: 5, Classes: 3}, dir, 4, 10, ir.CrossEntropy)
	if err != nil || ds.Classes != 3 || ds.Features != 4 {
		t.Errorf("random(classes = 3): %+v, %v", ds, err)
	}
	if ds, err = Open(Source{Kind: "random", Samples: 5, Classes: 3}, dir, 4, 2, ir.MSE); err != nil || ds.TargetWidth != 2 {
		t.Errorf("random for mse: %+v, %v", ds, err)
	}
	for _, tt := range []struct {
		src      Source
		features int
		outputs  int
		loss     ir.Loss
		want     string
	}{
		{idx, 6, 10, ir.MSE, "IDX data has class labels: train it with cross_entropy"},
		{idx, 5, 10, ir.CrossEntropy, filepath.Join(dir, "images") + " holds samples of 6 values, the model's input takes 5"},
		{idx, 6, 9, ir.CrossEntropy, filepath.Join(dir, "labels") + " holds labels up to 9, the model scores 9 classes"},
		{Source{Kind: "csv", Path: "two.csv", Header: true, TargetIndex: -1}, 3, 2, ir.MSE, "two.csv: 1 target column(s), the model outputs 2 values per sample"},
		{Source{Kind: "parquet"}, 1, 1, ir.CrossEntropy, "unknown data source parquet"},
		{Source{Kind: "text", Path: "no-such.txt"}, 8, 12, ir.MSE, "text: the next character is a class: train it with cross_entropy"},
	} {
		if _, err := Open(tt.src, dir, tt.features, tt.outputs, tt.loss); err == nil || err.Error() != tt.want {
			t.Errorf("Open(%+v): error %v, want %s", tt.src, err, tt.want)
		}
	}
}

func TestResolve(t *testing.T) {
	if got := Resolve("models", "iris.csv"); got != filepath.Join("models", "iris.csv") {
		t.Errorf("relative: %s", got)
	}
	abs := filepath.Join(t.TempDir(), "iris.csv")
	if got := Resolve("models", abs); got != abs {
		t.Errorf("absolute: %s", got)
	}
}

func TestSameClasses(t *testing.T) {
	train := &Dataset{Name: "train.csv", ClassNames: []string{"a", "b", "c"}}
	test := &Dataset{Name: "test.csv", ClassNames: []string{"a", "c"}, Labels: []int32{1, 0, 1}}
	if err := SameClasses(test, train); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(test.Labels, []int32{2, 0, 2}) || !slices.Equal(test.ClassNames, train.ClassNames) {
		t.Errorf("renumbered labels %v, names %v; want [2 0 2], %v", test.Labels, test.ClassNames, train.ClassNames)
	}
	odd := &Dataset{Name: "odd.csv", ClassNames: []string{"a", "d"}, Labels: []int32{1}}
	want := `odd.csv: class "d" does not occur in the training data train.csv (its classes are a, b, c)`
	if err := SameClasses(odd, train); err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}
