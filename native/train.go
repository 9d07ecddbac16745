package native

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/build"
	"github.com/nnc-go/nnc/codegen"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
	"github.com/nnc-go/nnc/train"
)

// TrainProgram returns the program that `nnc run --backend go` builds for
// p: the generated package with its training step, seeded with seed, and a
// main that embeds the model's source and runs TrainMain.
func TrainProgram(p *ir.Program, src []byte, seed uint64) (Program, error) {
	code, err := codegen.Generate(p, codegen.Options{Package: "model", Source: p.File, Train: true, Seed: seed})
	if err != nil {
		return Program{}, err
	}
	elem := "float32"
	if p.Forward.Sources(ir.OpInput)[0].Type.DType == ir.F64 {
		elem = "float64"
	}
	x := "b.X"
	if p.TrainGraph.Sources(ir.OpInput)[0].Type.DType == ir.I64 {
		x = "b.IDs"
	}
	y := "b.Targets"
	if t := p.TrainGraph.Sources(ir.OpTarget); len(t) == 1 {
		switch t[0].Type.DType {
		case ir.I32:
			y = "b.Labels"
		case ir.I64:
			y = "b.Tokens"
		}
	}
	main := strings.NewReplacer("ELEM", elem, "XARG", x, "YARG", y).Replace(trainMain)
	return Program{Files: map[string][]byte{"main.go": []byte(main), "model/model.go": code, "model.nn": src}}, nil
}

const trainMain = `// Command main trains a model compiled to Go, for nnc run --backend go.
package main

import (
	_ "embed"
	"fmt"
	"os"

	"github.com/nnc-go/nnc/native"
	"github.com/nnc-go/nnc/train"
	"nncnative/model"
)

//go:embed model.nn
var source []byte

func main() {
	m, err := model.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "nnc run:", err)
		os.Exit(1)
	}
	c := &train.Compiled[ELEM]{
		TrainStep: func(b *train.Batch[ELEM], n int) (float64, int, error) {
			return m.TrainStep(XARG, YARG, n)
		},
		Evaluate: func(b *train.Batch[ELEM], n int) (float64, int, error) {
			return m.Evaluate(XARG, YARG, n)
		},
		TrainBatch: model.TrainBatch,
		EvalBatch:  model.EvalBatch,
		State:       m.State,
		RNGState:    m.RNGState,
		SetRNGState: m.SetRNGState,
	}
	os.Exit(native.TrainMain(source, c, os.Args[1:]))
}
`

// TrainMain is the body of the program TrainProgram builds: it compiles
// the embedded source as `nnc run` did (the file name, --model and --set
// come as arguments) and trains with the generated code. It returns the
// exit status.
func TrainMain[T kernels.Float](source []byte, c *train.Compiled[T], args []string) int {
	fs := flag.NewFlagSet("model", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("file", "model.nn", "")
	model := fs.String("model", "", "")
	name := fs.String("name", "nnc run", "") // the command, for messages
	var set []string
	fs.Func("set", "", func(s string) error { set = append(set, s); return nil })
	var opt train.Options
	fs.Func("epochs", "", func(s string) error { opt.Epochs = new(0); _, err := fmt.Sscan(s, opt.Epochs); return err })
	var lr float64
	var batch int
	fs.Float64Var(&lr, "lr", 0, "")
	fs.IntVar(&batch, "batch", 0, "")
	var noise float64
	fs.Float64Var(&noise, "noise", 0, "")
	var seed uint64
	seedSet := false
	fs.Func("seed", "", func(s string) error { _, err := fmt.Sscan(s, &seed); seedSet = err == nil; return err })
	fs.StringVar(&opt.Init, "init", "", "")
	fs.StringVar(&opt.Resume, "resume", "", "")
	fs.StringVar(&opt.Save, "save", "", "")
	fs.BoolVar(&opt.JSON, "json", false, "")
	fs.BoolVar(&opt.Quiet, "quiet", false, "")
	fs.StringVar(&opt.Plot, "plot", "", "")
	fs.IntVar(&opt.StopAfter, "stop-after", 0, "")
	progress := fs.Bool("progress", false, "")
	stopOnEOF := fs.Bool("stop-on-eof", false, "")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintln(os.Stderr, "nnc run:", err)
		return 2
	}
	sets := map[string]string{}
	for _, s := range set {
		k, v, _ := strings.Cut(s, "=")
		sets[k] = v
	}
	p, err := nnc.Compile(*file, source, nnc.Options{Options: build.Options{Model: *model, Set: sets}, LR: lr, TrainBatch: batch, Noise: noise})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if seedSet {
		opt.Seed = &seed
	}
	opt.Source, opt.Out, opt.Warn = source, os.Stdout, os.Stderr
	if *progress {
		opt.Progress = os.Stderr
	}
	stop := new(atomic.Bool)
	opt.Stop = stop
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		stop.Store(true)
		signal.Stop(sig)
	}()
	if *stopOnEOF {
		// nnc run passes its signals on by closing our input.
		go func() {
			io.Copy(io.Discard, os.Stdin)
			stop.Store(true)
		}()
	}
	if _, err := train.RunCompiled(p, c, opt); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", *name, err)
		var stopped *train.Interrupted
		if errors.As(err, &stopped) {
			return 130
		}
		return 1
	}
	return 0
}
