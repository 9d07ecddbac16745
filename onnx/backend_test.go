package onnx_test

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/nnc-go/nnc/internal/bug"
	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/npy"
	"github.com/nnc-go/nnc/onnx"
	"github.com/nnc-go/nnc/onnx/onnxpb"
	"github.com/nnc-go/nnc/passes"
	"github.com/nnc-go/nnc/train"
)

// The ONNX backend test suite as Debian's libonnx-testdata ships it (ONNX
// 1.12): each test a model.onnx and test_data_set_*/{input,output}_N.pb.
const suiteDir = "/usr/share/libonnx-testdata/data"

// The families of tests run, and the expectations file listing each test
// as pass, or unsupported with the reason.
var (
	families     = []string{"node", "pytorch-converted", "pytorch-operator"}
	expectations = filepath.Join("..", "testdata", "onnx", "backend.txt")
)

// Tolerances of the comparison with the expected outputs.
const rtol, atol = 1e-3, 1e-5

// TestBackend runs the suite through nnc (the interpreter) and checks each
// test's outcome against testdata/onnx/backend.txt: a test listed as pass
// must pass, and one listed as unsupported must still fail to import or
// run (never give a wrong answer). NNC_UPDATE=1 rewrites the file.
func TestBackend(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the ONNX backend test suite")
	}
	_, err := os.Stat(filepath.Join(suiteDir, "node"))
	testenv.Require(t, "ONNX backend test data", "apt-get install libonnx-testdata", err)
	var results []result
	for _, fam := range families {
		dirs := testenv.Glob(t, filepath.Join(suiteDir, fam, "test_*"), 30)
		for _, dir := range dirs {
			r := runBackendTest(dir)
			r.name = fam + "/" + filepath.Base(dir)
			results = append(results, r)
		}
	}
	report(t, results)
	if os.Getenv("NNC_UPDATE") != "" {
		var b strings.Builder
		b.WriteString("# The ONNX backend tests (libonnx-testdata, ONNX 1.12) as nnc runs them:\n")
		b.WriteString("# pass, or unsupported with the reason. Written by NNC_UPDATE=1 go test ./onnx -run TestBackend.\n")
		for _, r := range results {
			fmt.Fprintf(&b, "%s %s\n", r.name, r.line())
		}
		if err := os.WriteFile(expectations, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := readExpectations(t)
	for _, r := range results {
		w, ok := want[r.name]
		switch {
		case r.status == "wrong":
			t.Errorf("%s: a wrong answer: %s", r.name, r.reason)
		case r.status == "crash":
			t.Errorf("%s: a panic: %s", r.name, r.reason)
		case !ok:
			t.Errorf("%s: not in %s (NNC_UPDATE=1 adds it)", r.name, expectations)
		case w == "pass" && r.status != "pass":
			t.Errorf("%s: passed, now %s", r.name, r.line())
		case w != "pass" && r.status == "pass":
			t.Errorf("%s: passes now; record it with NNC_UPDATE=1", r.name)
		}
		delete(want, r.name)
	}
	for name := range want {
		t.Errorf("%s: in %s, not in the suite", name, expectations)
	}
}

type result struct {
	name, status, reason string
	op                   string // the op an unsupported test stopped at
}

func (r result) line() string {
	if r.status == "pass" {
		return "pass"
	}
	return r.status + " " + r.reason
}

func readExpectations(t *testing.T) map[string]string {
	f, err := os.Open(expectations)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		status, _, _ := strings.Cut(rest, " ")
		want[name] = status
	}
	return want
}

// report logs the counts per family and the unsupported ops ranked by the
// tests they would unlock.
func report(t *testing.T, results []result) {
	pass := map[string]int{}
	total := map[string]int{}
	ops := map[string]int{}
	for _, r := range results {
		fam, _, _ := strings.Cut(r.name, "/")
		total[fam]++
		if r.status == "pass" {
			pass[fam]++
		} else if r.op != "" {
			ops[r.op]++
		}
	}
	for _, fam := range families {
		t.Logf("%s: %d of %d pass", fam, pass[fam], total[fam])
	}
	type count struct {
		op string
		n  int
	}
	var cs []count
	for op, n := range ops {
		cs = append(cs, count{op, n})
	}
	sort.Slice(cs, func(i, j int) bool { return cmp.Or(cs[j].n-cs[i].n, strings.Compare(cs[i].op, cs[j].op)) < 0 })
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, " %s %d,", c.op, c.n)
	}
	t.Logf("tests stopped at each op:%s", strings.TrimSuffix(b.String(), ","))
}

