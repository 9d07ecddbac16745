package main

import (
	"bufio"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/npy"
	"github.com/nnc-go/nnc/train"
)

// arrayIO reports whether nnc predict reads or writes NumPy arrays: an
// --input that is a .npy file or NAME=file, or any --output.
func arrayIO(v *flagVals) bool {
	if len(v.outputs) > 0 {
		return true
	}
	for _, in := range v.inputs {
		if _, file, named := strings.Cut(in, "="); named || strings.HasSuffix(strings.ToLower(file), ".npy") || strings.HasSuffix(strings.ToLower(in), ".npy") {
			return true
		}
	}
	return false
}

// namedFiles resolves NAME=file arguments (or one bare file, for a model
// with one such name) against the names the graph has; aliases map other
// names (an ONNX file's) to the graph's.
func namedFiles(args []string, names []string, aliases map[string]string, what string) (map[string]string, error) {
	files := map[string]string{}
	for _, a := range args {
		name, file, named := strings.Cut(a, "=")
		if !named {
			if len(args) != 1 || len(names) != 1 {
				return nil, fmt.Errorf("the model has %d %ss (%s): give each as --%s NAME=file.npy", len(names), what, strings.Join(names, ", "), what)
			}
			name, file = names[0], a
		}
		if n, ok := aliases[name]; ok && slices.Contains(names, n) {
			name = n
		}
		found := false
		for _, n := range names {
			found = found || n == name
		}
		if !found {
			return nil, fmt.Errorf("the model has no %s %s; its %ss are %s", what, name, what, strings.Join(names, ", "))
		}
		if _, dup := files[name]; dup {
			return nil, fmt.Errorf("%s %s given twice", what, name)
		}
		files[name] = file
	}
	return files, nil
}

// predictArrays runs the forward pass of p over NumPy arrays and writes
// the outputs as arrays (--output), or prints them as nnc predict prints
// the predictions of a CSV file.
func (e *cmdEnv) predictArrays(p *ir.Program, v *flagVals) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(e.stderr, "nnc predict: "+format+"\n", a...)
		return code
	}
	var f *checkpoint.File
	var err error
	weightsName := v.weights
	if v.weights != "" {
		f, err = checkpoint.Read(v.weights)
	} else {
		weightsName = p.File
		f, err = checkpoint.Decode(p.Weights)
	}
	if err != nil {
		return fail(exitRuntime, "%s: %v", weightsName, err)
	}
	var inNames, outNames []string
	for _, in := range p.Forward.Sources(ir.OpInput) {
		inNames = append(inNames, in.Name)
	}
	for _, o := range p.Forward.Outputs {
		outNames = append(outNames, o.Name)
	}
	inFiles, err := namedFiles(v.inputs, inNames, p.Aliases, "input")
	if err != nil {
		return fail(exitModel, "--input: %v", err)
	}
	outFiles, err := namedFiles(v.outputs, outNames, p.Aliases, "output")
	if err != nil {
		return fail(exitModel, "--output: %v", err)
	}
	for _, n := range inNames {
		if _, ok := inFiles[n]; !ok {
			return fail(exitModel, "--input: no array for input %s", n)
		}
	}
	arrays := map[string]*npy.Array{}
	for name, file := range inFiles {
		a, err := npy.Read(file)
		if err != nil {
			return fail(exitRuntime, "%v", err)
		}
		arrays[name] = a
	}
	outs, err := train.ForwardArrays(p, arrays, train.ArrayOptions{Weights: f, WeightsName: weightsName})
	if err != nil {
		return fail(exitRuntime, "%v", err)
	}
	if len(outFiles) > 0 {
		names := make([]string, 0, len(outFiles))
		for n := range outFiles {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if err := npy.Write(outFiles[n], outs[n]); err != nil {
				return fail(exitRuntime, "%v", err)
			}
		}
		return exitOK
	}
	// Printed as the predictions of a CSV file: the output "out", its
	// first dimension the rows.
	out := outs["out"]
	if out == nil || len(out.Shape) == 0 {
		return fail(exitModel, "the model's outputs (%s) are not one batch of rows: write them with --output NAME=file.npy", strings.Join(outNames, ", "))
	}
	preds := &train.Predictions{N: out.Shape[0], Out: out.Float64s()}
	if preds.N > 0 {
		preds.Width = len(preds.Out) / preds.N
	}
	if p.Train != nil {
		preds.Loss = p.Train.Loss
	}
	if info, err := train.ReadDataInfo(f.Metadata); err == nil {
		preds.Data = info
		if preds.Loss == ir.NoLoss {
			preds.Loss = info.Loss
		}
	}
	if preds.Loss == ir.CrossEntropy && preds.Width < 2 {
		preds.Loss = ir.NoLoss
	}
	w := bufio.NewWriter(e.stdout)
	printPredictions(w, preds, v.json)
	if err := w.Flush(); err != nil {
		return fail(exitRuntime, "%v", err)
	}
	return exitOK
}
