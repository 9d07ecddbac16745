package main

import (
	"fmt"

	"github.com/nnc-go/nnc/native"
)

var cleanCmd = &command{
	name:    "clean",
	usage:   "nnc clean",
	summary: "remove the programs --backend go compiled and cached, and say how much that freed",
	run:     runClean,
}

func runClean(e *cmdEnv, args []string) int {
	var v flagVals
	pos, code, ok := e.parse(args, &v)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(e.stderr, "nnc clean: takes no arguments, got %q\nusage: %s\n", pos[0], e.cmd.usage)
		return exitModel
	}
	dir, programs, freed, err := native.Clean()
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc clean: %v\n", err)
		return exitRuntime
	}
	s := "s"
	if programs == 1 {
		s = ""
	}
	fmt.Fprintf(e.stdout, "removed %d program%s from %s: %s freed\n", programs, s, dir, native.FormatSize(freed))
	return exitOK
}
