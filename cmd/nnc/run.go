package main

import (
	"fmt"
	"os"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/train"
)

var runCmd = &command{
	name:    "run",
	usage:   "nnc run FILE [--model M] [--epochs N] [--seed S] [--set p=v] [--init CKPT] [--save CKPT] [--json] [--quiet] [--plot FILE.png]",
	summary: "train a model per its train block, print the loss and accuracy of each epoch, then the final evaluation",
	run:     runRun,
}

func runRun(e *cmdEnv, args []string) int {
	var v flagVals
	pos, code, ok := e.parse(args, &v)
	if !ok {
		return code
	}
	file, ok := e.oneFile(pos)
	if !ok {
		return exitModel
	}
	if v.plot != "" {
		if err := train.CheckPlotPath(v.plot); err != nil {
			fmt.Fprintf(e.stderr, "nnc run: --plot %v\n", err)
			return exitModel
		}
	}
	p, code, ok := e.compile(file, nnc.Options{Options: irOptions(&v)})
	if !ok {
		return code
	}
	if p.Train == nil {
		fmt.Fprintf(e.stderr, "nnc run: %s: model %s has no train block\n", file, p.Model)
		return exitModel
	}
	src, _ := os.ReadFile(file)
	opt := train.Options{
		Source: src, Epochs: v.epochs, Init: v.init, Save: v.save, JSON: v.json, Quiet: v.quiet, Plot: v.plot,
		Out: e.stdout, Progress: train.ProgressWriter(e.stderr, v.quiet),
	}
	if v.seedSet {
		opt.Seed = &v.seed
	}
	if _, err := train.Run(p, opt); err != nil {
		fmt.Fprintf(e.stderr, "nnc run: %v\n", err)
		return exitRuntime
	}
	return exitOK
}
