package main

import (
	"fmt"
	"os"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/train"
)

var evalCmd = &command{
	name:    "eval",
	usage:   "nnc eval FILE --weights CKPT [--model M] [--set p=v] [--json] [--backend interp|go] [--threads N]",
	summary: "evaluate a checkpoint on the train block's data without training: the final line of nnc run (on the test set when there is one)",
	run:     runEval,
}

// runEval prints what `nnc run --epochs 0 --init CKPT --quiet` prints: the
// evaluation line alone, on the test set when the train block has one,
// else on the training data.
func runEval(e *cmdEnv, args []string) int {
	var v flagVals
	file, code, ok := e.parseFile(args, &v)
	if !ok {
		return code
	}
	if nnc.IsONNX(file) {
		// An ONNX file has weights but no data to evaluate on.
		fmt.Fprintf(e.stderr, "nnc eval: %s: an ONNX model has no train block to take the data from; run nnc import and add one to the .nn it writes\n", file)
		return exitModel
	}
	if v.weights == "" {
		fmt.Fprintf(e.stderr, "nnc eval: --weights CKPT is required\nusage: %s\n", e.cmd.usage)
		return exitModel
	}
	p, code, ok := e.compile(file, nnc.Options{Options: irOptions(&v)})
	if !ok {
		return code
	}
	if p.Train == nil {
		fmt.Fprintf(e.stderr, "nnc eval: %s: model %s has no train block to take the data from\n", file, p.Model)
		return exitModel
	}
	if f, err := train.ReadInt8(v.weights); err != nil || f != nil {
		// An int8 checkpoint (nnc quantize): the int8 forward pass.
		if err == nil && v.backend != "interp" {
			err = fmt.Errorf("an int8 checkpoint is evaluated by the interp backend (nnc build embeds it for Go programs)")
		}
		if err == nil {
			_, err = train.EvalInt8(p, v.weights, v.json, e.stdout)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "nnc eval: %v\n", err)
			return exitRuntime
		}
		return exitOK
	}
	src, _ := os.ReadFile(file)
	opt := train.Options{Source: src, Epochs: new(0), Init: v.weights, JSON: v.json, Quiet: true, Out: e.stdout}
	switch v.backend {
	case "go":
		return runNative(e, p, file, src, &v, opt)
	case "interp":
	default:
		fmt.Fprintf(e.stderr, "nnc eval: unknown backend %q; the backends are interp and go\n", v.backend)
		return exitModel
	}
	if _, err := train.Run(p, opt); err != nil {
		fmt.Fprintf(e.stderr, "nnc eval: %v\n", err)
		return exitRuntime
	}
	return exitOK
}
