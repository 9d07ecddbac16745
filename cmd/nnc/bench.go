package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/bench"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/train"
)

var benchCmd = &command{
	name:    "bench",
	usage:   "nnc bench FILE [--model M] [--set p=v] [--backend interp] [--batch B] [--train] [--json] [--threads N] [--cpuprofile FILE] [--weights INT8CKPT]",
	summary: "time the forward pass (or, with --train, one training step) on random inputs",
	run:     runBench,
}

func runBench(e *cmdEnv, args []string) int {
	var v flagVals
	file, code, ok := e.parseFile(args, &v)
	if !ok {
		return code
	}
	if v.backend != "interp" && v.backend != "go" {
		fmt.Fprintf(e.stderr, "nnc bench: unknown backend %q; the backends are interp and go\n", v.backend)
		return exitModel
	}
	batch := v.batch
	if batch == 0 && !v.train {
		batch = 1
	}
	p, code, ok := e.compile(file, nnc.Options{Options: irOptions(&v), Batch: batch, ForwardOnly: !v.train})
	if !ok {
		return code
	}
	g, mode := p.Forward, "forward"
	if v.train {
		if p.TrainGraph == nil {
			fmt.Fprintf(e.stderr, "nnc bench: --train: model %s has no train block\n", p.Model)
			return exitModel
		}
		g, mode = p.TrainGraph, "train"
	}
	if !hasBatch(g) {
		fmt.Fprintf(e.stderr, "nnc bench: the input of %s has no batch dimension\n", p.Model)
		return exitModel
	}
	if v.cpuprof != "" && v.backend != "interp" {
		fmt.Fprintf(e.stderr, "nnc bench: --cpuprofile profiles the interp backend only (the go backend runs in another process)\n")
		return exitModel
	}
	run := bench.Interp
	if v.backend == "go" {
		run = func(_ *ir.Graph, mode string, opt bench.Options) (*bench.Result, error) {
			return bench.Go(p, mode, opt)
		}
	}
	opt := bench.Options{}
	weightsName := v.weights
	f, ferr := onnxInt8(file, p)
	if v.weights == "" && (ferr != nil || f != nil) {
		// An ONNX QDQ model whose layers the importer lowered to int8:
		// the forward pass it runs, on its weights.
		weightsName = file
	}
	if weightsName != "" {
		// An int8 checkpoint: time the forward pass it runs.
		err := ferr
		if v.weights != "" {
			f, err = train.ReadInt8(v.weights)
		}
		if err == nil && f == nil {
			err = fmt.Errorf("--weights %s is not an int8 checkpoint (nnc quantize writes them); bench times float models on random weights", v.weights)
		}
		if err == nil && v.train {
			err = fmt.Errorf("an int8 checkpoint times the forward pass (no --train)")
		}
		if err == nil && v.backend == "go" {
			// The generated code embeds the int8 weights, as nnc build's.
			p.Forward, opt.Weights, err = train.Int8Embed(p.Forward, f, weightsName)
		} else if err == nil {
			g, err = train.Int8Graph(g, f)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "nnc bench: %v\n", err)
			return exitRuntime
		}
		opt.Load = func(store any) error { return train.LoadInt8(store, g, f, weightsName) }
	}
	if v.cpuprof != "" {
		f, err := os.Create(v.cpuprof)
		if err != nil {
			fmt.Fprintf(e.stderr, "nnc bench: %v\n", err)
			return exitRuntime
		}
		defer f.Close()
		opt.Profile = f
	}
	r, err := run(g, mode, opt)
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc bench: %v\n", err)
		debugStack(e.stderr, err)
		return exitRuntime
	}
	if v.json {
		b, _ := json.Marshal(r)
		fmt.Fprintln(e.stdout, string(b))
		return exitOK
	}
	fmt.Fprintln(e.stdout, r)
	return exitOK
}

func hasBatch(g *ir.Graph) bool {
	for _, in := range g.Sources(ir.OpInput) {
		if !in.Type.Shape.HasBatch() {
			return false
		}
	}
	return true
}
