package train

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
	"github.com/nnc-go/nnc/passes"
)

// SampleOptions says what `nnc sample` generates.
type SampleOptions struct {
	// Weights is the checkpoint to sample with; its metadata must record
	// the vocabulary (nnc run saves it for text() data).
	Weights string
	// Prompt starts the text; every character must be in the vocabulary.
	// Empty, generation starts from a newline when the vocabulary has one,
	// else from the character of id 0; that start is not printed.
	Prompt string
	// Tokens is how many characters to generate after the prompt.
	Tokens int
	// Temperature divides the logits before the softmax; 0 takes the most
	// likely character at every step (the lowest id among equals).
	Temperature float64
	// TopK keeps the K largest logits (and those equal to the K-th); 0
	// keeps all.
	TopK int
	// Seed seeds the generator (math/rand/v2's PCG with (Seed, 0)).
	Seed uint64
	// Window is what happens once the ids fill the model's context:
	// WindowSlide (the default, "" too) or WindowShift.
	Window string
	// NoCache runs the whole forward pass for every character even when
	// the model has a step graph (ir.Program.Step): the reference the KV
	// cache is checked and timed against.
	NoCache bool
	// Elapsed, when not nil, receives the processor time (user and
	// system, of the whole process) the characters took to generate,
	// without checking the request, loading the weights or preparing the
	// back end (a garbage collection is finished first): for benchmarks
	// on a shared machine, where the wall clock counts the time other
	// programs ran.
	Elapsed *time.Duration
	// Out receives the prompt and the generated characters, then a newline
	// when the text does not end with one.
	Out io.Writer
}

// The policies of SampleOptions.Window.
const (
	// WindowSlide keeps the last T ids (T the model's context) at
	// positions 0 to T-1: each new id moves every other one a position
	// down, so every character past the T-th runs the whole forward pass
	// (the keys and values all change with their positions). The text
	// is what a forward-per-token loop over the last T ids draws.
	WindowSlide = "slide"
	// WindowShift, once the window is full, drops its older half (T/2
	// ids, at least 1) before the new id: the kept ids move to positions
	// 0 and up, and the window fills again from there (llama.cpp's
	// context shift). With the KV cache the kept ids are fed again one
	// position at a time, then every character is one step until the
	// window is full again: about two steps per character. The model
	// sees between T/2 and T ids, not always the last T.
	WindowShift = "shift"
)

// sampling is a checked sampling request: the model's context and classes,
// the vocabulary and the ids the context starts from.
type sampling struct {
	opt      SampleOptions
	ctx, cls int    // T, the model's input width, and C, its classes
	vocab    []rune // the character of id k is vocab[k]
	start    []int64
	file     *checkpoint.File
}

// sampleShape returns T and C of a model whose forward pass maps i64[N, T]
// ids to [N, T, C] scores.
func sampleShape(p *ir.Program) (ctx, classes int, err error) {
	g := p.Forward
	ins := g.Sources(ir.OpInput)
	if len(ins) != 1 {
		return 0, 0, fmt.Errorf("sample needs a model with one input i64[N, T] of token ids; model %s has %d inputs", p.Model, len(ins))
	}
	in, out := ins[0].Type, g.Output("out")
	if in.DType != ir.I64 || in.Shape.Rank() != 2 || in.Shape[0] != ir.Batch {
		return 0, 0, fmt.Errorf("sample needs a model whose input is token ids i64[N, T]; model %s takes %s", p.Model, in)
	}
	ctx = in.Shape[1]
	if out == nil || out.Type.Shape.Rank() != 3 || out.Type.Shape[0] != ir.Batch || out.Type.Shape[1] != ctx || out.Type.DType == ir.I64 {
		o := "nothing"
		if out != nil {
			o = out.Type.String()
		}
		return 0, 0, fmt.Errorf("sample needs a model that returns scores [N, %d, C] for each position of its input; model %s returns %s", ctx, p.Model, o)
	}
	return ctx, out.Type.Shape[2], nil
}

// CheckSample checks a sampling request without running the model: the
// model's shapes, the options, the checkpoint's vocabulary and the
// prompt's characters. Sample and SampleCompiled check the same.
func CheckSample(p *ir.Program, opt SampleOptions) error {
	_, err := prepareSample(p, opt)
	return err
}

