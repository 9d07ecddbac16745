// Package nnc compiles neural-network models written in the nnc language
// into typed static graphs, and is the façade library users import.
//
// The pipeline, one verb per stage:
//
//	src ──dsl.Parse──► AST ──build.Build──► ir.Program (graphs, shapes checked)
//	    ──passes.Run──► optimized graphs
//
// Compile runs it all; each stage is usable on its own from its package.
package nnc

import (
	"github.com/nnc-go/nnc/build"
	"github.com/nnc-go/nnc/dsl"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/passes"
)

// Options configure Compile.
type Options struct {
	build.Options
	// After stops the pass pipeline after the named pass; "" runs it all
	// and "none" runs none.
	After string
	// Verify checks the graph's invariants after every pass.
	Verify bool
	// Batch, when > 0, is the largest batch the graphs are planned for,
	// instead of the train block's (1 for a forward pass without one).
	Batch int
	// ForwardOnly runs the passes over the forward graph alone, leaving
	// the training and evaluation graphs as built.
	ForwardOnly bool
	// LR and TrainBatch, when not 0, replace the train block's learning
	// rate and batch (nnc run --lr, --batch).
	LR         float64
	TrainBatch int
	// Noise, when > 0, replaces the noise multiplier of the train block's
	// privacy = dp(...) (nnc run --target-epsilon).
	Noise float64
}

// Compile parses src (the contents of filename), builds the program for
// the selected model and runs the passes over its graphs. Errors in the
// model file are a *diag.ErrorList; bad options a *build.UsageError.
func Compile(filename string, src []byte, opt Options) (*ir.Program, error) {
	var p *ir.Program
	if IsONNX(filename) {
		var err error
		if p, err = importONNX(filename, src, opt.Options); err != nil {
			return nil, err
		}
	} else {
		f, err := dsl.Parse(filename, src)
		if err != nil {
			return nil, err
		}
		if p, err = build.Build(f, opt.Options); err != nil {
			return nil, err
		}
	}
	if opt.LR != 0 || opt.TrainBatch != 0 {
		if err := build.OverrideTraining(p, opt.LR, opt.TrainBatch); err != nil {
			return nil, err
		}
	}
	if opt.Noise > 0 {
		if err := build.OverrideNoise(p, opt.Noise); err != nil {
			return nil, err
		}
	}
	if opt.After == "none" {
		return p, nil
	}
	graphs := []*ir.Graph{p.Forward, p.TrainGraph, p.EvalGraph}
	if opt.ForwardOnly {
		graphs = graphs[:1]
	}
	for _, g := range graphs {
		if g == nil {
			continue
		}
		if opt.Batch > 0 {
			g.Attrs = g.Attrs.Set("batch", opt.Batch)
		}
		if err := passes.Run(g, passes.Options{After: opt.After, Verify: opt.Verify}); err != nil {
			return nil, err
		}
	}
	if opt.After == "" && p.Forward != nil {
		// A model the step graph cannot be derived (or planned) for
		// samples with the whole forward pass: the error only says why.
		if step, err := passes.KVStep(p.Forward); err == nil && passes.Run(step, passes.Options{Verify: opt.Verify}) == nil {
			p.Step = step
		}
	}
	return p, nil
}