var nodeOp = regexp.MustCompile(`\(([A-Za-z0-9_.]+), opset \d+\)`)

// runBackendTest imports and runs one test over each of its data sets.
func runBackendTest(dir string) (r result) {
	defer func() {
		if p := recover(); p != nil {
			r = result{status: "crash", reason: fmt.Sprint(p)}
		}
	}()
	unsupported := func(err error) result {
		msg := err.Error()
		msg = strings.ReplaceAll(msg, filepath.Join(dir, "model.onnx")+": ", "")
		msg = strings.ReplaceAll(msg, "\n", "; ")
		if errors.Is(err, bug.ErrInternal) {
			return result{status: "crash", reason: msg}
		}
		op := ""
		if m := nodeOp.FindStringSubmatch(msg); m != nil {
			op = m[1]
		}
		return result{status: "unsupported", reason: msg, op: op}
	}
	m, err := onnx.Read(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return unsupported(err)
	}
	im, err := onnx.Import(m, onnx.Options{})
	if err != nil {
		return unsupported(err)
	}
	g := im.Program.Forward
	if err := passes.Run(g, passes.Options{}); err != nil {
		return unsupported(err)
	}
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if len(sets) == 0 {
		return unsupported(errors.New("no test data"))
	}
	for _, set := range sets {
		in := map[string]*npy.Array{}
		for i, n := range im.Inputs {
			a, err := readArray(m, filepath.Join(set, fmt.Sprintf("input_%d.pb", i)))
			if err != nil {
				return unsupported(fmt.Errorf("input %s: %v", n.ONNX, err))
			}
			in[n.IR] = a
		}
		out, err := train.ForwardArrays(im.Program, in, train.ArrayOptions{Weights: im.Weights, WeightsName: "initializers", F64: true})
		if err != nil {
			return unsupported(err)
		}
		for i, n := range im.Outputs {
			want, err := readArray(m, filepath.Join(set, fmt.Sprintf("output_%d.pb", i)))
			if err != nil {
				return unsupported(fmt.Errorf("output %s: %v", n.ONNX, err))
			}
			if msg := compare(out[n.IR], want); msg != "" {
				return result{status: "wrong", reason: fmt.Sprintf("%s, output %s: %s", filepath.Base(set), n.ONNX, msg)}
			}
		}
	}
	return result{status: "pass"}
}

// readArray reads a serialized TensorProto as an array.
func readArray(m *onnx.Model, path string) (*npy.Array, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var tp onnxpb.TensorProto
	if err := proto.Unmarshal(b, &tp); err != nil {
		return nil, err
	}
	t, err := m.Tensor(&tp)
	if err != nil {
		return nil, err
	}
	a := &npy.Array{Shape: t.Shape}
	switch t.DType {
	case ir.F32:
		a.F32 = make([]float32, len(t.F))
		for i, x := range t.F {
			a.F32[i] = float32(x)
		}
	case ir.F64:
		a.F64 = t.F
	case ir.I64:
		a.I64 = t.I
	case ir.Bool:
		a.Bool = make([]bool, len(t.I))
		for i, x := range t.I {
			a.Bool[i] = x != 0
		}
	default:
		return nil, fmt.Errorf("arrays of %s are not supported", t.DType)
	}
	return a, nil
}

func compare(got, want *npy.Array) string {
	if got == nil {
		return "no output"
	}
	if !slices.Equal(got.Shape, want.Shape) {
		return fmt.Sprintf("shape %v, want %v", got.Shape, want.Shape)
	}
	g, w := got.Float64s(), want.Float64s()
	if len(g) != len(w) {
		return fmt.Sprintf("%d elements, want %d", len(g), len(w))
	}
	for i := range w {
		if math.IsNaN(w[i]) && math.IsNaN(g[i]) {
			continue
		}
		if !(math.Abs(g[i]-w[i]) <= atol+rtol*math.Abs(w[i])) {
			return fmt.Sprintf("element %d is %g, want %g", i, g[i], w[i])
		}
	}
	return ""
}