func prepareSample(p *ir.Program, opt SampleOptions) (*sampling, error) {
	ctx, cls, err := sampleShape(p)
	if err != nil {
		return nil, err
	}
	switch t := opt.Temperature; {
	case opt.Tokens < 0:
		return nil, fmt.Errorf("--tokens must not be negative, got %d", opt.Tokens)
	case t < 0 || math.IsNaN(t) || math.IsInf(t, 0):
		return nil, fmt.Errorf("--temperature must be a finite number, 0 or more, got %v", t)
	case opt.TopK < 0:
		return nil, fmt.Errorf("--top-k must not be negative, got %d", opt.TopK)
	case opt.Window != "" && opt.Window != WindowSlide && opt.Window != WindowShift:
		return nil, fmt.Errorf("--window must be %s or %s, got %q", WindowSlide, WindowShift, opt.Window)
	case !utf8.ValidString(opt.Prompt):
		return nil, fmt.Errorf("the prompt is not valid UTF-8")
	}
	f, err := checkpoint.Read(opt.Weights)
	if err != nil {
		return nil, err
	}
	info, err := dataInfo(f.Metadata)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", opt.Weights, err)
	}
	if info.Vocab == nil {
		return nil, fmt.Errorf("%s records no vocabulary (metadata %q): sample needs a checkpoint nnc run saved from text() data", opt.Weights, metaVocab)
	}
	if len(info.Vocab) > cls {
		return nil, fmt.Errorf("%s: the vocabulary has %d characters, more than the %d classes model %s scores", opt.Weights, len(info.Vocab), cls, p.Model)
	}
	s := &sampling{opt: opt, ctx: ctx, cls: cls, vocab: info.Vocab, file: f}
	for _, r := range opt.Prompt {
		id := slices.Index(info.Vocab, r)
		if id < 0 {
			return nil, fmt.Errorf("the prompt's character %q is not in the vocabulary of %s (%q)", r, opt.Weights, string(info.Vocab))
		}
		s.start = append(s.start, int64(id))
	}
	if len(s.start) == 0 {
		s.start = []int64{int64(max(0, slices.Index(info.Vocab, '\n')))}
	}
	return s, nil
}

// Sample prints the prompt of opt and opt.Tokens characters generated after
// it by p's forward pass in the interpreter, with the checkpoint's weights.
// Each step runs the model at batch 1 over the ids of the window (at most
// T, the second dimension of its input; opt.Window says which once more are
// known): they fill positions 0, 1, ... and the positions after them hold
// id 0; the scores of the
// last filled position give the next character. A causal model thus sees
// exactly the ids so far, as at training. Ids past the vocabulary, which a
// model with more classes than the text has characters scores too, are
// never drawn.
func Sample(p *ir.Program, opt SampleOptions) error {
	if out := p.Forward.Output("out"); out != nil && out.Type.DType == ir.F64 {
		return sampleInterp[float64](p, opt)
	}
	return sampleInterp[float32](p, opt)
}

func sampleInterp[T kernels.Float](p *ir.Program, opt SampleOptions) error {
	s, err := prepareSample(p, opt)
	if err != nil {
		return err
	}
	g := p.Forward
	if g.Plan == nil {
		return fmt.Errorf("sample: graph %s has no memory plan", g.Name)
	}
	store := interp.NewStore[T]()
	if err := store.Init(g, 0); err != nil {
		return err
	}
	if err := loadTensors[T](store, g, s.file, opt.Weights); err != nil {
		return err
	}
	full, step, err := interpFuncs(p, store, opt.NoCache)
	if err != nil {
		return err
	}
	return generate(s, full, step)
}

// interpFuncs returns the forward pass of p over one row of ids and, when
// p has a step graph and noCache is false, the step, both in the
// interpreter with the tensors of store.
func interpFuncs[T kernels.Float](p *ir.Program, store *interp.Store[T], noCache bool) (func(ids []int64) ([]T, error), stepFunc[T], error) {
	m, err := interp.New(p.Forward, store, 0)
	if err != nil {
		return nil, nil, err
	}
	x, y := m.InputTensors()[0].I64, m.OutputTensor("out")
	full := func(ids []int64) ([]T, error) {
		copy(x, ids)
		if err := m.Run(1); err != nil {
			return nil, err
		}
		return y, nil
	}
	var step stepFunc[T]
	if p.Step != nil && !noCache {
		sm, err := interp.New(p.Step, store, 0)
		if err != nil {
			return nil, nil, err
		}
		tok, pos, ys := store.I64[passes.StepToken], store.I64[passes.StepPos], sm.OutputTensor("out")
		step = func(id int64, at int) ([]T, error) {
			tok[0] = id
			if pos != nil { // a model that does not use the positions has none
				pos[0] = int64(at)
			}
			if err := sm.Run(1); err != nil {
				return nil, err
			}
			return ys, nil
		}
	}
	return full, step, nil
}

// stepFunc runs a step graph (ir.Program.Step): it feeds id at position
// pos and returns the scores [C] of that position.
type stepFunc[T kernels.Float] func(id int64, pos int) ([]T, error)

// SampleCompiled samples as Sample does with the forward pass of generated
// code: forward computes the scores of one row of ids into out, the model's
// weights already loaded from opt.Weights. step, when not nil, is the
// generated Step method (the step graph, ir.Program.Step): it feeds id at
// position pos and writes that position's scores into out.
func SampleCompiled[T kernels.Float](p *ir.Program, forward func(out []T, ids []int64) error, step func(out []T, id int64, pos int) error, opt SampleOptions) error {
	s, err := prepareSample(p, opt)
	if err != nil {
		return err
	}
	out := make([]T, s.ctx*s.cls)
	var sf stepFunc[T]
	if step != nil && !opt.NoCache {
		ys := make([]T, s.cls)
		sf = func(id int64, pos int) ([]T, error) { return ys, step(ys, id, pos) }
	}
	return generate(s, func(ids []int64) ([]T, error) {
		return out, forward(out, ids)
	}, sf)
}

