package train

import (
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/passes"
)

// TestGenerateShift checks the rows and steps of --window shift on a fake
// model: once the window of 4 is full, a new id first drops the older
// half, the kept ids move to positions 0 and 1, and the step graph feeds
// them again from position 0; no character runs the whole forward pass.
func TestGenerateShift(t *testing.T) {
	const ctx = 4
	vocab := []rune("\nab")
	wantRows := [][]int64{{1, 2, 0, 0}, {1, 2, 0, 0}, {1, 2, 0, 1}, {0, 1, 2, 0}, {0, 1, 2, 0}}
	wantSteps := [][2]int64{{1, 0}, {2, 1}, {0, 2}, {1, 3}, {0, 0}, {1, 1}, {2, 2}, {0, 3}}
	for _, cached := range []bool{false, true} {
		s := &sampling{ctx: ctx, cls: 3, vocab: vocab, start: []int64{1, 2}}
		var out strings.Builder
		s.opt = SampleOptions{Prompt: "ab", Tokens: len(wantRows), Window: WindowShift, Out: &out}
		var rows [][]int64
		var steps [][2]int64
		y := make([]float32, ctx*3)
		var step stepFunc[float32]
		if cached {
			ys := make([]float32, 3)
			step = func(id int64, pos int) ([]float32, error) {
				steps = append(steps, [2]int64{id, int64(pos)})
				clear(ys)
				ys[(id+1)%3] = 10 // the id after the last one
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
		switch {
		case cached && (!slices.Equal(steps, wantSteps) || rows != nil):
			t.Errorf("cached: steps %v and rows %v, want steps %v and no rows", steps, rows, wantSteps)
		case !cached && !slices.EqualFunc(rows, wantRows, slices.Equal):
			t.Errorf("rows %v, want %v", rows, wantRows)
		}
		if want := "ab\nab\na\n"; out.String() != want {
			t.Errorf("cached %v: printed %q, want %q", cached, out.String(), want)
		}
	}
}

// TestShiftMatchesReference samples the one-block GPT of
// testdata/ops/gpt_block.nn (context 8) with --window shift, with and
// without the KV cache, against a reference written apart from the
// sampler's window: the history of ids, and the index the model's window
// starts at, moved on by 4 whenever more than 8 ids follow it. Without the
// cache the rows fed must be the reference's windows, padded with id 0 (so
// the scores are the same bits), and the text the same; with the cache
// (each shift feeds the kept ids again, step by step) the same text.
func TestShiftMatchesReference(t *testing.T) {
	const path = "../testdata/ops/gpt_block.nn"
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := compile(path, src)
	if err != nil {
		t.Fatal(err)
	}
	if p.Step, err = passes.KVStep(p.Forward); err != nil {
		t.Fatal(err)
	}
	if err := passes.Run(p.Step, passes.Options{}); err != nil {
		t.Fatal(err)
	}
	ctx, cls := 8, 12
	vocab := []rune("\nabcdefghij ")
	store := interp.NewStore[float32]()
	if err := store.Init(p.Forward, 3); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		start []int64
		seed  uint64
		temp  float64
	}{
		{[]int64{0}, 1, 1},
		{[]int64{3, 4, 5}, 2, 0.7},
		{[]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 3, 1}, // longer than the context
		{[]int64{2}, 4, 0},
	} {
		const tokens = 40
		// The reference.
		full, _, err := interpFuncs(p, store, true)
		if err != nil {
			t.Fatal(err)
		}
		hist := slices.Clone(c.start)
		first := 0
		for len(hist)-first > ctx {
			first += ctx / 2
		}
		var wantRows [][]int64
		var want strings.Builder
		rng := rand.New(rand.NewPCG(c.seed, 0))
		probs, sorted := make([]float64, cls), make([]float64, cls)
		for range tokens {
			row := make([]int64, ctx)
			n := copy(row, hist[first:])
			wantRows = append(wantRows, row)
			y, err := full(row)
			if err != nil {
				t.Fatal(err)
			}
			id, err := pick(y[(n-1)*cls:n*cls], probs, sorted, c.temp, 0, rng)
			if err != nil {
				t.Fatal(err)
			}
			want.WriteRune(vocab[id])
			if hist = append(hist, int64(id)); len(hist)-first > ctx {
				first += ctx / 2
			}
		}
		if !strings.HasSuffix(want.String(), "\n") {
			want.WriteByte('\n')
		}
		for _, noCache := range []bool{true, false} {
			full, step, err := interpFuncs(p, store, noCache)
			if err != nil {
				t.Fatal(err)
			}
			if !noCache && step == nil {
				t.Fatal("no step function")
			}
			var out strings.Builder
			s := &sampling{ctx: ctx, cls: cls, vocab: vocab, start: c.start,
				opt: SampleOptions{Tokens: tokens, Temperature: c.temp, Seed: c.seed, Window: WindowShift, Out: &out}}
			var rows [][]int64
			err = generate(s, func(ids []int64) ([]float32, error) {
				rows = append(rows, slices.Clone(ids))
				return full(ids)
			}, step)
			if err != nil {
				t.Fatal(err)
			}
			if noCache && !slices.EqualFunc(rows, wantRows, slices.Equal) {
				t.Errorf("start %v: rows %v, reference %v", c.start, rows, wantRows)
			}
			if out.String() != want.String() {
				t.Errorf("start %v, seed %d, no cache %v: %q, reference %q", c.start, c.seed, noCache, out.String(), want.String())
			}
		}
	}
}
