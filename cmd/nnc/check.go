package main

import "github.com/nnc-go/nnc"

var checkCmd = &command{
	name:    "check",
	usage:   "nnc check [--model M] [--set p=v] FILE...",
	summary: "parse a model file, resolve its names and infer every shape; print nothing when it is valid",
	run:     runCheck,
}

func runCheck(e *cmdEnv, args []string) int {
	var v flagVals
	files, code, ok := e.parse(args, &v)
	if !ok {
		return code
	}
	if len(files) == 0 {
		e.oneFile(files)
		return exitModel
	}
	worst := exitOK
	for _, f := range files {
		if _, code, ok := e.compile(f, nnc.Options{Options: irOptions(&v), After: "none"}); !ok {
			worst = max(worst, code)
		}
	}
	return worst
}
