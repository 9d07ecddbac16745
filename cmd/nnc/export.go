package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/dsl"
	"github.com/nnc-go/nnc/export"
	"github.com/nnc-go/nnc/internal/atomicfile"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
	"github.com/nnc-go/nnc/train"
)

var exportCmd = &command{
	name:    "export",
	usage:   "nnc export FILE --format torch|onnx [--model M] [--set p=v] [--weights CKPT] -o model.py|model.onnx",
	summary: "write the model as a standalone PyTorch script (the nn.Module, state_dict keys nnc's names, and a train() for its train block that runs under python or torchrun) or as ONNX (opset 17, dynamic batch)",
	run:     runExport,
}

// exportVals are nnc export's own flags.
type exportVals struct {
	format string
}

func exportFlags(fs *flag.FlagSet, v *flagVals) {
	fs.StringVar(&v.export.format, "format", "torch", "what to write: torch (a PyTorch script) or onnx (an ONNX model)")
	fs.StringVar(&v.out, "o", "", "the file to write (required): model.py, or model.onnx")
	fs.StringVar(&v.weights, "weights", "", "torch: start the script's training from this safetensors checkpoint (default: PyTorch's initialisation); onnx: the weights to write (default: nnc's initialisation from the seed; an int8 checkpoint of nnc quantize writes ONNX's QDQ form)")
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
	case v.export.format == "onnx":
		return exportONNX(e, file, &v)
	case v.export.format != "torch":
		fmt.Fprintf(e.stderr, "nnc export: --format %q: nnc exports torch (a PyTorch script) or onnx\n", v.export.format)
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

// exportONNX writes the forward pass, as built, as an ONNX model with the
// weights of --weights (or the seeded initialisation) as initializers.
func exportONNX(e *cmdEnv, file string, v *flagVals) int {
	if v.weights != "" {
		f, err := train.ReadInt8(v.weights)
		if err != nil {
			fmt.Fprintf(e.stderr, "nnc export: %v\n", err)
			return exitRuntime
		}
		if f != nil {
			return exportONNXInt8(e, file, v, f)
		}
	}
	p, code, ok := e.compile(file, nnc.Options{Options: irOptions(v), After: "none", ForwardOnly: true})
	if !ok {
		return code
	}
	g := p.Forward
	seed := uint64(0)
	if p.Train != nil {
		seed = p.Train.Seed
	}
	var w export.Tensors
	var err error
	if g.Output("out").Type.DType == ir.F64 {
		w, err = exportWeights[float64](g, seed, v.weights)
	} else {
		w, err = exportWeights[float32](g, seed, v.weights)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc export: %v\n", err)
		return exitRuntime
	}
	b, err := export.ONNX(g, p.Model, w)
	return writeONNX(e, v.out, b, err, "ONNX model "+p.Model, "")
}

// writeONNX writes the ONNX model b that an exporter returned with err to
// out and says what it wrote: what, and in parentheses detail before the
// opset.
func writeONNX(e *cmdEnv, out string, b []byte, err error, what, detail string) int {
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc export: %v\n", err)
		return exitModel
	}
	if err := atomicfile.Write(out, b); err != nil {
		fmt.Fprintf(e.stderr, "nnc export: %v\n", err)
		return exitRuntime
	}
	fmt.Fprintf(e.stdout, "wrote %s: %s (%sopset %d, batch dimension N), %d bytes\n", out, what, detail, export.ONNXOpset, len(b))
	return exitOK
}

// exportONNXInt8 writes the int8 forward pass of the int8 checkpoint f in
// ONNX's QDQ form.
func exportONNXInt8(e *cmdEnv, file string, v *flagVals, f *checkpoint.File) int {
	p, code, ok := e.compile(file, nnc.Options{Options: irOptions(v), ForwardOnly: true})
	if !ok {
		return code
	}
	g, err := train.Int8Graph(p.Forward, f)
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc export: %s: %v\n", v.weights, err)
		return exitRuntime
	}
	b, err := export.ONNXInt8(g, p.Model, f)
	return writeONNX(e, v.out, b, err, "ONNX model "+p.Model+" in QDQ form", "int8, ")
}

// storeTensors shows an interpreter store as export.Tensors.
type storeTensors[T kernels.Float] struct{ s *interp.Store[T] }

func (t storeTensors[T]) Float64(name string) ([]float64, bool) {
	x, ok := t.s.F[name]
	if !ok {
		return nil, false
	}
	f := make([]float64, len(x))
	for i, v := range x {
		f[i] = float64(v)
	}
	return f, true
}

func (t storeTensors[T]) Int64(name string) ([]int64, bool) {
	x, ok := t.s.I64[name]
	return x, ok
}

func exportWeights[T kernels.Float](g *ir.Graph, seed uint64, weights string) (export.Tensors, error) {
	s := interp.NewStore[T]()
	if err := s.Init(g, seed); err != nil {
		return nil, err
	}
	if weights != "" {
		if err := train.LoadCheckpoint[T](s, g, weights); err != nil {
			return nil, err
		}
	}
	return storeTensors[T]{s}, nil
}
