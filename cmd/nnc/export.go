package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/dsl"
	"github.com/nnc-go/nnc/export"
	"github.com/nnc-go/nnc/internal/atomicfile"
)

var exportCmd = &command{
	name:    "export",
	usage:   "nnc export FILE --format torch [--model M] [--set p=v] [--weights CKPT] -o model.py",
	summary: "write the model as a standalone PyTorch script: the nn.Module (state_dict keys are nnc's names) and a train() for its train block that runs under python or torchrun",
	run:     runExport,
}

// exportVals are nnc export's own flags.
type exportVals struct {
	format string
}

func exportFlags(fs *flag.FlagSet, v *flagVals) {
	fs.StringVar(&v.export.format, "format", "torch", "what to write: torch (a PyTorch script)")
	fs.StringVar(&v.out, "o", "", "the file to write (required): model.py")
	fs.StringVar(&v.weights, "weights", "", "start the script's training from this safetensors checkpoint (default: PyTorch's initialisation)")
}

func runExport(e *cmdEnv, args []string) int {
	var v flagVals
	file, code, ok := e.parseFile(args, &v)
	if !ok {
		return code
	}
	switch {
	case v.out == "":
		fmt.Fprintf(e.stderr, "nnc export: -o FILE is required\nusage: %s\n", e.cmd.usage)
		return exitModel
	case v.export.format != "torch":
		fmt.Fprintf(e.stderr, "nnc export: --format %q: nnc exports torch (a PyTorch script)\n", v.export.format)
		return exitModel
	}
	p, code, ok := e.compile(file, nnc.Options{Options: irOptions(&v), After: "none"})
	if !ok {
		return code
	}
	src, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc export: %v\n", err)
		return exitRuntime
	}
	ast, err := dsl.Parse(file, src)
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc export: %v\n", err)
		return exitModel
	}
	weights := ""
	if v.weights != "" {
		b, err := os.ReadFile(v.weights)
		if err == nil {
			_, err = stateDict(b, p)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "nnc export: %s: %v\n", v.weights, err)
			return exitRuntime
		}
		if weights, err = filepath.Abs(v.weights); err != nil {
			weights = v.weights
		}
	}
	res, err := export.Torch(export.Options{File: file, Source: src, AST: ast, Program: p, Out: v.out, Weights: weights})
	if err != nil {
		var ee *export.Error
		if errors.As(err, &ee) {
			fmt.Fprintf(e.stderr, "nnc export: %v\n", err)
			return exitModel
		}
		fmt.Fprintf(e.stderr, "nnc export: %v\n", err)
		return exitRuntime
	}
	for path, b := range res.Files {
		if err := atomicfile.Write(path, b); err != nil {
			fmt.Fprintf(e.stderr, "nnc export: %v\n", err)
			return exitRuntime
		}
	}
	if err := atomicfile.Write(v.out, res.Script); err != nil {
		fmt.Fprintf(e.stderr, "nnc export: %v\n", err)
		return exitRuntime
	}
	fmt.Fprintf(e.stdout, "wrote %s: PyTorch module %s and its training (python %s, or torchrun --nproc_per_node=K %s)\n", v.out, p.Model, v.out, v.out)
	return exitOK
}
