package train

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/ir"
)

func TestDataInfoRoundTrip(t *testing.T) {
	for _, d := range []DataInfo{
		{},
		{Loss: ir.MSE},
		{Loss: ir.CrossEntropy, Classes: []string{"a b", `"q"`, "é"}, Features: []string{"x", "y,z"}, Target: "kind"},
		{Loss: ir.CrossEntropy, Classes: []string{}, Features: []string{}},
		{Loss: ir.CrossEntropy, Norm: &data.Standardization{Mean: []float64{55000.125, -0.1}, Std: []float64{1e-3, 1}}},
		{Loss: ir.CrossEntropy, Vocab: []rune("\n \"aé€\\")},
	} {
		m := map[string]string{"model": "M"}
		d.metadata(m)
		got, err := dataInfo(m)
		if err != nil {
			t.Fatalf("%+v: %v", d, err)
		}
		if !reflect.DeepEqual(got, d) {
			t.Errorf("round trip of %+v gave %+v (metadata %v)", d, got, m)
		}
	}
	for _, bad := range []string{`""`, `["a"]`, `abc`} {
		if _, err := dataInfo(map[string]string{"vocab": bad}); err == nil || err.Error() != `metadata "vocab" is not a JSON string of characters` {
			t.Errorf("vocab %s: got %v", bad, err)
		}
	}
	for _, bad := range []map[string]string{
		{"feature_mean": "[1,2]"},
		{"feature_mean": "[1,2]", "feature_std": "[1]"},
		{"feature_mean": "[1]", "feature_std": "[0]"},
		{"feature_mean": `["a"]`, "feature_std": "[1]"},
		{"feature_mean": "1", "feature_std": "1"},
	} {
		if _, err := dataInfo(bad); err == nil || !strings.Contains(err.Error(), `metadata "feature_mean" and "feature_std" are not lists`) {
			t.Errorf("%v: got %v", bad, err)
		}
	}
	for _, bad := range []string{"a,b", `{"a":1}`, `[1,2]`, "null", ""} {
		if _, err := dataInfo(map[string]string{"features": bad}); err == nil || !strings.Contains(err.Error(), `"features"`) {
			t.Errorf("features %q: got %v", bad, err)
		}
	}
}

func TestTrainingInfo(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("named.csv", "\uFEFF\n a , b ,kind\n1,2,x\n")
	write("dup.csv", "a,a,kind\n1,2,x\n")
	ds := &data.Dataset{Features: 2, ClassNames: []string{"x"}}
	for _, tt := range []struct {
		src  ir.DataSource
		want DataInfo
	}{
		{ir.DataSource{Kind: "csv", Path: "named.csv", Target: "kind", Header: true},
			DataInfo{Loss: ir.CrossEntropy, Classes: []string{"x"}, Features: []string{"a", "b"}, Target: "kind"}},
		{ir.DataSource{Kind: "csv", Path: "named.csv", TargetIndex: 0, Header: true},
			DataInfo{Loss: ir.CrossEntropy, Classes: []string{"x"}, Features: []string{"b", "kind"}, Target: "a"}},
		{ir.DataSource{Kind: "csv", Path: "named.csv", TargetIndex: -1, Header: true},
			DataInfo{Loss: ir.CrossEntropy, Classes: []string{"x"}, Features: []string{"a", "b"}, Target: "kind"}},
		{ir.DataSource{Kind: "csv", Path: "dup.csv", TargetIndex: -1, Header: true},
			DataInfo{Loss: ir.CrossEntropy, Classes: []string{"x"}, Target: "kind"}},
		{ir.DataSource{Kind: "csv", Path: "named.csv", TargetIndex: -1},
			DataInfo{Loss: ir.CrossEntropy, Classes: []string{"x"}}},
		{ir.DataSource{Kind: "random"}, DataInfo{Loss: ir.CrossEntropy, Classes: []string{"x"}}},
	} {
		if got := trainingInfo(&tt.src, dir, ir.CrossEntropy, ds); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%+v: got %+v, want %+v", tt.src, got, tt.want)
		}
	}
}
