package native

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/build"
	"github.com/nnc-go/nnc/codegen"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
	"github.com/nnc-go/nnc/train"
)

// SampleProgram returns the program that `nnc sample --backend go` builds
// for p: the generated forward pass and a main that embeds the model's
// source and runs SampleMain.
func SampleProgram(p *ir.Program, src []byte) (Program, error) {
	code, err := codegen.Generate(p, codegen.Options{Package: "model", Source: p.File})
	if err != nil {
		return Program{}, err
	}
	elem := "float32"
	if out := p.Forward.Output("out"); out != nil && out.Type.DType == ir.F64 {
		elem = "float64"
	}
	main := strings.ReplaceAll(sampleMain, "ELEM", elem)
	step := "nil"
	if p.Step != nil {
		step = "m.Step"
	}
	main = strings.ReplaceAll(main, "STEP", step)
	return Program{Files: map[string][]byte{"main.go": []byte(main), "model/model.go": code, "model.nn": src}}, nil
}

const sampleMain = `// Command main samples text from a model compiled to Go, for nnc sample --backend go.
package main

import (
	_ "embed"
	"fmt"
	"os"

	"github.com/nnc-go/nnc/native"
	"nncnative/model"
)

//go:embed model.nn
var source []byte

func main() {
	m, err := model.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "nnc sample:", err)
		os.Exit(1)
	}
	forward := func(out []ELEM, ids []int64) error { return m.Forward(out, ids, 1) }
	os.Exit(native.SampleMain(source, m.Load, forward, STEP, os.Args[1:]))
}
`

// SampleMain is the body of the program SampleProgram builds: it compiles
// the embedded source as `nnc sample` did (the file name, --model and --set
// come as arguments), loads the weights with load and samples with the
// generated forward pass and, when not nil, the generated Step (the KV
// cache; -no-cache leaves it out, for comparison). It returns the exit
// status.
func SampleMain[T kernels.Float](source []byte, load func(path string) error, forward func(out []T, ids []int64) error, step func(out []T, id int64, pos int) error, args []string) int {
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("file", "model.nn", "")
	model := fs.String("model", "", "")
	var set []string
	fs.Func("set", "", func(s string) error { set = append(set, s); return nil })
	opt := train.SampleOptions{Out: os.Stdout}
	fs.StringVar(&opt.Weights, "weights", "", "")
	fs.StringVar(&opt.Prompt, "prompt", "", "")
	fs.IntVar(&opt.Tokens, "tokens", 200, "")
	fs.Float64Var(&opt.Temperature, "temperature", 1, "")
	fs.IntVar(&opt.TopK, "top-k", 0, "")
	fs.Uint64Var(&opt.Seed, "seed", 0, "")
	fs.StringVar(&opt.Window, "window", train.WindowSlide, "")
	fs.BoolVar(&opt.NoCache, "no-cache", false, "")
	// -time prints the generation's time per character on stderr and
	// the text nowhere (bench/sampletime).
	timed := fs.Bool("time", false, "")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintln(os.Stderr, "nnc sample:", err)
		return 2
	}
	sets := map[string]string{}
	for _, s := range set {
		k, v, _ := strings.Cut(s, "=")
		sets[k] = v
	}
	p, err := nnc.Compile(*file, source, nnc.Options{Options: build.Options{Model: *model, Set: sets}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := train.CheckSample(p, opt); err != nil {
		fmt.Fprintln(os.Stderr, "nnc sample:", err)
		return 1
	}
	if err := load(opt.Weights); err != nil {
		fmt.Fprintln(os.Stderr, "nnc sample:", err)
		return 1
	}
	var elapsed time.Duration
	if *timed {
		opt.Out, opt.Elapsed = io.Discard, &elapsed
	}
	if err := train.SampleCompiled(p, forward, step, opt); err != nil {
		fmt.Fprintln(os.Stderr, "nnc sample:", err)
		return 1
	}
	if *timed {
		fmt.Fprintf(os.Stderr, "ns_per_char %d\n", elapsed.Nanoseconds()/int64(max(1, opt.Tokens)))
	}
	return 0
}
