package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/nnc-go/nnc/dsl"
	"github.com/nnc-go/nnc/internal/atomicfile"
	"github.com/nnc-go/nnc/internal/textdiff"
)

var fmtCmd = &command{
	name:    "fmt",
	usage:   "nnc fmt [-l] [-d] FILE...",
	summary: "rewrite model files in place in canonical layout, comments kept (like go fmt)",
	run:     runFmt,
}

func runFmt(e *cmdEnv, args []string) int {
	var v flagVals
	files, code, ok := e.parse(args, &v)
	if !ok {
		return code
	}
	if len(files) == 0 {
		fmt.Fprintf(e.stderr, "nnc fmt: no files\nusage: %s\n", e.cmd.usage)
		return exitModel
	}
	worst := exitOK
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(e.stderr, "nnc: %v\n", err)
			worst = max(worst, exitRuntime)
			continue
		}
		f, err := dsl.Parse(file, src)
		if err != nil {
			worst = max(worst, e.report(err))
			continue
		}
		out := dsl.Format(f)
		if bytes.Equal(src, out) {
			continue
		}
		if v.list {
			fmt.Fprintln(e.stdout, file)
		}
		if v.diff {
			fmt.Fprint(e.stdout, textdiff.Unified(file+".orig", file, string(src), string(out)))
		}
		if v.list || v.diff {
			continue
		}
		if err := atomicfile.Write(file, out); err != nil {
			fmt.Fprintf(e.stderr, "nnc fmt: %v\n", err)
			worst = max(worst, exitRuntime)
		}
	}
	return worst
}
