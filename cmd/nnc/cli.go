package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/build"
	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
)

// Exit statuses, as LANGUAGE.md fixes them.
const (
	exitOK      = 0
	exitRuntime = 1 // a missing file, a corrupt checkpoint, a diverging run
	exitModel   = 2 // errors in the model file, or bad command-line usage
	// exitInterrupted is a run stopped by Ctrl-C or SIGTERM, as a shell
	// reports a process killed by SIGINT.
	exitInterrupted = 130
)

// command is one subcommand: its usage line, a summary and its body.
type command struct {
	name    string
	usage   string
	summary string
	run     func(c *cmdEnv, args []string) int
}

var commands []*command

func init() {
	commands = []*command{runCmd, evalCmd, sampleCmd, checkCmd, irCmd, fmtCmd, buildCmd, predictCmd, explainCmd, benchCmd, quantizeCmd, importCmd, exportCmd, serveCmd, cleanCmd, versionCmd, helpCmd}
}

var helpCmd = &command{
	name:    "help",
	usage:   "nnc help [COMMAND]",
	summary: "list the commands, or print the usage and flags of one",
	run:     runHelp,
}

func runHelp(e *cmdEnv, args []string) int {
	switch len(args) {
	case 0:
		usage(e.stdout)
		return exitOK
	case 1:
		name := args[0]
		if name == "-h" || name == "-help" || name == "--help" {
			name = "help"
		}
		if c := lookup(name); c != nil {
			commandHelp(e.stdout, c)
			return exitOK
		}
		fmt.Fprintf(e.stderr, "nnc help %s: unknown command\nRun 'nnc help' for the commands.\n", args[0])
	default:
		fmt.Fprintf(e.stderr, "nnc help: want one command, got %d\nusage: %s\n", len(args), e.cmd.usage)
	}
	return exitModel
}

// cmdEnv is what a subcommand writes to.
type cmdEnv struct {
	stdout, stderr io.Writer
	cmd            *command
}

// Main runs nnc with args (without the program name) and returns the exit
// status. No input makes it panic: a panic is a bug in nnc, reported as one
// line and status 1, with the stack only when NNC_DEBUG is set.
func Main(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "nnc: internal error: %v (please report it)\n", r)
			if os.Getenv("NNC_DEBUG") != "" {
				stderr.Write(debug.Stack())
			}
			code = exitRuntime
		}
	}()
	if len(args) == 0 {
		usage(stderr)
		return exitModel
	}
	if a := args[0]; a == "-h" || a == "-help" || a == "--help" {
		args = append([]string{"help"}, args[1:]...)
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "nnc: unknown command %q\nRun 'nnc help' for the commands.\n", args[0])
		return exitModel
	}
	return c.run(&cmdEnv{stdout: stdout, stderr: stderr, cmd: c}, args[1:])
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "nnc compiles neural-network models for Go.\n\nUsage:\n\n\tnnc <command> [arguments]\n\nThe commands are:\n\n")
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nUse \"nnc help <command>\" or \"nnc <command> -h\" for more about a command.\n")
}

func commandHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "usage: %s\n\n%s.\n", c.usage, c.summary)
	fs := c.flags(new(flagVals))
	if hasFlags(fs) {
		fmt.Fprintf(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// flagVals holds every flag any subcommand takes; each subcommand
// registers the ones it accepts.
type flagVals struct {
	model   string
	set     setFlag
	after   string
	dot     bool
	forward bool
	verify  bool
	list    bool
	diff    bool
	epochs  int
	epSet   bool // --epochs was given (0 means no training)
	lr      float64
	seed    uint64
	seedSet bool
	init    string
	save    string
	saveSet bool // --save was given, perhaps as ""
	json    bool
	backend string
	batch   int
	train   bool
	resume  string
	out     string
	pkg     string
	weights string
	input   string
	// targetEps is nnc run --target-epsilon; noise the noise multiplier
	// it chose, passed on to the go backend.
	targetEps, noise float64
	tepsSet          bool // --target-epsilon was given (0 is then an error, not "unset")
	calib            int  // nnc quantize's
	method           string
	inputs           []string // every --input, for .npy arrays NAME=file.npy
	outputs          []string // every --output NAME=file.npy
	quiet            bool
	plot             string
	cpuprof          string
	threads          int
	sample           sampleVals  // nnc sample's own flags
	explain          explainVals // nnc explain's own flags
	explainGo        bool        // nnc build --explain, nnc ir --explain
	export           exportVals  // nnc export's own flags
	serve            serveVals   // nnc serve's own flags
}

// setFlag collects repeated --set p=v.
type setFlag map[string]string

func (s *setFlag) String() string {
	var parts []string
	for k, v := range *s {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (s *setFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("want p=v, got %q", v)
	}
	if *s == nil {
		*s = setFlag{}
	}
	(*s)[strings.TrimSpace(k)] = val
	return nil
}

func (c *command) flags(v *flagVals) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	switch c.name {
	case "check", "ir", "run", "bench", "build", "predict", "eval", "import", "export", "serve", "quantize":
		fs.StringVar(&v.model, "model", "", "the model to compile (default: the one the train block names, else the last)")
		fs.Var(&v.set, "set", "override a hyper-parameter, in the layers and the train block alike: --set p=v (repeatable)")
	}
	switch c.name {
	case "ir":
		fs.StringVar(&v.after, "after", "", "print the graph after this pass (none: as built)")
		fs.BoolVar(&v.dot, "dot", false, "print Graphviz DOT instead of text")
		fs.BoolVar(&v.forward, "forward", false, "print the forward graph even when the model has a train block")
		fs.BoolVar(&v.explainGo, "explain", false, "print the graph nnc explain runs: the forward pass and its gradient with respect to the input")
		fs.BoolVar(&v.verify, "verify", false, "check the graph's invariants after every pass")
		fs.StringVar(&v.weights, "weights", "", "an int8 checkpoint (nnc quantize): print the forward graph it runs, int8 layers and conversions")
	case "quantize":
		fs.StringVar(&v.weights, "weights", "", "the float safetensors checkpoint to quantize (required)")
		fs.IntVar(&v.calib, "calib", 1000, "samples of the train block's data that calibrate the activation ranges")
		fs.StringVar(&v.method, "method", "minmax", "how a range is read from the calibration: minmax, or percentile (0.01% to 99.99%)")
		fs.StringVar(&v.out, "o", "", "the int8 checkpoint to write (default: CKPT with .int8 before its extension)")
		fs.BoolVar(&v.json, "json", false, "print one JSON object")
	case "run":
		fs.Func("epochs", "train for this many epochs instead of the train block's; 0 trains none and prints the evaluation of the weights (--init)", func(s string) error {
			n, err := strconv.Atoi(s)
			v.epochs, v.epSet = n, err == nil
			return err
		})
		fs.Func("seed", "seed initialisation, shuffling and dropout (default: the train block's)", func(s string) error {
			_, err := fmt.Sscan(s, &v.seed)
			v.seedSet = err == nil
			return err
		})
		fs.Float64Var(&v.lr, "lr", 0, "the optimizer's learning rate instead of the train block's")
		fs.IntVar(&v.batch, "batch", 0, "rows per training step instead of the train block's")
		fs.StringVar(&v.init, "init", "", "start from this safetensors checkpoint instead of the default initialisation")
		fs.Func("save", "write the trained parameters (or, interrupted, the state to resume from) to the safetensors checkpoint `CKPT` (default with --resume: the checkpoint resumed; --save= saves nothing)", func(s string) error {
			v.save, v.saveSet = s, true
			return nil
		})
		fs.BoolVar(&v.json, "json", false, "print one JSON object per line")
		fs.BoolVar(&v.quiet, "quiet", false, "print the final evaluation alone (and errors): no epoch lines, no progress bar")
		fs.StringVar(&v.plot, "plot", "", "write the loss and accuracy of each epoch to this picture (.png, .jpg or .svg)")
		fs.StringVar(&v.backend, "backend", "interp", "interp, or go: train with the model compiled to Go (needs the Go toolchain)")
		fs.StringVar(&v.resume, "resume", "", "go on with a run that was interrupted and saved (--save) this checkpoint, saving to it again unless --save says otherwise")
		fs.IntVar(&v.threads, "threads", 0, "threads a large matrix product may use (default: $NNC_THREADS, else 1)")
		fs.StringVar(&v.cpuprof, "cpuprofile", "", "write a CPU profile of the training (interp backend) to this file, for go tool pprof")
		fs.Func("target-epsilon", "with privacy = dp(...): choose the noise multiplier that spends this epsilon over the planned epochs", func(s string) error {
			f, err := strconv.ParseFloat(s, 64)
			v.targetEps, v.tepsSet = f, err == nil
			return err
		})
	case "eval":
		fs.StringVar(&v.weights, "weights", "", "the safetensors checkpoint to evaluate (required)")
		fs.BoolVar(&v.json, "json", false, "print the evaluation as one JSON object")
		fs.StringVar(&v.backend, "backend", "interp", "interp, or go: evaluate with the model compiled to Go (needs the Go toolchain)")
		fs.IntVar(&v.threads, "threads", 0, "threads a large matrix product may use (default: $NNC_THREADS, else 1)")
	case "predict":
		fs.StringVar(&v.weights, "weights", "", "the safetensors checkpoint to predict with (required)")
		fs.Func("input", "the rows to predict on: a CSV file whose every column is a feature, an IDX file of images, or a NumPy array (.npy; NAME=file.npy once per input of a model with several) (required)", func(s string) error {
			v.input = s
			v.inputs = append(v.inputs, s)
			return nil
		})
		fs.Func("output", "write the outputs as a NumPy array (.npy; NAME=file.npy once per output of a model with several) instead of printing them", func(s string) error {
			v.outputs = append(v.outputs, s)
			return nil
		})
		fs.IntVar(&v.batch, "batch", 0, "rows per forward pass (default 256)")
		fs.BoolVar(&v.json, "json", false, "print one JSON object per line")
	case "import":
		fs.StringVar(&v.out, "o", "", "the .nn file to write (default: the ONNX file's name with .nn); the weights go beside it as .safetensors")
	case "build":
		fs.StringVar(&v.out, "o", "", "the folder to write the package to (default: the package name)")
		fs.StringVar(&v.pkg, "package", "", "the Go package name (default: the -o folder's name when it is a Go identifier, else one from the file name)")
		fs.StringVar(&v.weights, "weights", "", "embed these safetensors weights, float or int8 (nnc quantize: the package runs the int8 kernels); default: PyTorch's initialisation from the seed")
		fs.BoolVar(&v.train, "train", false, "emit TrainStep, the training step, too (every build has Forward, Save and Load)")
		fs.BoolVar(&v.explainGo, "explain", false, "emit Explain too: the gradient of a chosen output of each row with respect to the row, what nnc explain computes attributions from")
		fs.IntVar(&v.batch, "batch", 0, "rows the buffers are sized for (default: the train block's batch, else 64)")
	case "bench":
		fs.StringVar(&v.backend, "backend", "interp", "the back end to time")
		fs.IntVar(&v.batch, "batch", 0, "rows per step (default: 1 for the forward pass, the train block's for --train)")
		fs.BoolVar(&v.train, "train", false, "time one training step instead of the forward pass")
		fs.BoolVar(&v.json, "json", false, "print one JSON object")
		fs.IntVar(&v.threads, "threads", 0, "threads a large matrix product may use (default: $NNC_THREADS, else 1)")
		fs.StringVar(&v.cpuprof, "cpuprofile", "", "write a CPU profile of the timed steps to this file (interp backend), for go tool pprof")
		fs.StringVar(&v.weights, "weights", "", "time the forward pass of this int8 checkpoint (nnc quantize) with the int8 kernels")
	case "sample":
		sampleFlags(fs, v)
	case "export":
		exportFlags(fs, v)
	case "serve":
		serveFlags(fs, v)
	case "explain":
		explainFlags(fs, v)
	case "fmt":
		fs.BoolVar(&v.list, "l", false, "list the files whose formatting differs, do not rewrite them")
		fs.BoolVar(&v.diff, "d", false, "print the diffs, do not rewrite the files")
	}
	return fs
}

// parse parses flags anywhere among the arguments, as `nnc run FILE
// --epochs 3` is written, and returns the positional arguments. ok is false
// when the command should exit with code.
func (e *cmdEnv) parse(args []string, v *flagVals) (pos []string, code int, ok bool) {
	fs := e.cmd.flags(v)
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				commandHelp(e.stdout, e.cmd)
				return nil, exitOK, false
			}
			fmt.Fprintf(e.stderr, "nnc %s: %v\nusage: %s\n", e.cmd.name, err, e.cmd.usage)
			return nil, exitModel, false
		}
		args = fs.Args()
		if len(args) == 0 {
			if err := givenCounts(fs); err != nil {
				fmt.Fprintf(e.stderr, "nnc %s: %v\n", e.cmd.name, err)
				return nil, exitModel, false
			}
			return pos, exitOK, true
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// givenCounts rejects a --batch or --lr that was given but is not positive.
// Their flags default to 0, which means "the train block's" (or the
// command's default), so the check has to ask whether the flag was given:
// an explicit --batch 0 or --lr 0 is a mistake, not a request for the
// default.
func givenCounts(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if err != nil {
			return
		}
		switch f.Name {
		case "batch":
			if n, _ := strconv.Atoi(f.Value.String()); n <= 0 {
				err = fmt.Errorf("--batch must be positive, got %s", f.Value)
			}
		case "lr":
			if x, _ := strconv.ParseFloat(f.Value.String(), 64); !(x > 0) || math.IsInf(x, 0) {
				err = fmt.Errorf("--lr must be a positive number, got %s", f.Value)
			}
		}
	})
	return err
}

