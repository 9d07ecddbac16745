package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/native"
	"github.com/nnc-go/nnc/train"
)

var runCmd = &command{
	name:    "run",
	usage:   "nnc run FILE [--model M] [--epochs N] [--lr LR] [--batch B] [--seed S] [--set p=v] [--init CKPT] [--save CKPT] [--json] [--quiet] [--plot FILE.png] [--resume CKPT] [--backend interp|go] [--threads N] [--cpuprofile FILE] [--target-epsilon E]",
	summary: "train a model per its train block, print the loss and accuracy of each epoch, then the final evaluation",
	run:     runRun,
}

// stopAfter, when > 0, interrupts interp runs after that many steps, as
// Ctrl-C would: the test scripts set it (nnc-stopafter) to interrupt at a
// known step.
var stopAfter int

func runRun(e *cmdEnv, args []string) int {
	var v flagVals
	file, code, ok := e.parseFile(args, &v)
	if !ok {
		return code
	}
	if v.epochs < 0 {
		fmt.Fprintf(e.stderr, "nnc run: --epochs must not be negative, got %d\n", v.epochs)
		return exitModel
	}
	if v.plot != "" && v.epSet && v.epochs == 0 {
		fmt.Fprintf(e.stderr, "nnc run: --plot needs at least one epoch\n")
		return exitModel
	}
	if v.plot != "" {
		if err := train.CheckPlotPath(v.plot); err != nil {
			fmt.Fprintf(e.stderr, "nnc run: --plot %v\n", err)
			return exitModel
		}
	}
	p, code, ok := e.compile(file, nnc.Options{Options: irOptions(&v), LR: v.lr, TrainBatch: v.batch})
	if !ok {
		return code
	}
	if v.tepsSet {
		if p, code, ok = e.targetEpsilon(file, p, &v); !ok {
			return code
		}
	}
	if p.Train == nil {
		fmt.Fprintf(e.stderr, "nnc run: %s: model %s has no train block\n", file, p.Model)
		return exitModel
	}
	src, _ := os.ReadFile(file)
	opt := train.Options{
		Source: src, Init: v.init, Save: v.save, JSON: v.json, Quiet: v.quiet, Plot: v.plot,
		Out: e.stdout, Warn: e.stderr, Progress: train.ProgressWriter(e.stderr, v.quiet), StopAfter: stopAfter,
	}
	if v.epSet {
		opt.Epochs = &v.epochs
	}
	if v.seedSet {
		opt.Seed = &v.seed
	}
	opt.Resume = v.resume
	if v.resume != "" && !v.saveSet {
		// A resumed run keeps saving where it was saved: interrupted
		// again, it loses nothing.
		opt.Save = v.resume
	}
	// Ctrl-C or SIGTERM stops training at the next step boundary; a second
	// one kills as usual.
	stop := new(atomic.Bool)
	opt.Stop = stop
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		if _, ok := <-sig; ok {
			stop.Store(true)
			signal.Stop(sig)
		}
	}()
	if v.cpuprof != "" && v.backend == "go" {
		fmt.Fprintf(e.stderr, "nnc run: --cpuprofile profiles the interp backend only (the go backend runs in another process)\n")
		return exitModel
	}
	switch v.backend {
	case "go":
		return runNative(e, p, file, src, &v, opt)
	case "interp":
	default:
		fmt.Fprintf(e.stderr, "nnc run: unknown backend %q; the backends are interp and go\n", v.backend)
		return exitModel
	}
	if v.cpuprof != "" {
		f, err := os.Create(v.cpuprof)
		if err != nil {
			fmt.Fprintf(e.stderr, "nnc run: %v\n", err)
			return exitRuntime
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(e.stderr, "nnc run: --cpuprofile: %v\n", err)
			return exitRuntime
		}
		defer pprof.StopCPUProfile()
	}
	if _, err := train.Run(p, opt); err != nil {
		fmt.Fprintf(e.stderr, "nnc run: %v\n", err)
		debugStack(e.stderr, err)
		var stopped *train.Interrupted
		if errors.As(err, &stopped) {
			return exitInterrupted
		}
		return exitRuntime
	}
	return exitOK
}

// runNative trains with the model compiled to Go: it builds (or finds in
// the cache) a program holding the generated code and runs it with the
// same options, its output and status passed through.
func runNative(e *cmdEnv, p *ir.Program, file string, src []byte, v *flagVals, opt train.Options) int {
	seed := p.Train.Seed
	if opt.Seed != nil {
		seed = *opt.Seed
	}
	prog, err := native.TrainProgram(p, src, seed)
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc %s: %v\n", e.cmd.name, err)
		return exitRuntime
	}
	exe, err := native.Build(prog)
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc %s: --backend go: %v\n", e.cmd.name, err)
		return exitRuntime
	}
	args := []string{"-file", file, "-model", p.Model, "-name", "nnc " + e.cmd.name}
	for k, val := range v.set {
		args = append(args, "-set", k+"="+val)
	}
	if opt.Epochs != nil {
		args = append(args, "-epochs", fmt.Sprint(*opt.Epochs))
	}
	if opt.Seed != nil {
		args = append(args, "-seed", fmt.Sprint(*opt.Seed))
	}
	if v.lr > 0 {
		args = append(args, "-lr", strconv.FormatFloat(v.lr, 'g', -1, 64))
	}
	if v.batch > 0 {
		args = append(args, "-batch", fmt.Sprint(v.batch))
	}
	if v.noise > 0 {
		args = append(args, "-noise", strconv.FormatFloat(v.noise, 'g', -1, 64))
	}
	for flag, val := range map[string]string{"-init": opt.Init, "-save": opt.Save, "-plot": opt.Plot, "-resume": opt.Resume} {
		if val != "" {
			args = append(args, flag, val)
		}
	}
	if opt.JSON {
		args = append(args, "-json")
	}
	if opt.Quiet {
		args = append(args, "-quiet")
	}
	if opt.Progress != nil {
		args = append(args, "-progress")
	}
	args = append(args, "-stop-on-eof")
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = e.stdout, e.stderr
	// The program stops at a step boundary when its standard input closes:
	// a signal to nnc (SIGTERM, or Ctrl-C) is passed on that way, which
	// cannot race the program's start as a signal would.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc %s: --backend go: %v\n", e.cmd.name, err)
		return exitRuntime
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(e.stderr, "nnc %s: --backend go: %v\n", e.cmd.name, err)
		return exitRuntime
	}
	if opt.Stop == nil {
		opt.Stop = new(atomic.Bool)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for !opt.Stop.Load() {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
		stdin.Close()
	}()
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintf(e.stderr, "nnc %s: --backend go: %v\n", e.cmd.name, err)
		return exitRuntime
	}
	return exitOK
}
