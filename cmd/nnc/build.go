package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/codegen"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/passes"
	"github.com/nnc-go/nnc/train"
)

var buildCmd = &command{
	name:    "build",
	usage:   "nnc build FILE [--model M] [--set p=v] [-o DIR] [--package NAME] [--weights CKPT] [--train] [--explain] [--batch B]",
	summary: "emit a Go package for the model: the forward pass and, with --train, the training step, weights embedded",
	run:     runBuild,
}

func runBuild(e *cmdEnv, args []string) int {
	var v flagVals
	file, code, ok := e.parseFile(args, &v)
	if !ok {
		return code
	}
	pkg := v.pkg
	if pkg == "" {
		pkg = defaultPackage(file, v.out)
	}
	if err := codegen.CheckPackageName(pkg); err != nil {
		fmt.Fprintf(e.stderr, "nnc build: --package: %v\n", err)
		return exitModel
	}
	dir := v.out
	if dir == "" {
		dir = pkg
	}
	p, code, ok := e.compile(file, nnc.Options{Options: irOptions(&v), Batch: buildBatch(file, &v), ForwardOnly: !v.train})
	if !ok {
		return code
	}
	if v.train && p.Train == nil {
		fmt.Fprintf(e.stderr, "nnc build: --train: model %s has no train block\n", p.Model)
		return exitModel
	}
	var weights []byte
	var mean, std []float64 // the training data's statistics, for a model trained on standardised features
	int8 := false
	if v.weights != "" {
		b, err := os.ReadFile(v.weights)
		if err != nil {
			fmt.Fprintf(e.stderr, "nnc build: %v\n", err)
			return exitRuntime
		}
		if f, derr := checkpoint.Decode(b); derr == nil && train.IsInt8(f) {
			if v.train || v.explainGo {
				fmt.Fprintf(e.stderr, "nnc build: %s is an int8 checkpoint: --train and --explain need float weights\n", v.weights)
				return exitModel
			}
			// The forward graph rewritten to run in int8, as predict's.
			if p.Forward, weights, err = train.Int8Embed(p.Forward, f, v.weights); err != nil {
				fmt.Fprintf(e.stderr, "nnc build: %v\n", err)
				return exitModel
			}
			int8 = true
		} else if weights, err = stateDict(b, p); err != nil {
			fmt.Fprintf(e.stderr, "nnc build: %s: %v\n", v.weights, err)
			return exitRuntime
		}
		if mean, std, err = trainedScaling(weights); err != nil {
			fmt.Fprintf(e.stderr, "nnc build: %s: %v\n", v.weights, err)
			return exitRuntime
		}
	} else if f, err := onnxInt8(file, p); err != nil || f != nil {
		// An ONNX QDQ model whose layers the importer lowered to int8.
		if err == nil && (v.train || v.explainGo) {
			err = fmt.Errorf("its layers run in int8: --train and --explain need float weights")
		}
		if err == nil {
			p.Forward, weights, err = train.Int8Embed(p.Forward, f, file)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "nnc build: %s: %v\n", file, err)
			return exitModel
		}
		int8 = true
	} else if p.Weights != nil {
		// An ONNX model's initializers.
		var err error
		if weights, err = stateDict(p.Weights, p); err != nil {
			fmt.Fprintf(e.stderr, "nnc build: %s: %v\n", file, err)
			return exitRuntime
		}
	}
	var explain *ir.Graph
	if v.explainGo {
		// The forward graph as built, differentiated with respect to its
		// input, for the same batch as the forward pass.
		q, code, ok := e.compile(file, nnc.Options{Options: irOptions(&v), After: "none"})
		if !ok {
			return code
		}
		var err error
		if explain, err = passes.Explain(q.Forward); err != nil {
			fmt.Fprintf(e.stderr, "nnc build: --explain: %v\n", err)
			return exitModel
		}
		explain.Attrs = explain.Attrs.Set("batch", p.Forward.Plan.Batch)
		if err := passes.Run(explain, passes.Options{}); err != nil {
			return e.report(err)
		}
	}
	src, err := codegen.Generate(p, codegen.Options{Package: pkg, Source: filepath.Base(file), Weights: weights != nil, Train: v.train, Explain: explain, Mean: mean, Std: std})
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc build: %v\n", err)
		return exitModel
	}
	if err := codegen.WriteFiles(dir, src, weights); err != nil {
		fmt.Fprintf(e.stderr, "nnc build: %v\n", err)
		return exitRuntime
	}
	what := "forward pass"
	if int8 {
		what = "int8 forward pass"
	}
	if p.Step != nil {
		what += ", Step with a KV cache"
	}
	if v.train {
		what += " and training step"
	}
	if explain != nil {
		what += ", Explain"
	}
	fmt.Fprintf(e.stdout, "wrote package %s (%s) to %s: arena %d bytes for batch %d\n", pkg, what, dir, p.Forward.Plan.ArenaBytes, p.Forward.Plan.Batch)
	return exitOK
}

// defaultPackage is the package name when --package is not given: the
// output folder's name when it is a Go identifier, as the go tool expects
// of a package in app/tabular, else a name derived from the model file's.
func defaultPackage(file, out string) string {
	if out != "" {
		if name := filepath.Base(filepath.Clean(out)); name != "main" && codegen.CheckPackageName(name) == nil {
			return name
		}
	}
	return codegen.PackageName(strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)))
}

// buildBatch is the batch the generated buffers are sized for: --batch,
// else the train block's, else 64.
func buildBatch(file string, v *flagVals) int {
	if v.batch > 0 {
		return v.batch
	}
	if src, err := os.ReadFile(file); err == nil {
		if p, err := nnc.Compile(file, src, nnc.Options{Options: irOptions(v), After: "none"}); err == nil && p.Train != nil {
			return p.Train.Batch
		}
	}
	return 64
}

// stateDict checks that a safetensors file holds exactly the model's
// parameters and buffers, with their shapes and dtypes, beside optimizer
// state (which checkpoints of nnc run hold), and returns the file with
// those alone, to embed.
func stateDict(b []byte, p *ir.Program) ([]byte, error) {
	f, err := checkpoint.Decode(b)
	if err != nil {
		return nil, err
	}
	kept := &checkpoint.File{Metadata: f.Metadata}
	for _, t := range f.Tensors {
		if !strings.HasPrefix(t.Name, "optimizer.") {
			kept.Tensors = append(kept.Tensors, t)
		}
	}
	var specs []checkpoint.Spec
	for _, v := range p.Forward.Values {
		if v.Op != ir.OpParam && v.Op != ir.OpBuffer {
			continue
		}
		dt := checkpoint.F32
		switch v.Type.DType {
		case ir.F64:
			dt = checkpoint.F64
		case ir.I64:
			dt = checkpoint.I64
		}
		specs = append(specs, checkpoint.Spec{Name: v.Name, DType: dt, Shape: v.Type.Shape})
	}
	if err := checkpoint.Check(kept, specs); err != nil {
		return nil, err
	}
	return checkpoint.Encode(kept)
}
