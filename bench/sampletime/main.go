// Command sampletime times nnc sample per generated character, with and
// without the KV cache (ir.Program.Step), in the interpreter and in the
// generated Go, for both window policies (--window slide and shift),
// alternating the eight ROUNDS times, and prints the median of each as
// `NAME µs` lines for bench/sample_compare.py. Only the generation
// loop is timed: not compiling, loading the weights or building the Go.
//
// Usage: go run ./bench/sampletime -file M.nn -weights CKPT [-tokens 200,15] [-rounds 5] [-seed 0]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/native"
	"github.com/nnc-go/nnc/train"
)

func main() {
	file := flag.String("file", "", "the model file")
	weights := flag.String("weights", "", "its checkpoint, which records the vocabulary")
	tokens := flag.String("tokens", "200,15", "the lengths to generate, comma-separated")
	rounds := flag.Int("rounds", 5, "alternating rounds")
	seed := flag.Uint64("seed", 0, "the sampling seed")
	flag.Parse()
	if err := run(*file, *weights, *tokens, *rounds, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "sampletime:", err)
		os.Exit(1)
	}
}

func run(file, weights, tokens string, rounds int, seed uint64) error {
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	p, err := nnc.Compile(file, src, nnc.Options{})
	if err != nil {
		return err
	}
	if p.Step == nil {
		fmt.Fprintln(os.Stderr, "sampletime: the model has no step graph: both rows run the whole forward pass")
	}
	prog, err := native.SampleProgram(p, src)
	if err != nil {
		return err
	}
	exe, err := native.Build(prog)
	if err != nil {
		return err
	}
	var lengths []int
	for _, s := range strings.Split(tokens, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("bad -tokens %q", tokens)
		}
		lengths = append(lengths, n)
	}
	times := map[string][]float64{}
	var names []string
	for range rounds {
		for _, n := range lengths {
			for _, window := range []string{train.WindowSlide, train.WindowShift} {
				for _, cache := range []bool{true, false} {
					mode := "cache"
					if !cache {
						mode = "nocache"
					}
					opt := train.SampleOptions{Weights: weights, Tokens: n, Temperature: 1, Seed: seed, Window: window, NoCache: !cache, Out: io.Discard}
					var d time.Duration
					opt.Elapsed = &d
					if err := train.Sample(p, opt); err != nil {
						return err
					}
					record(times, &names, fmt.Sprintf("interp_%s_%s_%d_us_per_char", window, mode, n), d.Seconds()*1e6/float64(n))
					ns, err := goTime(exe, file, weights, n, seed, window, !cache)
					if err != nil {
						return err
					}
					record(times, &names, fmt.Sprintf("go_%s_%s_%d_us_per_char", window, mode, n), ns/1e3)
				}
			}
		}
	}
	for _, k := range names {
		v := times[k]
		slices.Sort(v)
		fmt.Printf("%s %.2f\n", k, v[len(v)/2])
	}
	return nil
}

func record(times map[string][]float64, names *[]string, k string, v float64) {
	if _, ok := times[k]; !ok {
		*names = append(*names, k)
	}
	times[k] = append(times[k], v)
}

// goTime runs the generated sampler with -time and returns its
// nanoseconds per character.
func goTime(exe, file, weights string, n int, seed uint64, window string, noCache bool) (float64, error) {
	cmd := exec.Command(exe, "-file", file, "-weights", weights, "-tokens", strconv.Itoa(n), "-seed", strconv.FormatUint(seed, 10),
		"-window", window, "-no-cache="+strconv.FormatBool(noCache), "-time")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%v: %s", err, stderr.String())
	}
	f := strings.Fields(stderr.String())
	if len(f) != 2 || f[0] != "ns_per_char" {
		return 0, fmt.Errorf("the generated sampler printed %q", stderr.String())
	}
	return strconv.ParseFloat(f[1], 64)
}
