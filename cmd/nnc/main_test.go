package main

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nnc-go/nnc/internal/testenv"
)

// TestMain makes the test binary double as nnc for the scripts, plus
// nnc-exits, which runs nnc and checks its exit status exactly:
// `exec nnc-exits 2 check bad.nn` passes only when nnc exits with 2, and
// nnc-stopafter, which runs nnc interrupting interp training after a
// number of steps, as Ctrl-C would, and checks for status 130:
// `exec nnc-stopafter 3 run m.nn`.
func TestMain(m *testing.M) {
	os.Exit(testscript.RunMain(m, map[string]func() int{
		"nnc": func() int { return Main(os.Args[1:], os.Stdout, os.Stderr) },
		"nnc-exits": func() int {
			if len(os.Args) < 2 {
				fmt.Fprintln(os.Stderr, "usage: nnc-exits STATUS ARGS...")
				return 100
			}
			want, err := strconv.Atoi(os.Args[1])
			if err != nil {
				fmt.Fprintln(os.Stderr, "nnc-exits: bad status", os.Args[1])
				return 100
			}
			if got := Main(os.Args[2:], os.Stdout, os.Stderr); got != want {
				fmt.Fprintf(os.Stderr, "nnc-exits: nnc exited with %d, want %d\n", got, want)
				return 100
			}
			return 0
		},
		"nnc-stopafter": func() int {
			n, err := 0, error(nil)
			if len(os.Args) >= 2 {
				n, err = strconv.Atoi(os.Args[1])
			}
			if len(os.Args) < 2 || err != nil || n <= 0 {
				fmt.Fprintln(os.Stderr, "usage: nnc-stopafter STEPS ARGS...")
				return 100
			}
			stopAfter = n
			if got := Main(os.Args[2:], os.Stdout, os.Stderr); got != exitInterrupted {
				fmt.Fprintf(os.Stderr, "nnc-stopafter: nnc exited with %d, want %d\n", got, exitInterrupted)
				return 100
			}
			return 0
		},
	}))
}

// TestScript runs the CLI scripts in testdata/script; NNC_UPDATE=1 rewrites
// their cmp'd files.
func TestScript(t *testing.T) {
	testenv.Glob(t, "testdata/script/*.txtar", 11) // testscript fails on none only
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: os.Getenv("NNC_UPDATE") != "",
		Setup: func(env *testscript.Env) error {
			// Scripts may refer to the repository's examples.
			env.Setenv("EXAMPLES", mustAbs("../../examples"))
			env.Setenv("TESTDATA", mustAbs("../../testdata"))
			return nil
		},
	})
}

func mustAbs(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return wd + "/" + p
}
