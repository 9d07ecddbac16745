package train_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/native"
	"github.com/nnc-go/nnc/train"
)

// TestSampleBackendsAgree trains examples/chars.nn, then samples from it
// with the interpreter and with the generated Go code: the same characters
// for every setting, and the same again for the same seed.
func TestSampleBackendsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	const file = "../examples/chars.nn"
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := nnc.Compile(file, src, nnc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(t.TempDir(), "chars.safetensors")
	if _, err := train.Run(p, train.Options{Source: src, Save: ckpt, Quiet: true, Out: new(strings.Builder)}); err != nil {
		testenv.NoInternal(t, err)
		t.Fatal(err)
	}
	exe, err := nativeSampler(p, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []train.SampleOptions{
		{Tokens: 150, Temperature: 1, Seed: 0},
		{Tokens: 150, Temperature: 1, Seed: 42},
		{Prompt: "the rat sat on the", Tokens: 60, Temperature: 0.7, TopK: 3, Seed: 5},
		{Prompt: "a", Tokens: 40, Temperature: 0},
	} {
		opt.Weights = ckpt
		var a, b strings.Builder
		opt.Out = &a
		if err := train.Sample(p, opt); err != nil {
			t.Fatal(err)
		}
		opt.Out = &b
		if err := train.Sample(p, opt); err != nil {
			t.Fatal(err)
		}
		text := strings.TrimSuffix(a.String(), "\n")
		if !strings.HasPrefix(text, opt.Prompt) || utf8.RuneCountInString(text) != utf8.RuneCountInString(opt.Prompt)+opt.Tokens {
			t.Errorf("%+v: printed %q, want the prompt and %d characters", opt, a.String(), opt.Tokens)
		}
		if a.String() != b.String() {
			t.Errorf("%+v: two runs printed\n%q\n%q", opt, a.String(), b.String())
		}
		out, err := exec.Command(exe, "-file", file, "-weights", ckpt, "-prompt", opt.Prompt, "-tokens", strconv.Itoa(opt.Tokens),
			"-temperature", strconv.FormatFloat(opt.Temperature, 'g', -1, 64), "-top-k", strconv.Itoa(opt.TopK),
			"-seed", strconv.FormatUint(opt.Seed, 10)).CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if string(out) != a.String() {
			t.Errorf("%+v:\ngenerated code: %q\ninterpreter:    %q", opt, out, a.String())
		}
	}
}

func nativeSampler(p *ir.Program, src []byte) (string, error) {
	prog, err := native.SampleProgram(p, src)
	if err != nil {
		return "", err
	}
	return native.Build(prog)
}
