package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/internal/atomicfile"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/onnx"
	"github.com/nnc-go/nnc/train"
)

var importCmd = &command{
	name:    "import",
	usage:   "nnc import model.onnx [-o model.nn] [--set NAME=SIZE]",
	summary: "write an ONNX model as an equivalent .nn file, and its weights as model.safetensors beside it",
	run:     runImport,
}

func runImport(e *cmdEnv, args []string) int {
	var v flagVals
	file, code, ok := e.parseFile(args, &v)
	if !ok {
		return code
	}
	if !nnc.IsONNX(file) {
		fmt.Fprintf(e.stderr, "nnc import: %s is not an ONNX file (.onnx)\n", file)
		return exitModel
	}
	out := v.out
	if out == "" {
		out = strings.TrimSuffix(file, filepath.Ext(file)) + ".nn"
	}
	if filepath.Ext(out) != ".nn" {
		fmt.Fprintf(e.stderr, "nnc import: -o %s: the output is a .nn file\n", out)
		return exitModel
	}
	ckpt := strings.TrimSuffix(out, ".nn") + ".safetensors"
	p, code, ok := e.compile(file, nnc.Options{Options: irOptions(&v), After: "none"})
	if !ok {
		return code
	}
	weights, err := checkpoint.Decode(p.Weights)
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc import: %s: %v\n", file, err)
		return exitRuntime
	}
	im := &onnx.Imported{Program: p, Weights: weights}
	src, state, err := im.NN()
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc import: %s: %v\n", file, err)
		return exitModel
	}
	// The .nn must compile to the same graph's parameters: checked before
	// anything is written.
	if _, err := nnc.Compile(out, src, nnc.Options{After: "none"}); err != nil {
		fmt.Fprintf(e.stderr, "nnc import: %s: the .nn written does not compile (a bug in nnc import): %v\n", file, err)
		return exitRuntime
	}
	b, err := checkpoint.Encode(state)
	if err == nil {
		err = atomicfile.Write(ckpt, b)
	}
	if err == nil {
		err = atomicfile.Write(out, src)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc import: %v\n", err)
		return exitRuntime
	}
	fmt.Fprintf(e.stdout, "wrote %s and %s\n", out, ckpt)
	return exitOK
}

// onnxInt8 returns the int8 checkpoint of the layers the importer lowered
// to int8 when file is an ONNX model in QDQ form (onnx/qdqint8.go), else
// nil: its forward pass runs through train.Int8Graph as an int8
// checkpoint's does.
func onnxInt8(file string, p *ir.Program) (*checkpoint.File, error) {
	if !nnc.IsONNX(file) || p.Weights == nil {
		return nil, nil
	}
	f, err := checkpoint.Decode(p.Weights)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if !train.IsInt8(f) {
		return nil, nil
	}
	return f, nil
}