// generate runs the sampling loop of s over forward, which returns the
// scores [T, C] of one row of T ids, and step, when not nil, the step graph
// with its KV cache. It allocates nothing per character.
//
// While the window holds every id so far (at most T), the step graph
// feeds each id once, at its position, and the scores of the last are
// those forward gives at that position. Once the window slides
// (WindowSlide), every id in it moves to a new position, so every key
// and value changes (the position embedding enters each): each character
// then runs forward over the window, as without a cache. When it shifts
// (WindowShift), the kept ids start again at position 0: the step graph
// feeds them again and goes on a step per character.
func generate[T kernels.Float](s *sampling, forward func(ids []int64) ([]T, error), step stepFunc[T]) error {
	w := bufio.NewWriter(s.opt.Out)
	w.WriteString(s.opt.Prompt)
	last, _ := utf8.DecodeLastRuneInString(s.opt.Prompt)
	rng := rand.New(rand.NewPCG(s.opt.Seed, 0))
	win := window{ids: make([]int64, 0, s.ctx), ctx: s.ctx, shift: s.opt.Window == WindowShift}
	for _, id := range s.start {
		win.add(id)
	}
	row := make([]int64, s.ctx)
	probs := make([]float64, len(s.vocab))
	sorted := make([]float64, len(s.vocab))
	if s.opt.Elapsed != nil {
		// The garbage of loading the weights and building the back end
		// collected now: a collection running on other threads during
		// the characters would count in the process's time, which for a
		// few characters (15: under a millisecond) it can double.
		runtime.GC()
	}
	begin := cpuTime()
	for char := range s.opt.Tokens {
		n := len(win.ids)
		var logits []T
		if step != nil && !win.slid {
			var y []T
			var err error
			for ; win.fed < n && err == nil; win.fed++ {
				y, err = step(win.ids[win.fed], win.fed)
			}
			if err != nil {
				w.Flush()
				return fmt.Errorf("character %d: %w", char+1, err)
			}
			logits = y[:len(s.vocab)]
		} else {
			copy(row, win.ids)
			clear(row[n:])
			y, err := forward(row)
			if err != nil {
				w.Flush()
				return fmt.Errorf("character %d: %w", char+1, err)
			}
			logits = y[(n-1)*s.cls : (n-1)*s.cls+len(s.vocab)]
		}
		id, err := pick(logits, probs, sorted, s.opt.Temperature, s.opt.TopK, rng)
		if err != nil {
			w.Flush()
			return fmt.Errorf("character %d: %w", char+1, err)
		}
		last = s.vocab[id]
		w.WriteRune(last)
		win.add(int64(id))
	}
	if s.opt.Elapsed != nil {
		*s.opt.Elapsed = cpuTime() - begin
	}
	if w.Buffered() > 0 && last != '\n' {
		w.WriteByte('\n')
	}
	return w.Flush()
}

// window is the ids the model sees, at positions 0 to len(ids)-1, at most
// ctx of them, under the policy of SampleOptions.Window.
type window struct {
	ids   []int64
	ctx   int
	shift bool // WindowShift, else WindowSlide
	// slid is whether a sliding window dropped an id: its ids have moved
	// since the step graph's cache received them.
	slid bool
	// fed is how many of ids, from the first, the step graph's cache holds.
	fed int
}

// add appends id, making room first when the window is full: sliding, by
// dropping the oldest id; shifting, by dropping the older half, the cache
// then to be fed again from position 0.
func (w *window) add(id int64) {
	if len(w.ids) == w.ctx {
		drop := 1
		if w.shift {
			drop = max(1, w.ctx/2)
			w.fed = 0
		} else {
			w.slid = true
		}
		w.ids = w.ids[:copy(w.ids, w.ids[drop:])]
	}
	w.ids = append(w.ids, id)
}

// pick picks an id from logits: the largest at temperature 0, else one
// drawn from the softmax of logits/temperature over the topK largest
// (all when topK is 0). probs and sorted are scratch of len(logits).
func pick[T kernels.Float](logits []T, probs, sorted []float64, temperature float64, topK int, rng *rand.Rand) (int, error) {
	best := 0
	for i, v := range logits {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("the model's score of id %d is %v", i, f)
		}
		probs[i] = f
		if f > probs[best] {
			best = i
		}
	}
	if temperature == 0 {
		return best, nil
	}
	floor := math.Inf(-1)
	if topK > 0 && topK < len(probs) {
		copy(sorted, probs)
		slices.Sort(sorted)
		floor = sorted[len(sorted)-topK]
	}
	top, sum := probs[best], 0.0
	for i, f := range probs {
		if f < floor {
			probs[i] = 0
			continue
		}
		probs[i] = math.Exp((f - top) / temperature)
		sum += probs[i]
	}
	u := rng.Float64() * sum
	id, acc := best, 0.0
	for i, p := range probs {
		if p == 0 {
			continue
		}
		acc += p
		id = i
		if u < acc {
			break
		}
	}
	return id, nil
}
