package train

import (
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnc-go/nnc/checkpoint"
)

// TestPickDistribution draws many times from fixed logits and requires the
// frequencies of softmax(logits / temperature), restricted to the top k.
func TestPickDistribution(t *testing.T) {
	logits := []float32{2, 0.5, -1, 1, 0}
	for _, c := range []struct {
		temp float64
		topK int
	}{{1, 0}, {0.5, 0}, {2, 3}, {1, 1}, {1, 5}, {1, 9}} {
		want := make([]float64, len(logits))
		order := slices.Clone(logits)
		slices.Sort(order)
		floor := math.Inf(-1)
		if c.topK > 0 && c.topK < len(logits) {
			floor = float64(order[len(order)-c.topK])
		}
		sum := 0.0
		for i, l := range logits {
			if float64(l) >= floor {
				want[i] = math.Exp(float64(l) / c.temp)
				sum += want[i]
			}
		}
		rng := rand.New(rand.NewPCG(1, 2))
		probs, sorted := make([]float64, len(logits)), make([]float64, len(logits))
		count := make([]float64, len(logits))
		const n = 200000
		for range n {
			id, err := pick(logits, probs, sorted, c.temp, c.topK, rng)
			if err != nil {
				t.Fatal(err)
			}
			count[id]++
		}
		for i := range want {
			w, got := want[i]/sum, count[i]/n
			if math.Abs(got-w) > 0.005 || (w == 0) != (got == 0) {
				t.Errorf("temperature %v, top-k %d: id %d drawn %.4f of the time, want %.4f", c.temp, c.topK, i, got, w)
			}
		}
	}
}

func TestPickGreedyAndNonFinite(t *testing.T) {
	probs, sorted := make([]float64, 4), make([]float64, 4)
	rng := rand.New(rand.NewPCG(0, 0))
	if id, err := pick([]float64{1, 3, 3, 2}, probs, sorted, 0, 0, rng); err != nil || id != 1 {
		t.Errorf("temperature 0: got id %d, %v; want the first largest, 1", id, err)
	}
	_, err := pick([]float64{1, math.NaN(), 0, 2}, probs, sorted, 1, 0, rng)
	if err == nil || !strings.Contains(err.Error(), "score of id 1 is NaN") {
		t.Errorf("a NaN score: got %v", err)
	}
}

// TestGenerateWindow checks the rows the model sees: the ids so far from
// position 0, id 0 after them, the last T once there are more, and the
// scores read at the last filled position; an empty prompt starts from a
// newline, which is not printed.
func TestGenerateWindow(t *testing.T) {
	const ctx = 3
	vocab := []rune("\nab")
	for _, c := range []struct {
		prompt string
		start  []int64
		rows   [][]int64
		want   string
		// With a step graph: the steps (id, position) fed, and how many
		// of the last rows still run the whole forward pass.
		steps [][2]int64
		full  int
	}{
		// The fake model always scores the id after the last one highest.
		{"ab", []int64{1, 2}, [][]int64{{1, 2, 0}, {1, 2, 0}, {2, 0, 1}, {0, 1, 2}}, "ab\nab\n", [][2]int64{{1, 0}, {2, 1}, {0, 2}}, 2},
		{"", []int64{0}, [][]int64{{0, 0, 0}, {0, 1, 0}, {0, 1, 2}}, "ab\n", [][2]int64{{0, 0}, {1, 1}, {2, 2}}, 0},
		// A prompt longer than the context has slid already.
		{"abab", []int64{1, 2, 1, 2}, [][]int64{{2, 1, 2}}, "abab\n", nil, 1},
		// Text that does not end with a newline gets one.
		{"b", []int64{2}, [][]int64{{2, 0, 0}}, "b\n", [][2]int64{{2, 0}}, 0},
		{"b", []int64{2}, nil, "b\n", nil, 0},
	} {
		for _, cached := range []bool{false, true} {
			s := &sampling{ctx: ctx, cls: 3, vocab: vocab, start: c.start}
			var out strings.Builder
			s.opt = SampleOptions{Prompt: c.prompt, Tokens: len(c.rows), Out: &out}
			var rows [][]int64
			var steps [][2]int64
			y := make([]float32, ctx*3)
			var step stepFunc[float32]
			if cached {
				ys := make([]float32, 3)
				step = func(id int64, pos int) ([]float32, error) {
					steps = append(steps, [2]int64{id, int64(pos)})
					clear(ys)
					ys[(id+1)%3] = 10
					return ys, nil
				}
			}
			err := generate(s, func(ids []int64) ([]float32, error) {
				rows = append(rows, slices.Clone(ids))
				clear(y)
				for p := range ctx {
					y[p*3+int((ids[p]+1)%3)] = 10
				}
				return y, nil
			}, step)
			if err != nil {
				t.Fatal(err)
			}
			want := c.rows
			if cached {
				want = c.rows[len(c.rows)-c.full:]
				if !slices.Equal(steps, c.steps) {
					t.Errorf("prompt %q: steps %v, want %v", c.prompt, steps, c.steps)
				}
			}
			if !slices.EqualFunc(rows, want, slices.Equal) {
				t.Errorf("prompt %q, cached %v: rows %v, want %v", c.prompt, cached, rows, want)
			}
			if out.String() != c.want {
				t.Errorf("prompt %q, cached %v: printed %q, want %q", c.prompt, cached, out.String(), c.want)
			}
		}
	}
}

