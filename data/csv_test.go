package data

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nnc-go/nnc/ir"
)

// writeFile writes content to a file called name in a new temporary
// directory and returns its path.
func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o666); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadCSV(t *testing.T) {
	last := CSVOptions{TargetIndex: -1, Header: true, Loss: ir.CrossEntropy}
	tests := []struct {
		name string
		src  string
		opt  CSVOptions
		want *Dataset
	}{{
		name: "numeric classes, target last",
		src:  "a,b,y\n1,2,0\n3.5,-4,1\n5e-1,0x1p-2,2\n",
		opt:  last,
		want: &Dataset{N: 3, Features: 2, X: []float32{1, 2, 3.5, -4, 0.5, 0.25}, Labels: []int32{0, 1, 2}, Classes: 3},
	}, {
		name: "labels written as floats, classes from the model",
		src:  "a,y\n1,1.0\n2,0.0\n",
		opt:  CSVOptions{TargetIndex: -1, Header: true, Classes: 4, Features: 1, Loss: ir.CrossEntropy},
		want: &Dataset{N: 2, Features: 1, X: []float32{1, 2}, Labels: []int32{1, 0}, Classes: 4},
	}, {
		name: "target by name in the middle",
		src:  "a,y,b\n1,1,2\n3,0,4\n",
		opt:  CSVOptions{Target: "y", Header: true, Loss: ir.CrossEntropy},
		want: &Dataset{N: 2, Features: 2, X: []float32{1, 2, 3, 4}, Labels: []int32{1, 0}, Classes: 2},
	}, {
		name: "target by index, first column, no header",
		src:  "1,10,20\n0,30,40\n",
		opt:  CSVOptions{TargetIndex: 0, Loss: ir.CrossEntropy},
		want: &Dataset{N: 2, Features: 2, X: []float32{10, 20, 30, 40}, Labels: []int32{1, 0}, Classes: 2},
	}, {
		name: "negative index counts from the end",
		src:  "a,b,c\n1,2,3\n",
		opt:  CSVOptions{TargetIndex: -2, Header: true, Loss: ir.MSE},
		want: &Dataset{N: 1, Features: 2, X: []float32{1, 3}, Targets: []float32{2}, TargetWidth: 1},
	}, {
		name: "values",
		src:  "x,y\n1,-2.5\n2,1e3\n",
		opt:  CSVOptions{TargetIndex: -1, Header: true, Loss: ir.MSE},
		want: &Dataset{N: 2, Features: 1, X: []float32{1, 2}, Targets: []float32{-2.5, 1000}, TargetWidth: 1},
	}, {
		name: "binary",
		src:  "x,y\n1,0\n2,1\n3,0.25\n",
		opt:  CSVOptions{TargetIndex: -1, Header: true, Loss: ir.BCEWithLogits},
		want: &Dataset{N: 3, Features: 1, X: []float32{1, 2, 3}, Targets: []float32{0, 1, 0.25}, TargetWidth: 1},
	}, {
		name: "no target",
		src:  "a,b\n1,2\n3,4\n",
		opt:  CSVOptions{NoTarget: true, Header: true, TargetIndex: -1, Features: 2},
		want: &Dataset{N: 2, Features: 2, X: []float32{1, 2, 3, 4}},
	}, {
		name: "string targets map to sorted classes",
		src: "sepal_length,sepal_width,species\n" +
			"5.1,3.5,setosa\n" +
			"7.0,3.2,versicolor\n" +
			"6.3,3.3,virginica\n" +
			"4.9,3.0,setosa\n" +
			"5.8,2.7,virginica\n",
		opt: CSVOptions{Target: "species", Header: true, Loss: ir.CrossEntropy},
		want: &Dataset{
			N: 5, Features: 2,
			X:          []float32{5.1, 3.5, 7.0, 3.2, 6.3, 3.3, 4.9, 3.0, 5.8, 2.7},
			Labels:     []int32{0, 1, 2, 0, 2},
			Classes:    3,
			ClassNames: []string{"setosa", "versicolor", "virginica"},
		},
	}, {
		name: "string targets sorted, not in order of appearance",
		src:  "x,y\n1,yes\n2,no\n3,yes\n",
		opt:  CSVOptions{TargetIndex: -1, Header: true, Classes: 3, Loss: ir.CrossEntropy},
		want: &Dataset{N: 3, Features: 1, X: []float32{1, 2, 3}, Labels: []int32{1, 0, 1}, Classes: 3, ClassNames: []string{"no", "yes"}},
	}, {
		name: "a target column that turns non-numeric late holds names",
		src:  "x,y\n1,10\n2,9\n3,cat\n4,9\n",
		opt:  CSVOptions{TargetIndex: -1, Header: true, Classes: 3, Loss: ir.CrossEntropy},
		want: &Dataset{N: 4, Features: 1, X: []float32{1, 2, 3, 4}, Labels: []int32{0, 1, 2, 1}, Classes: 3, ClassNames: []string{"10", "9", "cat"}},
	}, {
		name: "CRLF, spaces, quotes, BOM and blank lines",
		src:  "\uFEFF a , \"b\",y\r\n\r\n 1 ,\" 2\",  0 \r\n   \r\n\"3\",4,1\r\n\n",
		opt:  last,
		want: &Dataset{N: 2, Features: 2, X: []float32{1, 2, 3, 4}, Labels: []int32{0, 1}, Classes: 2},
	}, {
		name: "no final newline",
		src:  "a,y\n1,0",
		opt:  last,
		want: &Dataset{N: 1, Features: 1, X: []float32{1}, Labels: []int32{0}, Classes: 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "data.csv", tt.src)
			got, err := LoadCSV(path, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Name = "data.csv"
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LoadCSV mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadCSVErrors(t *testing.T) {
	classes3 := CSVOptions{TargetIndex: -1, Header: true, Classes: 3, Loss: ir.CrossEntropy}
	tests := []struct {
		name string // file name
		src  string
		opt  CSVOptions
		want string
	}{
		{"iris.csv", "sepal_length,sepal_width,species\n5.1,3.5,setosa\n4.9,abc,setosa\n", CSVOptions{Target: "species", Header: true, Loss: ir.CrossEntropy},
			`iris.csv:3: column "sepal_width": "abc" is not a number`},
		{"data.csv", "a,b,c,d,e,y\n1,2,3,4,5,0\n1,2,3,4,5,0\n1,2,3,4,0\n", classes3,
			`data.csv:4: 5 columns, header has 6`},
		{"data.csv", "\n1,2,3\n1,2,3\n1,2\n", CSVOptions{TargetIndex: -1, Loss: ir.CrossEntropy},
			`data.csv:4: 2 columns, line 2 has 3`},
		{"data.csv", "", classes3, `data.csv: empty file`},
		{"data.csv", "\uFEFF\r\n  \n\n", classes3, `data.csv: empty file`},
		{"data.csv", "a,b,y\n", classes3, `data.csv: no data rows`},
		{"data.csv", "a,b,y\n\n  \n", classes3, `data.csv: no data rows`},
		{"data.csv", "a,b,c\n1,2,3\n", CSVOptions{Target: "y", Header: true, Loss: ir.CrossEntropy},
			`data.csv: target column "y" not found; columns are a, b, c`},
		{"data.csv", "c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12,c13,c14\n", CSVOptions{Target: "y", Header: true, Loss: ir.CrossEntropy},
			`data.csv: target column "y" not found; columns are c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, ... (2 more), c14`},
		{"data.csv", "a,y\n1,0\n1,1\n1,2\n1,0\n1,1\n1,2\n1,0\n1,7\n1,0\n", classes3,
			`data.csv:9: label 7 is outside the model's 3 classes`},
		{"data.csv", "a,y\n1,1.5\n", classes3,
			`data.csv:2: label 1.5 is not a class index (a non-negative integer)`},
		{"data.csv", "a,y\n1,-1\n", classes3,
			`data.csv:2: label -1 is not a class index (a non-negative integer)`},
		{"data.csv", "a,y\n1,NaN\n", classes3,
			`data.csv:2: label NaN is not a class index (a non-negative integer)`},
		{"data.csv", "a,y\n1,3e9\n", CSVOptions{TargetIndex: -1, Header: true, Loss: ir.CrossEntropy},
			`data.csv:2: label 3e9 is too large`},
		{"data.csv", "a,y\n1,1e400\n", CSVOptions{TargetIndex: -1, Header: true, Loss: ir.CrossEntropy},
			`data.csv:2: label 1e400 is too large`},
		{"data.csv", "a,y\n1,5\n1,0\nx,0\n", classes3, // the earlier error is reported
			`data.csv:2: label 5 is outside the model's 3 classes`},
		{"data.csv", "1,2,3,4,5,6,7,8,9,0\n", CSVOptions{TargetIndex: -1, Features: 10, Loss: ir.CrossEntropy},
			`data.csv has 9 feature columns, the model's input takes 10`},
		{"data.csv", "a,y\n1,0\n", CSVOptions{TargetIndex: -1, Header: true, Features: 2, Loss: ir.CrossEntropy},
			`data.csv has 1 feature column, the model's input takes 2`},
		{"data.csv", "y\n0\n", CSVOptions{TargetIndex: -1, Header: true, Loss: ir.CrossEntropy},
			`data.csv: no feature columns, only the target column "y"`},
		{"data.csv", "a,b,y\n1,,0\n", classes3, `data.csv:2: column "b" is empty`},
		{"data.csv", "a,b,y\n1,2,\n", classes3, `data.csv:2: column "y" is empty`},
		{"data.csv", "a,,y\n1,x,0\n", classes3, `data.csv:2: column 2: "x" is not a number`},
		{"data.csv", "1,x,0\n", CSVOptions{TargetIndex: -1, Loss: ir.CrossEntropy}, `data.csv:1: column 2: "x" is not a number`},
		{"data.csv", "a,b,y\n1,NaN,0\n", classes3, `data.csv:2: column "b": "NaN" is not a finite number`},
		{"data.csv", "a,b,y\n1,-Inf,0\n", classes3, `data.csv:2: column "b": "-Inf" is not a finite number`},
		{"data.csv", "a,b,y\n1,1e50,0\n", classes3, `data.csv:2: column "b": "1e50" is out of range for float32`},
		{"data.csv", "a,y\n1,0\n2,1.5\n", CSVOptions{TargetIndex: -1, Header: true, Loss: ir.BCEWithLogits},
			`data.csv:3: target 1.5 is outside [0, 1]`},
		{"data.csv", "a,y\n1,abc\n", CSVOptions{TargetIndex: -1, Header: true, Loss: ir.MSE},
			`data.csv:2: column "y": "abc" is not a number`},
		{"data.csv", "1,2\n", CSVOptions{Target: "y", Loss: ir.CrossEntropy},
			`data.csv: target column "y" is given by name, but the file has no header`},
		{"data.csv", "y,a,y\n1,2,3\n", CSVOptions{Target: "y", Header: true, Loss: ir.CrossEntropy},
			`data.csv: target column "y" is ambiguous: columns 1 and 3 have that name`},
		{"data.csv", "a,b\n1,2\n", CSVOptions{TargetIndex: 2, Header: true, Loss: ir.CrossEntropy},
			`data.csv: target column index 2 is out of range for 2 columns`},
		{"data.csv", "a,b\n1,2\n", CSVOptions{TargetIndex: -3, Header: true, Loss: ir.CrossEntropy},
			`data.csv: target column index -3 is out of range for 2 columns`},
		{"iris.csv", "x,species\n1,setosa\n2,versicolor\n3,virginica\n", CSVOptions{Target: "species", Header: true, Classes: 2, Loss: ir.CrossEntropy},
			`iris.csv: target column "species" has 3 distinct values, more than the model's 2 classes`},
		{"data.csv", "a,y\n1,0\n1 \"2\",0\n", classes3, `data.csv:3:3: bare " in non-quoted-field`},
		{"data.csv", "a,y\n1,0\n", CSVOptions{Loss: 4}, `data.csv: unknown loss Loss(4)`},
		{"data.csv", "a,y\n1,0\n", CSVOptions{}, `data.csv: unknown loss none`},
		{"data.csv", "a,\"y\"x\n1,0\n", classes3, `data.csv:1:5: extraneous or missing " in quoted-field`},
		{"data.csv", "a,y\n1,0\n\"1,0\n", classes3, `data.csv:3:6: extraneous or missing " in quoted-field`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := parseCSV(tt.name, []byte(tt.src), tt.opt)
			if err == nil {
				t.Fatalf("parseCSV succeeded, want error %q", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestLoadCSVFileErrors(t *testing.T) {
	path := writeFile(t, "data.csv", "a,y\n1,0\nq,1\n")
	_, err := LoadCSV(path, CSVOptions{TargetIndex: -1, Header: true, Loss: ir.CrossEntropy})
	if want := path + `:3: column "a": "q" is not a number`; err == nil || err.Error() != want {
		t.Errorf("LoadCSV: error %v, want %s", err, want)
	}

	_, err = LoadCSV(filepath.Join(t.TempDir(), "missing.csv"), CSVOptions{Loss: ir.CrossEntropy})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadCSV of a missing file: error %v, want fs.ErrNotExist", err)
	}
}

// TestLoadCSVLineNumbers checks that a line is the one where the field
// starts, quoted newlines and blank lines included.
func TestLoadCSVLineNumbers(t *testing.T) {
	src := "a,b,y\n\"x\ny\",1,0\n\n1,\"\n\nz\",1\n"
	_, err := parseCSV("data.csv", []byte(src), CSVOptions{TargetIndex: -1, Header: true, Loss: ir.CrossEntropy})
	want := `data.csv:2: column "a": "x\ny" is not a number`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
	src = "a,b,y\n1,1,0\n\n1,\"\n\nz\",1\n"
	_, err = parseCSV("data.csv", []byte(src), CSVOptions{TargetIndex: -1, Header: true, Loss: ir.CrossEntropy})
	want = `data.csv:4: column "b": "z" is not a number`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}

// csvFile returns a CSV file of about size bytes: a header, then rows of
// features random-looking numbers and a class label.
func csvFile(size, features int) []byte {
	var b strings.Builder
	for j := range features {
		fmt.Fprintf(&b, "f%d,", j)
	}
	b.WriteString("label\n")
	x := uint32(1)
	for b.Len() < size {
		for range features {
			x = x*1664525 + 1013904223
			fmt.Fprintf(&b, "%.6f,", float64(x)/math.MaxUint32*4-2)
		}
		fmt.Fprintf(&b, "%d\n", x%10)
	}
	return []byte(b.String())
}

func TestLoadCSVLarge(t *testing.T) {
	src := csvFile(1<<20, 16)
	ds, err := parseCSV("big.csv", src, CSVOptions{TargetIndex: -1, Header: true, Classes: 10, Features: 16, Loss: ir.CrossEntropy})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(src), "\n") - 1
	if ds.N != lines || len(ds.X) != lines*16 || len(ds.Labels) != lines || ds.Classes != 10 {
		t.Errorf("N = %d, len(X) = %d, len(Labels) = %d, Classes = %d; want %d rows of 16 features, 10 classes",
			ds.N, len(ds.X), len(ds.Labels), ds.Classes, lines)
	}
	if cap(ds.X) != len(ds.X) {
		t.Errorf("cap(X) = %d, want len(X) = %d: the buffer was not sized up front", cap(ds.X), len(ds.X))
	}
}

func BenchmarkLoadCSV(b *testing.B) {
	const size = 10 << 20
	path := filepath.Join(b.TempDir(), "big.csv")
	if err := os.WriteFile(path, csvFile(size, 32), 0o666); err != nil {
		b.Fatal(err)
	}
	opt := CSVOptions{TargetIndex: -1, Header: true, Classes: 10, Loss: ir.CrossEntropy}
	b.SetBytes(size)
	for b.Loop() {
		if _, err := LoadCSV(path, opt); err != nil {
			b.Fatal(err)
		}
	}
}

// checkDataset reports inconsistencies between ds's fields.
func checkDataset(t *testing.T, ds *Dataset) {
	t.Helper()
	x := features(ds)
	if ds.N < 1 || ds.Features < 1 || len(x) != ds.N*ds.Features || (ds.X != nil && ds.Pixels != nil) {
		t.Fatalf("N = %d, Features = %d, %d features", ds.N, ds.Features, len(x))
	}
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("X[%d] = %v", i, v)
		}
	}
	if ds.Labels != nil {
		if len(ds.Labels) != ds.N || ds.Targets != nil || ds.TargetWidth != 0 {
			t.Fatalf("len(Labels) = %d, N = %d, len(Targets) = %d, TargetWidth = %d", len(ds.Labels), ds.N, len(ds.Targets), ds.TargetWidth)
		}
		for i, l := range ds.Labels {
			if l < 0 || int(l) >= ds.Classes {
				t.Fatalf("Labels[%d] = %d, Classes = %d", i, l, ds.Classes)
			}
		}
	}
	if ds.Targets != nil && len(ds.Targets) != ds.N*ds.TargetWidth {
		t.Fatalf("len(Targets) = %d, N = %d, TargetWidth = %d", len(ds.Targets), ds.N, ds.TargetWidth)
	}
	if ds.ClassNames != nil {
		if len(ds.ClassNames) > ds.Classes || !slices.IsSorted(ds.ClassNames) || len(slices.Compact(slices.Clone(ds.ClassNames))) != len(ds.ClassNames) {
			t.Fatalf("ClassNames = %q, Classes = %d", ds.ClassNames, ds.Classes)
		}
	}
}

func FuzzLoadCSV(f *testing.F) {
	f.Add([]byte("a,b,y\n1,2,0\n3,4,1\n"), true, -1, uint8(0), uint8(0))
	f.Add([]byte("a,b,y\n1,2,cat\n3,4,dog\n"), true, -1, uint8(0), uint8(2))
	f.Add([]byte("a,b,y\n1,2,1\n3,4,cat\n5,6,7\n"), true, -1, uint8(0), uint8(3))
	f.Add([]byte("1,2,0.5\n3,4,1\n"), false, 2, uint8(2), uint8(0))
	f.Add([]byte("\uFEFF\"a\", b ,y\r\n\"1\n\",2,3\r\n"), true, 0, uint8(1), uint8(0))
	f.Add([]byte("a,y\n1,0\n1 \"2\",0\n"), true, 1, uint8(0), uint8(4))
	f.Add([]byte("a,b\n1,2\n"), true, 0, uint8(4), uint8(0))
	f.Add([]byte(""), false, 0, uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, src []byte, header bool, target int, kind, classes uint8) {
		opt := CSVOptions{
			TargetIndex: target,
			Header:      header,
			NoTarget:    kind >= 4,
			Loss:        ir.Loss(kind%4 + 1),
			Classes:     int(classes),
		}
		ds, err := parseCSV("fuzz.csv", src, opt)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.csv") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		checkDataset(t, ds)
		switch {
		case opt.NoTarget:
			if ds.Labels != nil || ds.Targets != nil {
				t.Fatal("targets without a target column")
			}
		case opt.Loss == ir.CrossEntropy:
			if ds.Labels == nil || opt.Classes > 0 && ds.Classes != opt.Classes {
				t.Fatalf("Labels = %v, Classes = %d, want %d classes", ds.Labels, ds.Classes, opt.Classes)
			}
		default:
			if ds.Targets == nil || ds.TargetWidth != 1 {
				t.Fatalf("Targets = %v, TargetWidth = %d", ds.Targets, ds.TargetWidth)
			}
		}
	})
}

// features returns every feature of ds as float32, whether it holds X or
// Pixels.
func features(ds *Dataset) []float32 {
	if ds.Pixels == nil {
		return ds.X
	}
	x := make([]float32, 0, len(ds.Pixels))
	for i := 0; i < ds.N; i++ {
		x = append(x, ds.Row(i)...)
	}
	return x
}