// parseFile parses the flags of a command that takes one model file and
// returns the file; ok false means exit with code.
func (e *cmdEnv) parseFile(args []string, v *flagVals) (file string, code int, ok bool) {
	pos, code, ok := e.parse(args, v)
	if !ok {
		return "", code, false
	}
	if v.threads < 0 || v.threads > 64 {
		fmt.Fprintf(e.stderr, "nnc %s: --threads must be 1 to 64, got %d\n", e.cmd.name, v.threads)
		return "", exitModel, false
	}
	if v.threads > 0 {
		// This process's products, and those of the generated programs
		// --backend go runs, which read NNC_THREADS.
		kernels.SetThreads(v.threads)
		os.Setenv("NNC_THREADS", strconv.Itoa(v.threads))
	}
	if file, ok = e.oneFile(pos); !ok {
		return "", exitModel, false
	}
	return file, exitOK, true
}

// oneFile checks that exactly one file was given.
func (e *cmdEnv) oneFile(pos []string) (string, bool) {
	if len(pos) != 1 {
		fmt.Fprintf(e.stderr, "nnc %s: want one model file, got %d\nusage: %s\n", e.cmd.name, len(pos), e.cmd.usage)
		return "", false
	}
	return pos[0], true
}

// compile reads and compiles a model file, reporting errors and warnings on
// stderr; ok false means exit with code.
func (e *cmdEnv) compile(file string, opt nnc.Options) (p *ir.Program, code int, ok bool) {
	src, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc: %v\n", err)
		return nil, exitRuntime, false
	}
	p, err = nnc.Compile(file, src, opt)
	if err != nil {
		return nil, e.report(err), false
	}
	for _, w := range p.Warnings {
		fmt.Fprintln(e.stderr, w)
	}
	return p, exitOK, true
}

// report prints a compile error and returns the exit status it calls for.
func (e *cmdEnv) report(err error) int {
	var list *diag.ErrorList
	var usage *build.UsageError
	switch {
	case errors.As(err, &list):
		fmt.Fprintln(e.stderr, list.Error())
		return exitModel
	case errors.As(err, &usage):
		fmt.Fprintf(e.stderr, "nnc %s: %s\n", e.cmd.name, usage.Msg)
		return exitModel
	}
	fmt.Fprintf(e.stderr, "nnc %s: %v\n", e.cmd.name, err)
	return exitRuntime
}
