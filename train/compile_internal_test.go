package train

import (
	"github.com/nnc-go/nnc/build"
	"github.com/nnc-go/nnc/dsl"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/passes"
)

// compile is nnc.Compile for this package's internal tests, which cannot
// import package nnc (it imports this one).
func compile(name string, src []byte) (*ir.Program, error) {
	f, err := dsl.Parse(name, src)
	if err != nil {
		return nil, err
	}
	p, err := build.Build(f, build.Options{})
	if err != nil {
		return nil, err
	}
	for _, g := range []*ir.Graph{p.Forward, p.TrainGraph, p.EvalGraph} {
		if g == nil {
			continue
		}
		if err := passes.Run(g, passes.Options{}); err != nil {
			return nil, err
		}
	}
	return p, nil
}
