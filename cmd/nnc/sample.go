package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/native"
	"github.com/nnc-go/nnc/train"
)

var sampleCmd = &command{
	name:    "sample",
	usage:   "nnc sample FILE --weights CKPT [--prompt S] [--tokens 200] [--temperature 1] [--top-k K] [--seed S] [--window slide|shift] [--model M] [--set p=v] [--backend interp|go] [--threads N]",
	summary: "print a prompt and the characters a token model trained on text() generates after it",
	run:     runSample,
}

func runSample(e *cmdEnv, args []string) int {
	var v flagVals
	file, code, ok := e.parseFile(args, &v)
	if !ok {
		return code
	}
	s := v.sample
	if v.weights == "" {
		fmt.Fprintf(e.stderr, "nnc sample: --weights CKPT is required\nusage: %s\n", e.cmd.usage)
		return exitModel
	}
	switch t := s.temperature; {
	case s.tokens < 0:
		fmt.Fprintf(e.stderr, "nnc sample: --tokens must not be negative, got %d\n", s.tokens)
		return exitModel
	case t < 0 || math.IsNaN(t) || math.IsInf(t, 0):
		fmt.Fprintf(e.stderr, "nnc sample: --temperature must be a finite number, 0 or more, got %v\n", t)
		return exitModel
	case s.topK < 0:
		fmt.Fprintf(e.stderr, "nnc sample: --top-k must not be negative, got %d\n", s.topK)
		return exitModel
	case s.window != train.WindowSlide && s.window != train.WindowShift:
		fmt.Fprintf(e.stderr, "nnc sample: --window must be %s or %s, got %q\n", train.WindowSlide, train.WindowShift, s.window)
		return exitModel
	}
	if v.backend != "interp" && v.backend != "go" {
		fmt.Fprintf(e.stderr, "nnc sample: unknown backend %q; the backends are interp and go\n", v.backend)
		return exitModel
	}
	p, code, ok := e.compile(file, nnc.Options{Options: irOptions(&v)})
	if !ok {
		return code
	}
	opt := train.SampleOptions{Weights: v.weights, Prompt: s.prompt, Tokens: s.tokens, Temperature: s.temperature, TopK: s.topK, Seed: v.seed, Window: s.window, Out: e.stdout}
	if err := train.CheckSample(p, opt); err != nil {
		fmt.Fprintf(e.stderr, "nnc sample: %v\n", err)
		return exitRuntime
	}
	if v.backend == "go" {
		return sampleNative(e, p, file, &v)
	}
	if err := train.Sample(p, opt); err != nil {
		fmt.Fprintf(e.stderr, "nnc sample: %v\n", err)
		return exitRuntime
	}
	return exitOK
}

// sampleNative samples with the model compiled to Go: it builds (or finds
// in the cache) the program native.SampleProgram gives and runs it with the
// same flags, its output and status passed through.
func sampleNative(e *cmdEnv, p *ir.Program, file string, v *flagVals) int {
	s := v.sample
	src, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc sample: %v\n", err)
		return exitRuntime
	}
	prog, err := native.SampleProgram(p, src)
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc sample: %v\n", err)
		return exitRuntime
	}
	exe, err := native.Build(prog)
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc sample: --backend go: %v\n", err)
		return exitRuntime
	}
	args := []string{"-file", file, "-model", p.Model, "-weights", v.weights, "-prompt", s.prompt,
		"-tokens", strconv.Itoa(s.tokens), "-temperature", strconv.FormatFloat(s.temperature, 'g', -1, 64),
		"-top-k", strconv.Itoa(s.topK), "-seed", strconv.FormatUint(v.seed, 10), "-window", s.window}
	for k, val := range v.set {
		args = append(args, "-set", k+"="+val)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = e.stdout, e.stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintf(e.stderr, "nnc sample: --backend go: %v\n", err)
		return exitRuntime
	}
	return exitOK
}

// sampleVals holds the flags of nnc sample that no other command takes.
type sampleVals struct {
	prompt      string
	tokens      int
	temperature float64
	topK        int
	window      string
}

// sampleFlags registers the flags of nnc sample.
func sampleFlags(fs *flag.FlagSet, v *flagVals) {
	fs.StringVar(&v.model, "model", "", "the model to compile (default: the one the train block names, else the last)")
	fs.Var(&v.set, "set", "override a hyper-parameter, in the layers and the train block alike: --set p=v (repeatable)")
	fs.StringVar(&v.weights, "weights", "", "the safetensors checkpoint to sample with, which records the vocabulary (required)")
	fs.StringVar(&v.sample.prompt, "prompt", "", "the text to start from, printed before the generated characters (default: none; generation then starts, unprinted, from a newline, or the vocabulary's first character)")
	fs.IntVar(&v.sample.tokens, "tokens", 200, "how many characters to generate")
	fs.Float64Var(&v.sample.temperature, "temperature", 1, "divide the scores by this before the softmax; 0 takes the most likely character")
	fs.IntVar(&v.sample.topK, "top-k", 0, "draw from the K most likely characters only (0: all)")
	fs.Uint64Var(&v.seed, "seed", 0, "seed the generator: the same seed gives the same text")
	fs.StringVar(&v.sample.window, "window", train.WindowSlide, "once the text fills the context: slide (keep the last T characters, every one a whole forward pass) or shift (drop the older half and continue from position 0 with the KV cache: faster, but the model sees T/2 to T characters)")
	fs.StringVar(&v.backend, "backend", "interp", "interp, or go: run the model compiled to Go (needs the Go toolchain)")
	fs.IntVar(&v.threads, "threads", 0, "threads a large matrix product may use (default: $NNC_THREADS, else 1)")
}