// TestGenerateAllocs requires the loop to allocate nothing per character,
// for both policies of a full window, with and without a step graph: 300
// characters cost what 1 does.
func TestGenerateAllocs(t *testing.T) {
	y := []float32{0.1, 0.7, 0.2, 0.3, 0.1, 0.6}
	step := func(id int64, pos int) ([]float32, error) { return y[:3], nil }
	allocs := func(tokens int, window string, step stepFunc[float32]) float64 {
		s := &sampling{ctx: 2, cls: 3, vocab: []rune("xyz"), start: []int64{1}}
		s.opt = SampleOptions{Tokens: tokens, Temperature: 1, TopK: 2, Window: window, Out: io.Discard}
		return testing.AllocsPerRun(20, func() {
			if err := generate(s, func([]int64) ([]float32, error) { return y, nil }, step); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, window := range []string{WindowSlide, WindowShift} {
		for _, sf := range []stepFunc[float32]{nil, step} {
			if one, many := allocs(1, window, sf), allocs(300, window, sf); many != one {
				t.Errorf("window %s, step graph %v: generating 300 characters allocates %v times, 1 character %v: want no allocation per character", window, sf != nil, many, one)
			}
		}
	}
}

// TestPrepareSample checks what a sampling request starts from and the
// errors of a bad one, before any model runs.
func TestPrepareSample(t *testing.T) {
	src := []byte(`
model Tok(vocab = 4, ctx = 3) {
    tok = Embedding(vocab, 8)
    fc  = Linear(8, vocab)
    forward(x: i64[N, ctx]) { return fc(tok(x)) }
}
`)
	p, err := compile("tok.nn", src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ckpt := func(name string, meta map[string]string) string {
		path := filepath.Join(dir, name)
		if err := checkpoint.Write(path, &checkpoint.File{Metadata: meta}); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tabNL := ckpt("tabnl.safetensors", map[string]string{"vocab": `"\t\nab"`})
	ab := ckpt("ab.safetensors", map[string]string{"vocab": `"ab"`})
	big := ckpt("big.safetensors", map[string]string{"vocab": `"abcde"`})
	none := ckpt("none.safetensors", map[string]string{"model": "Tok"})
	for _, c := range []struct {
		weights, prompt string
		start           []int64
		err             string
	}{
		{tabNL, "", []int64{1}, ""}, // a newline, not id 0
		{ab, "", []int64{0}, ""},    // no newline: id 0
		{tabNL, "ba\tb", []int64{3, 2, 0, 3}, ""},
		{ab, "abz", nil, `the prompt's character 'z' is not in the vocabulary of ` + ab + ` ("ab")`},
		{none, "a", nil, none + ` records no vocabulary (metadata "vocab"): sample needs a checkpoint nnc run saved from text() data`},
		{big, "a", nil, big + `: the vocabulary has 5 characters, more than the 4 classes model Tok scores`},
	} {
		s, err := prepareSample(p, SampleOptions{Weights: c.weights, Prompt: c.prompt, Temperature: 1})
		switch {
		case c.err != "":
			if err == nil || err.Error() != c.err {
				t.Errorf("%s, prompt %q: got error %v, want %s", c.weights, c.prompt, err, c.err)
			}
		case err != nil:
			t.Errorf("%s, prompt %q: %v", c.weights, c.prompt, err)
		case !slices.Equal(s.start, c.start) || s.ctx != 3 || s.cls != 4:
			t.Errorf("%s, prompt %q: start %v, T %d, C %d; want %v, 3, 4", c.weights, c.prompt, s.start, s.ctx, s.cls, c.start)
		}
	}
}
