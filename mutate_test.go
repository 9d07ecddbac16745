package nnc_test

import (
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/build"
	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/internal/testenv"
)

// TestMutants compiles thousands of random mutations of the example and
// parity models (bytes flipped, inserted, deleted, lines duplicated, the
// file truncated) through every pass: each must compile or fail with
// positioned diagnostics, never with a panic or an internal error.
func TestMutants(t *testing.T) {
	var seeds [][]byte
	for _, pat := range []struct {
		glob string
		min  int
	}{{"examples/*.nn", 4}, {"examples/*/*.nn", 1}, {"testdata/parity/*/model.nn", 13}} {
		for _, f := range testenv.Glob(t, pat.glob, pat.min) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			seeds = append(seeds, b)
		}
	}
	rng := rand.New(rand.NewPCG(7, 7))
	tokens := []string{"(", ")", "{", "}", "[", "]", ",", "=", "-", "*", "/", "@", "0", "-1", "1e9", "N", "x", "h", "relu(", "Linear(", "model", "forward", "return", "train", "\n", "\"", "//", "\x00", "é"}
	const mutants = 1500
	compiled := 0
	for i := 0; i < mutants; i++ {
		src := []byte(string(seeds[rng.IntN(len(seeds))]))
		for k := 0; k <= rng.IntN(4); k++ {
			p := rng.IntN(len(src) + 1)
			switch rng.IntN(5) {
			case 0:
				if p < len(src) {
					src[p] ^= byte(1 << rng.IntN(8))
				}
			case 1:
				src = append(src[:p:p], append([]byte(tokens[rng.IntN(len(tokens))]), src[p:]...)...)
			case 2:
				if end := min(len(src), p+1+rng.IntN(8)); p < end {
					src = append(src[:p:p], src[end:]...)
				}
			case 3:
				src = src[:p]
			case 4:
				lines := strings.Split(string(src), "\n")
				j := rng.IntN(len(lines))
				lines = append(lines[:j+1], lines[j:]...)
				src = []byte(strings.Join(lines, "\n"))
			}
		}
		p, err := nnc.Compile("m.nn", src, nnc.Options{Verify: true})
		var list *diag.ErrorList
		var usage *build.UsageError
		switch {
		case err == nil:
			compiled++
			if p.Forward == nil {
				t.Fatalf("mutant compiled without a forward graph:\n%s", src)
			}
		case errors.As(err, &list):
			for _, d := range list.Diags {
				if !d.Pos.IsValid() || strings.Contains(d.Msg, "internal error") {
					t.Fatalf("diagnostic without a position or internal: %v\n%s", d, src)
				}
			}
		case errors.As(err, &usage):
		default:
			t.Fatalf("mutant failed with %T: %v\n--- source ---\n%s", err, err, src)
		}
	}
	t.Logf("%d mutants, %d compiled, the rest refused with positioned errors", mutants, compiled)
	// Seeded, so the count is fixed (121): enough mutants must get
	// through the parser and the checks for the passes to see them.
	if compiled < mutants/20 {
		t.Errorf("%d of %d mutants compiled: the passes saw too few", compiled, mutants)
	}
}
