package train_test

import (
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/passes"
	"github.com/nnc-go/nnc/train"
)

// kvModel is a causal GPT whose forward pass has a step graph: one block
// of multi-head attention, context 8.
const kvModel = "../testdata/ops/gpt_block.nn"

func compileKV(t *testing.T) (*ir.Program, []byte) {
	t.Helper()
	src, err := os.ReadFile(kvModel)
	if err != nil {
		t.Fatal(err)
	}
	p, err := nnc.Compile(kvModel, src, nnc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Step == nil {
		_, err := passes.KVStep(p.Forward)
		t.Fatalf("%s has no step graph: %v", kvModel, err)
	}
	return p, src
}

// TestStepMatchesForward feeds random ids one position at a time to the
// step graph in the interpreter and requires, at each position, the scores
// the whole forward pass gives there for the same ids (to float32
// rounding: a product of one row sums in another order than one of eight),
// and that a step at position 0 starts afresh.
func TestStepMatchesForward(t *testing.T) {
	p, _ := compileKV(t)
	store := interp.NewStore[float32]()
	if err := store.Init(p.Forward, 7); err != nil {
		t.Fatal(err)
	}
	fwd, err := interp.New(p.Forward, store, 0)
	if err != nil {
		t.Fatal(err)
	}
	step, err := interp.New(p.Step, store, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := p.Forward.Sources(ir.OpInput)[0].Type.Shape[1]
	classes := p.Forward.Output("out").Type.Shape[2]
	x, y, ys := fwd.InputTensors()[0].I64, fwd.OutputTensor("out"), step.OutputTensor("out")
	tok, pos := store.I64[passes.StepToken], store.I64[passes.StepPos]
	rng := rand.New(rand.NewPCG(1, 2))
	for seq := range 3 {
		ids := make([]int64, ctx)
		for i := range ids {
			ids[i] = rng.Int64N(int64(classes))
		}
		copy(x, ids)
		if err := fwd.Run(1); err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for i, id := range ids {
			tok[0], pos[0] = id, int64(i)
			if err := step.Run(1); err != nil {
				t.Fatal(err)
			}
			for c := range classes {
				a, b := float64(ys[c]), float64(y[i*classes+c])
				d := math.Abs(a-b) / max(1, math.Abs(b))
				worst = max(worst, d)
				if d > 1e-5 {
					t.Fatalf("sequence %d, position %d, class %d: step %v, forward %v", seq, i, c, a, b)
				}
			}
		}
		t.Logf("sequence %d: largest relative difference %.3g", seq, worst)
	}
}

// TestSampleKVCache trains the GPT, then samples with and without the KV
// cache in both back ends: the same characters for prompts shorter than
// the context (the cache fills, then the window slides or shifts), longer
// (it has slid or shifted from the start) and empty, at several
// temperatures, for both policies of --window.
func TestSampleKVCache(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	p, src := compileKV(t)
	ckpt := filepath.Join(t.TempDir(), "gpt.safetensors")
	if _, err := train.Run(p, train.Options{Source: src, Save: ckpt, Quiet: true, Out: new(strings.Builder)}); err != nil {
		testenv.NoInternal(t, err)
		t.Fatal(err)
	}
	exe, err := nativeSampler(p, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []train.SampleOptions{
		{Tokens: 40, Temperature: 1, Seed: 0},
		{Tokens: 40, Temperature: 1, Seed: 9},
		{Prompt: "the", Tokens: 30, Temperature: 0.8, TopK: 4, Seed: 5},
		{Prompt: "the rat sat", Tokens: 20, Temperature: 1, Seed: 2},
		{Prompt: "a", Tokens: 20, Temperature: 0},
	} {
		for _, window := range []string{train.WindowSlide, train.WindowShift} {
			opt.Weights, opt.Window = ckpt, window
			var cached, full strings.Builder
			opt.Out = &cached
			if err := train.Sample(p, opt); err != nil {
				t.Fatal(err)
			}
			noCache := opt
			noCache.NoCache, noCache.Out = true, &full
			if err := train.Sample(p, noCache); err != nil {
				t.Fatal(err)
			}
			if cached.String() != full.String() {
				t.Errorf("%+v: interpreter with the cache %q, without %q", opt, cached.String(), full.String())
			}
			for _, flag := range []string{"-no-cache=false", "-no-cache"} {
				out, err := exec.Command(exe, "-file", kvModel, "-weights", ckpt, "-prompt", opt.Prompt, "-tokens", strconv.Itoa(opt.Tokens),
					"-temperature", strconv.FormatFloat(opt.Temperature, 'g', -1, 64), "-top-k", strconv.Itoa(opt.TopK),
					"-seed", strconv.FormatUint(opt.Seed, 10), "-window", window, flag).CombinedOutput()
				if err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				if string(out) != full.String() {
					t.Errorf("%+v: generated code %s printed %q, the interpreter without the cache %q", opt, flag, out, full.String())
				}
			}
		}
	}
}
