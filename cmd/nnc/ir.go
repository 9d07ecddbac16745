package main

import (
	"fmt"
	"strings"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/build"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/passes"
	"github.com/nnc-go/nnc/train"
)

var irCmd = &command{
	name:    "ir",
	usage:   "nnc ir [--model M] [--set p=v] [--after PASS] [--forward] [--explain] [--dot] [--weights INT8CKPT] FILE",
	summary: "print the IR of a model after a pass (default: after all), as text or Graphviz DOT; the training step when the model has a train block",
	run:     runIR,
}

func irOptions(v *flagVals) build.Options {
	return build.Options{Model: v.model, Set: v.set}
}

func runIR(e *cmdEnv, args []string) int {
	var v flagVals
	file, code, ok := e.parseFile(args, &v)
	if !ok {
		return code
	}
	if _, known := passes.Lookup(v.after); v.after != "" && v.after != "none" && !known {
		fmt.Fprintf(e.stderr, "nnc ir: unknown pass %q; the passes are none, %s\n", v.after, strings.Join(passes.Names(), ", "))
		return exitModel
	}
	var g *ir.Graph
	var p *ir.Program
	if v.explainGo && v.weights != "" {
		fmt.Fprintf(e.stderr, "nnc ir: --explain and --weights show different graphs; give one\n")
		return exitModel
	}
	if v.explainGo {
		// The forward graph as built, differentiated with respect to its
		// input (what nnc explain runs), after the passes up to --after.
		p, code, ok := e.compile(file, nnc.Options{Options: irOptions(&v), After: "none"})
		if !ok {
			return code
		}
		var err error
		if g, err = passes.Explain(p.Forward); err != nil {
			fmt.Fprintf(e.stderr, "nnc ir: --explain: %s: %v\n", file, err)
			return exitModel
		}
		if v.after != "none" {
			if err := passes.Run(g, passes.Options{After: v.after, Verify: v.verify}); err != nil {
				return e.report(err)
			}
		}
	} else {
		opt := nnc.Options{Options: irOptions(&v), After: v.after, Verify: v.verify, ForwardOnly: v.forward}
		var code int
		var ok bool
		if p, code, ok = e.compile(file, opt); !ok {
			return code
		}
		g = p.TrainGraph
		if g == nil || v.forward {
			g = p.Forward
		}
	}
	if v.weights != "" {
		// The forward pass an int8 checkpoint runs: its int8 layers and
		// the conversions the quantize pass placed.
		if v.after != "" {
			fmt.Fprintf(e.stderr, "nnc ir: --weights shows the graph after every pass; leave out --after\n")
			return exitModel
		}
		f, err := train.ReadInt8(v.weights)
		if err == nil && f == nil {
			err = fmt.Errorf("%s is not an int8 checkpoint (nnc quantize writes them)", v.weights)
		}
		if err == nil {
			g, err = train.Int8Graph(p.Forward, f)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "nnc ir: %v\n", err)
			return exitRuntime
		}
	}

	if v.weights == "" && v.after == "" && !v.explainGo && g == p.Forward {
		// An ONNX QDQ model whose layers the importer lowered to int8:
		// the forward pass it runs.
		f, err := onnxInt8(file, p)
		if err == nil && f != nil {
			g, err = train.Int8Graph(p.Forward, f)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "nnc ir: %v\n", err)
			return exitRuntime
		}
	}

	if v.dot {
		fmt.Fprint(e.stdout, ir.Dot(g))
		return exitOK
	}
	fmt.Fprint(e.stdout, ir.Print(g))
	return exitOK
}
