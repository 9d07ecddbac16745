// Package bench times compiled models the way `nnc bench` reports them:
// the median time of one step (a forward pass, or a training step) on
// random inputs, samples per second, heap allocations per step and the
// arena the memory plan gives the step.
package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
)

// Result is one measurement; its JSON keys are those of LANGUAGE.md.
type Result struct {
	Backend   string  `json:"backend"`
	Mode      string  `json:"mode"` // forward or train
	Batch     int     `json:"batch"`
	USPerStep float64 `json:"us_per_step"`
	// CPUUSPerStep is the process's processor time (user and system) per
	// timed step, a mean over all rounds: on a machine shared with other
	// work it moves less than the wall clock. 0 where it cannot be read.
	CPUUSPerStep  float64 `json:"cpu_us_per_step,omitempty"`
	SamplesPerS   float64 `json:"samples_per_s"`
	AllocsPerStep float64 `json:"allocs_per_step"`
	ArenaBytes    int     `json:"arena_bytes"`
	Steps         int     `json:"-"` // how many steps were timed
}

// Options configure a measurement.
type Options struct {
	// Duration is roughly how long to time; the default is one second.
	Duration time.Duration
	Seed     uint64
	// Profile, when not nil, receives a CPU profile (pprof format) of the
	// timed rounds.
	Profile io.Writer
	// Load, when not nil, fills the interpreter's store (an
	// *interp.Store[float32] or [float64]) with a checkpoint's tensors
	// before timing: an int8 checkpoint's weights.
	Load func(store any) error
	// Weights, when not nil, is the safetensors file the generated code
	// of the go backend embeds (train.Int8Embed's for an int8 checkpoint).
	Weights []byte
}

// Interp times graph g (planned for its batch) in the interpreter: each
// step runs a full batch of random inputs (and, for a training step,
// random targets).
func Interp(g *ir.Graph, mode string, opt Options) (*Result, error) {
	if in := g.Sources(ir.OpInput); len(in) > 0 && in[0].Type.DType == ir.F64 {
		return interpRun[float64](g, mode, opt)
	}
	return interpRun[float32](g, mode, opt)
}

func interpRun[T kernels.Float](g *ir.Graph, mode string, opt Options) (*Result, error) {
	store := interp.NewStore[T]()
	if err := store.Init(g, opt.Seed); err != nil {
		return nil, err
	}
	if opt.Load != nil {
		if err := opt.Load(store); err != nil {
			return nil, err
		}
	}
	m, err := interp.New(g, store, opt.Seed)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 1))
	for _, x := range m.Inputs() {
		kernels.Normal(x, 0, 1, rng)
	}
	labels, targets := m.Targets()
	if len(labels) > 0 {
		classes := 2
		if out := g.Output("loss"); out != nil {
			classes = logitsWidth(g)
		}
		for i := range labels {
			labels[i] = int32(rng.IntN(classes))
		}
	}
	for i := range targets {
		targets[i] = T(rng.IntN(2))
	}
	// Token ids as inputs stay 0 (an id every Embedding has); targets per
	// position are random classes.
	if t, ok := m.Target(); ok && t.I64 != nil {
		classes := logitsWidth(g)
		for i := range t.I64 {
			t.I64[i] = int64(rng.IntN(classes))
		}
	}
	n := m.Batch()
	step := func() error { return m.Run(n) }
	if opt.Profile != nil {
		if err := pprof.StartCPUProfile(opt.Profile); err != nil {
			return nil, err
		}
	}
	r, err := Measure(step, opt.Duration)
	if opt.Profile != nil {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return nil, err
	}
	r.Backend, r.Mode, r.Batch, r.ArenaBytes = "interp", mode, n, g.Plan.ArenaBytes
	r.SamplesPerS = float64(n) / (r.USPerStep / 1e6)
	return r, nil
}

// logitsWidth is the number of classes a classification graph scores.
func logitsWidth(g *ir.Graph) int {
	for _, v := range g.Values {
		if v.Op == ir.OpCorrect {
			s := v.Args[0].Type.Shape
			return s[len(s)-1]
		}
	}
	return 2
}

// Measure times step: after a warm-up, rounds of steps sized to take about
// 10ms each, for about d in all; the result is the median round's time
// per step. Allocations are counted over every timed step.
func Measure(step func() error, d time.Duration) (*Result, error) {
	if d <= 0 {
		d = time.Second
	}
	// Warm up and size a round.
	per := 1
	for {
		t0 := time.Now()
		for i := 0; i < per; i++ {
			if err := step(); err != nil {
				return nil, err
			}
		}
		if el := time.Since(t0); el >= 10*time.Millisecond || per >= 1<<20 {
			break
		}
		per *= 2
	}
	var rounds []float64
	total := 0
	cpu0, cpuOK := cpuTime()
	start := time.Now()
	for time.Since(start) < d || len(rounds) < 5 {
		t0 := time.Now()
		for i := 0; i < per; i++ {
			if err := step(); err != nil {
				return nil, err
			}
		}
		rounds = append(rounds, float64(time.Since(t0).Nanoseconds())/float64(per)/1e3)
		total += per
	}
	cpu1, _ := cpuTime()
	sort.Float64s(rounds)
	allocs, err := allocsPerStep(step, min(per*5, 1000))
	if err != nil {
		return nil, err
	}
	r := &Result{USPerStep: rounds[len(rounds)/2], AllocsPerStep: allocs, Steps: total}
	if cpuOK {
		r.CPUUSPerStep = float64((cpu1 - cpu0).Nanoseconds()) / float64(total) / 1e3
	}
	return r, nil
}

// allocsPerStep counts heap allocations over n steps, on one processor so
// that no other goroutine's allocations are counted, as
// testing.AllocsPerRun does.
func allocsPerStep(step func() error, n int) (float64, error) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		if err := step(); err != nil {
			return 0, err
		}
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(n), nil
}

// String formats r for people.
func (r *Result) String() string {
	threads := ""
	if n := kernels.Threads(); n > 1 {
		threads = fmt.Sprintf(", %d threads", n)
	}
	cpu := ""
	if r.CPUUSPerStep > 0 {
		cpu = fmt.Sprintf(", %.2f µs CPU/step (mean)", r.CPUUSPerStep)
	}
	return fmt.Sprintf("%s %s, batch %d%s: %.2f µs/step (median)%s, %.0f samples/s, %.2f allocs/step, arena %d bytes",
		r.Backend, r.Mode, r.Batch, threads, r.USPerStep, cpu, r.SamplesPerS, r.AllocsPerStep, r.ArenaBytes)
}
