package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/nnc-go/nnc/kernels"
)

var versionCmd = &command{
	name:    "version",
	usage:   "nnc version",
	summary: "print nnc's module version, the Go release and platform it was built for, and the kernels this CPU runs",
	run:     runVersion,
}

func runVersion(e *cmdEnv, args []string) int {
	var v flagVals
	pos, code, ok := e.parse(args, &v)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(e.stderr, "nnc version: takes no arguments, got %q\nusage: %s\n", pos[0], e.cmd.usage)
		return exitModel
	}
	fmt.Fprintf(e.stdout, "nnc version %s, %s %s/%s, kernels %s\n", moduleVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH, kernels.Path())
	return exitOK
}

// moduleVersion is the version of the nnc module this binary was built
// from: v1.2.3 when installed with `go install ...@v1.2.3`, a
// pseudo-version or "(devel)" when built from a clone.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path == "github.com/nnc-go/nnc" && bi.Main.Version != "" {
			return bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/nnc-go/nnc" && d.Version != "" {
				return d.Version // nnc built into another module's binary
			}
		}
	}
	return "(devel)"
}
