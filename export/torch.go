// Package export writes an nnc model in another framework's terms: a
// standalone PyTorch script (Torch) whose module's state_dict keys are
// nnc's parameter names and whose train() reproduces the train block, so
// that a model outgrowing one machine trains under torchrun with
// DistributedDataParallel and comes back to nnc as a safetensors
// checkpoint.
package export

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nnc-go/nnc/build"
	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/dsl"
	"github.com/nnc-go/nnc/ir"
)

// Options say what to export.
type Options struct {
	// File is the model file's path, Source its contents and AST their
	// parse; Program is the compiled entry model (its train block, hyper-
	// parameters after overrides, forward input types).
	File    string
	Source  []byte
	AST     *dsl.File
	Program *ir.Program
	// Out is the script's path: side files are named after it.
	Out string
	// Weights, when set, is the checkpoint the script starts from (its
	// path as the script will see it).
	Weights string
}

// Result is what Torch writes: the script and, beside it, the files it
// reads (the data of random() sources, drawn by nnc's generator).
type Result struct {
	Script []byte
	Files  map[string][]byte // path → contents
}

// Error is a model that cannot be exported, with the reason.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func errorf(format string, a ...any) error { return &Error{fmt.Sprintf(format, a...)} }

// Torch translates the model to a PyTorch script.
func Torch(opt Options) (*Result, error) {
	p := opt.Program
	if p.Train == nil {
		return nil, errorf("model %s has no train block: the PyTorch script reproduces one", p.Model)
	}
	models := map[string]*dsl.Model{}
	for _, m := range opt.AST.Models() {
		models[m.Name.Name] = m
	}
	entry, ok := models[p.Model]
	if !ok {
		return nil, errorf("model %s is not declared in %s", p.Model, opt.File)
	}
	e := &emitter{models: models, res: &Result{Files: map[string][]byte{}}}
	var order []*dsl.Model
	seen := map[string]bool{}
	var visit func(m *dsl.Model) error
	visit = func(m *dsl.Model) error {
		if seen[m.Name.Name] {
			return nil
		}
		seen[m.Name.Name] = true
		for _, it := range m.Items {
			if a, ok := it.(*dsl.Assign); ok {
				if c, ok := a.Value.(*dsl.Call); ok {
					if sub, ok := models[c.Fun.Name]; ok {
						if err := visit(sub); err != nil {
							return err
						}
					}
				}
			}
		}
		order = append(order, m)
		return nil
	}
	if err := visit(entry); err != nil {
		return nil, err
	}
	e.header(opt)
	for _, m := range order {
		if err := e.class(m); err != nil {
			return nil, err
		}
	}
	if err := e.config(opt, entry); err != nil {
		return nil, err
	}
	e.buf.WriteString(runtime)
	e.res.Script = e.buf.Bytes()
	return e.res, nil
}

// runtime is the part of every script that does not depend on the model.
//
//go:embed runtime.py
var runtime string

type emitter struct {
	buf    bytes.Buffer
	models map[string]*dsl.Model
	res    *Result
}

func (e *emitter) printf(format string, a ...any) { fmt.Fprintf(&e.buf, format, a...) }

func (e *emitter) header(opt Options) {
	sum := sha256.Sum256(opt.Source)
	name := filepath.Base(opt.File)
	e.printf(`#!/usr/bin/env python3
# %s: the PyTorch twin of %s's model %s, written by nnc export.
#
#   python %s
#       trains as nnc run does, then saves the checkpoint
#   torchrun --nproc_per_node=K %s
#       the same with DistributedDataParallel on K processes (gloo backend)
#   python %s --help
#       the options
#
# The module's state_dict keys are nnc's parameter names, so the checkpoint it
# writes (safetensors) loads in nnc build/eval/predict --weights as it is.
"""PyTorch twin of the nnc model %s (%s)."""

import argparse
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

SOURCE = %s
SOURCE_SHA256 = %q
MODEL = %q

`, filepath.Base(opt.Out), name, opt.Program.Model, filepath.Base(opt.Out), filepath.Base(opt.Out), filepath.Base(opt.Out),
		opt.Program.Model, name, pyString(name), hex.EncodeToString(sum[:]), opt.Program.Model)
}

// torchLayer is how a built-in layer reads in PyTorch: its class and the
// keyword of each of its arguments.
type torchLayer struct {
	class string
	kw    map[string]string
}

var torchLayers = map[string]torchLayer{
	"Linear":      {"nn.Linear", map[string]string{"in": "in_features", "out": "out_features", "bias": "bias"}},
	"Conv2d":      {"nn.Conv2d", map[string]string{"in": "in_channels", "out": "out_channels", "kernel": "kernel_size", "stride": "stride", "padding": "padding", "bias": "bias"}},
	"MaxPool2d":   {"nn.MaxPool2d", map[string]string{"kernel": "kernel_size", "stride": "stride"}},
	"Dropout":     {"Dropout", map[string]string{"p": "p"}},
	"BatchNorm1d": {"nn.BatchNorm1d", map[string]string{"features": "num_features", "eps": "eps", "momentum": "momentum"}},
	"BatchNorm2d": {"nn.BatchNorm2d", map[string]string{"channels": "num_features", "eps": "eps", "momentum": "momentum"}},
	"Embedding":   {"nn.Embedding", map[string]string{"num_embeddings": "num_embeddings", "embedding_dim": "embedding_dim"}},
	"LayerNorm":   {"nn.LayerNorm", map[string]string{"normalized_shape": "normalized_shape", "eps": "eps"}},
}

// scope is what the names of an expression are.
type scope struct {
	m       *dsl.Model
	hparams map[string]bool
	layers  map[string]bool
	inInit  bool            // in __init__: hyper-parameters are plain names
	dims    map[string]bool // forward: symbolic dimensions bound from the inputs
	vars    map[string]bool // forward: tensors
}

func (s *scope) hp(name string) string {
	if s.inInit {
		return name
	}
	return "self." + name
}

func (e *emitter) class(m *dsl.Model) error {
	s := &scope{m: m, hparams: map[string]bool{}, layers: map[string]bool{}}
	var params []string
	for _, hp := range m.Params {
		s.hparams[hp.Name.Name] = true
	}
	s.inInit = true
	for _, hp := range m.Params {
		v, err := e.constExpr(hp.Value, s)
		if err != nil {
			return err
		}
		params = append(params, hp.Name.Name+"="+v)
	}
	e.printf("\n\nclass %s(nn.Module):\n", m.Name.Name)
	e.printf("    def __init__(self%s):\n", prefixJoin(", ", params))
	e.printf("        super().__init__()\n")
	for _, hp := range m.Params {
		e.printf("        self.%s = %s\n", hp.Name.Name, hp.Name.Name)
	}
	var fwd *dsl.Forward
	for _, it := range m.Items {
		switch it := it.(type) {
		case *dsl.Assign:
			call, ok := it.Value.(*dsl.Call)
			if !ok {
				return errorf("%s: layer %s is not a constructor call", it.Name.Pos, it.Name.Name)
			}
			ctor, err := e.layer(call, s)
			if err != nil {
				return err
			}
			s.layers[it.Name.Name] = true
			e.printf("        self.%s = %s\n", it.Name.Name, ctor)
		case *dsl.Forward:
			fwd = it
		}
	}
	if fwd == nil {
		return errorf("model %s has no forward", m.Name.Name)
	}
	s.inInit = false
	s.dims, s.vars = map[string]bool{}, map[string]bool{}
	var ins []string
	for _, in := range fwd.Inputs {
		ins = append(ins, in.Name.Name)
		s.vars[in.Name.Name] = true
	}
	e.printf("\n    def forward(self%s):\n", prefixJoin(", ", ins))
	for _, in := range fwd.Inputs {
		for j, d := range in.Dims {
			id, ok := d.(*dsl.Ident)
			if !ok || s.hparams[id.Name] || s.dims[id.Name] || !uses(fwd.Body, id.Name) {
				continue
			}
			s.dims[id.Name] = true
			e.printf("        %s = %s.shape[%d]\n", id.Name, in.Name.Name, j)
		}
	}
	for _, st := range fwd.Body {
		switch st := st.(type) {
		case *dsl.Assign:
			v, err := e.expr(st.Value, s, true)
			if err != nil {
				return err
			}
			e.printf("        %s = %s\n", st.Name.Name, v)
			s.vars[st.Name.Name] = true
		case *dsl.Return:
			v, err := e.expr(st.Value, s, true)
			if err != nil {
				return err
			}
			e.printf("        return %s\n", v)
		}
	}
	return nil
}

// layer translates a layer declaration's constructor call.
func (e *emitter) layer(c *dsl.Call, s *scope) (string, error) {
	kind := c.Fun.Name
	if sub, ok := e.models[kind]; ok {
		var args []string
		for i, a := range c.Args {
			v, err := e.constExpr(a.Value, s)
			if err != nil {
				return "", err
			}
			switch {
			case a.Key != nil:
				args = append(args, a.Key.Name+"="+v)
			case i < len(sub.Params):
				args = append(args, sub.Params[i].Name.Name+"="+v)
			default:
				return "", errorf("%s: %s takes %d arguments", c.Fun.Pos, kind, len(sub.Params))
			}
		}
		return kind + "(" + strings.Join(args, ", ") + ")", nil
	}
	tl, ok := torchLayers[kind]
	if !ok {
		return "", errorf("%s: layer %s has no PyTorch translation in nnc export yet", c.Fun.Pos, kind)
	}
	names, aliases, _ := build.ArgNames(kind)
	var args []string
	for i, a := range c.Args {
		name := ""
		if a.Key != nil {
			name = a.Key.Name
			if canon, ok := aliases[name]; ok {
				name = canon
			}
		} else if i < len(names) {
			name = names[i]
		}
		kw, ok := tl.kw[name]
		if !ok {
			return "", errorf("%s: %s's argument %q has no PyTorch translation", c.Fun.Pos, kind, name)
		}
		v, err := e.constExpr(a.Value, s)
		if err != nil {
			return "", err
		}
		args = append(args, kw+"="+v)
	}
	return tl.class + "(" + strings.Join(args, ", ") + ")", nil
}

// uses reports whether a statement of body mentions name.
func uses(body []dsl.Stmt, name string) bool {
	var in func(x dsl.Expr) bool
	in = func(x dsl.Expr) bool {
		switch x := x.(type) {
		case *dsl.Ident:
			return x.Name == name
		case *dsl.Unary:
			return in(x.X)
		case *dsl.Binary:
			return in(x.X) || in(x.Y)
		case *dsl.Call:
			for _, a := range x.Args {
				if in(a.Value) {
					return true
				}
			}
		}
		return false
	}
	for _, st := range body {
		switch st := st.(type) {
		case *dsl.Assign:
			if in(st.Value) {
				return true
			}
		case *dsl.Return:
			if in(st.Value) {
				return true
			}
		}
	}
	return false
}

// isConst reports whether x is a compile-time number: literals,
// hyper-parameters and symbolic dimensions, combined by arithmetic.
func isConst(x dsl.Expr, s *scope) bool {
	switch x := x.(type) {
	case *dsl.Number:
		return true
	case *dsl.Ident:
		return s.hparams[x.Name] || s.dims[x.Name]
	case *dsl.Unary:
		return isConst(x.X, s)
	case *dsl.Binary:
		return x.Op != "@" && isConst(x.X, s) && isConst(x.Y, s)
	}
	return false
}

// constExpr translates a compile-time number: an integer division that
// the language keeps integral when exact goes through _div.
func (e *emitter) constExpr(x dsl.Expr, s *scope) (string, error) {
	switch x := x.(type) {
	case *dsl.Number:
		return x.Text, nil
	case *dsl.String:
		return pyString(x.Value), nil
	case *dsl.Ident:
		switch {
		case x.Name == "true":
			return "True", nil
		case x.Name == "false":
			return "False", nil
		case s.hparams[x.Name]:
			return s.hp(x.Name), nil
		case s.dims[x.Name]:
			return x.Name, nil
		}
		return "", errorf("%s: %s is not a constant", x.Pos, x.Name)
	case *dsl.Unary:
		v, err := e.constExpr(x.X, s)
		if _, ok := x.X.(*dsl.Binary); ok {
			v = "(" + v + ")"
		}
		return "-" + v, err
	case *dsl.Binary:
		a, err := e.constExpr(x.X, s)
		if err != nil {
			return "", err
		}
		b, err := e.constExpr(x.Y, s)
		if err != nil {
			return "", err
		}
		if x.Op == "/" {
			return "_div(" + a + ", " + b + ")", nil
		}
		if bx, ok := x.X.(*dsl.Binary); ok && bx.Op != "/" && dsl.Precedence(bx.Op) < dsl.Precedence(x.Op) {
			a = "(" + a + ")"
		}
		if by, ok := x.Y.(*dsl.Binary); ok && by.Op != "/" && dsl.Precedence(by.Op) <= dsl.Precedence(x.Op) {
			b = "(" + b + ")"
		}
		return a + " " + x.Op + " " + b, nil
	}
	return "", errorf("%s: not a constant", x.Start())
}

// expr translates a forward expression; top says it is a statement's
// whole right-hand side (no parentheses needed).
func (e *emitter) expr(x dsl.Expr, s *scope, top bool) (string, error) {
	if isConst(x, s) {
		return e.constExpr(x, s)
	}
	switch x := x.(type) {
	case *dsl.String:
		return pyString(x.Value), nil
	case *dsl.Ident:
		switch {
		case s.vars[x.Name]:
			return x.Name, nil
		case x.Name == "true":
			return "True", nil
		case x.Name == "false":
			return "False", nil
		}
		return "", errorf("%s: %s has no PyTorch translation", x.Pos, x.Name)
	case *dsl.Selector:
		return "self." + x.Name(), nil
	case *dsl.Unary:
		v, err := e.expr(x.X, s, false)
		return "(-" + v + ")", err
	case *dsl.Binary:
		a, err := e.expr(x.X, s, false)
		if err != nil {
			return "", err
		}
		b, err := e.expr(x.Y, s, false)
		if err != nil {
			return "", err
		}
		v := a + " " + x.Op + " " + b
		if !top {
			v = "(" + v + ")"
		}
		return v, nil
	case *dsl.Call:
		return e.call(x, s)
	}
	return "", errorf("%s: expression has no PyTorch translation", x.Start())
}

func (e *emitter) call(c *dsl.Call, s *scope) (string, error) {
	name := c.Fun.Name
	if s.layers[name] {
		var args []string
		for _, a := range c.Args {
			v, err := e.expr(a.Value, s, true)
			if err != nil {
				return "", err
			}
			args = append(args, v)
		}
		return "self." + name + "(" + strings.Join(args, ", ") + ")", nil
	}
	if len(c.Args) == 0 || c.Args[0].Key != nil {
		return "", errorf("%s: %s: the first argument must be a tensor, given by position", c.Fun.Pos, name)
	}
	x, err := e.expr(c.Args[0].Value, s, true)
	if err != nil {
		return "", err
	}
	rest := c.Args[1:]
	// positional translates the arguments after the first, in order.
	positional := func() ([]string, error) {
		var out []string
		for _, a := range rest {
			v, err := e.expr(a.Value, s, true)
			if err != nil {
				return nil, err
			}
			if a.Key != nil {
				v = a.Key.Name + "=" + v
			}
			out = append(out, v)
		}
		return out, nil
	}
	// bound returns the named arguments by the built-in's own names.
	bound := func() (map[string]string, error) {
		names, aliases, _ := build.ArgNames(name)
		out := map[string]string{}
		for i, a := range rest {
			v, err := e.expr(a.Value, s, true)
			if err != nil {
				return nil, err
			}
			key := ""
			switch {
			case a.Key != nil:
				key = a.Key.Name
				if canon, ok := aliases[key]; ok {
					key = canon
				}
			case i < len(names):
				key = names[i]
			default:
				return nil, errorf("%s: %s: too many arguments", c.Fun.Pos, name)
			}
			out[key] = v
		}
		return out, nil
	}
	withDim := func(fn string) (string, error) {
		a, err := bound()
		if err != nil {
			return "", err
		}
		d, ok := a["dim"]
		if !ok {
			d = "-1"
		}
		return fn + "(" + x + ", dim=" + d + ")", nil
	}
	switch name {
	case "relu":
		return "F.relu(" + x + ")", nil
	case "sigmoid":
		return "torch.sigmoid(" + x + ")", nil
	case "tanh":
		return "torch.tanh(" + x + ")", nil
	case "gelu":
		a, err := bound()
		if err != nil {
			return "", err
		}
		if ap, ok := a["approximate"]; ok {
			return "F.gelu(" + x + ", approximate=" + ap + ")", nil
		}
		return "F.gelu(" + x + ")", nil
	case "softmax":
		return withDim("F.softmax")
	case "log_softmax":
		return withDim("F.log_softmax")
	case "sum":
		return withDim("torch.sum")
	case "mean":
		return withDim("torch.mean")
	case "flatten":
		return "torch.flatten(" + x + ", 1)", nil
	case "reshape":
		dims, err := positional()
		if err != nil {
			return "", err
		}
		return x + ".reshape(" + strings.Join(dims, ", ") + ")", nil
	case "transpose":
		dims, err := positional()
		if err != nil {
			return "", err
		}
		return "torch.transpose(" + x + ", " + strings.Join(dims, ", ") + ")", nil
	case "matmul":
		args, err := positional()
		if err != nil {
			return "", err
		}
		return "torch.matmul(" + x + ", " + strings.Join(args, ", ") + ")", nil
	case "arange":
		return "torch.arange(" + x + ")", nil
	case "scaled_dot_product_attention":
		var args []string
		for i, a := range rest {
			v, err := e.expr(a.Value, s, true)
			if err != nil {
				return "", err
			}
			switch {
			case a.Key != nil:
				v = a.Key.Name + "=" + v
			case i == 2:
				v = "causal=" + v
			}
			args = append(args, v)
		}
		return "scaled_dot_product_attention(" + x + prefixJoin(", ", args) + ")", nil
	}
	return "", errorf("%s: built-in %s has no PyTorch translation in nnc export yet", c.Fun.Pos, name)
}

// config writes what the train block says, and the data the script
// cannot draw itself (random() uses nnc's generator).
func (e *emitter) config(opt Options, entry *dsl.Model) error {
	p := opt.Program
	t := p.Train
	var hps []string
	for _, hp := range p.HParams {
		if !slices.ContainsFunc(entry.Params, func(q *dsl.Param) bool { return q.Name.Name == hp.Name }) {
			continue
		}
		hps = append(hps, fmt.Sprintf("%s=%s", hp.Name, pyValue(hp.Value)))
	}
	e.printf("\n\ndef make_model():\n    return %s(%s)\n", p.Model, strings.Join(hps, ", "))

	inputs := p.Forward.Sources(ir.OpInput)
	if len(inputs) != 1 {
		return errorf("model %s has %d inputs; nnc export trains models of one input", p.Model, len(inputs))
	}
	in := inputs[0]
	var shape []string
	for _, d := range in.Type.Shape[1:] {
		shape = append(shape, strconv.Itoa(d))
	}
	dtype := map[ir.DType]string{ir.F32: "torch.float32", ir.F64: "torch.float64", ir.I64: "torch.int64", ir.I32: "torch.int32"}[in.Type.DType]
	if dtype == "" {
		return errorf("model %s's input is %s; nnc export handles f32, f64, i32 and i64 inputs", p.Model, in.Type.DType)
	}
	param := "torch.float32"
	if p.Forward.Outputs[0].Value.Type.DType == ir.F64 {
		param = "torch.float64"
	}
	tuple := strings.Join(shape, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	e.printf("\n\nINPUT_SHAPE = (%s)\nINPUT_DTYPE = %s\nPARAM_DTYPE = %s\n", tuple, dtype, param)
	e.printf("HYPERPARAMETERS = %s\n", pyString(hparamString(p)))

	opts := t.Optimizer
	optArgs := []string{"model.parameters()"}
	a := opts.Attrs
	get := func(k string) float64 { return a.Float(k, 0) }
	switch opts.Name {
	case "SGD":
		optArgs = append(optArgs, "lr="+pyFloat(get("lr")), "momentum="+pyFloat(get("momentum")),
			"weight_decay="+pyFloat(get("weight_decay")), "nesterov="+pyBool(a.Bool("nesterov")))
		if get("dampening") != 0 {
			optArgs = append(optArgs, "dampening="+pyFloat(get("dampening")))
		}
	case "Adam", "AdamW":
		optArgs = append(optArgs, "lr="+pyFloat(get("lr")), fmt.Sprintf("betas=(%s, %s)", pyFloat(get("beta1")), pyFloat(get("beta2"))),
			"eps="+pyFloat(get("eps")), "weight_decay="+pyFloat(get("weight_decay")))
		if a.Bool("amsgrad") {
			optArgs = append(optArgs, "amsgrad=True")
		}
	default:
		return errorf("optimizer %s has no PyTorch translation in nnc export yet", opts.Name)
	}
	e.printf("\n\ndef make_optimizer(model):\n    return torch.optim.%s(%s)\n", opts.Name, strings.Join(optArgs, ", "))

	e.printf("\n\nTRAIN = dict(\n    loss=%q,\n    epochs=%d,\n    batch=%d,\n    shuffle=%s,\n    seed=%d,\n    clip_grad_norm=%s,\n)\n",
		t.Loss.String(), t.Epochs, t.Batch, pyBool(t.Shuffle), t.Seed, pyFloat(t.ClipGradNorm))

	dir := filepath.Dir(opt.File)
	stem := strings.TrimSuffix(opt.Out, filepath.Ext(opt.Out))
	dataFile := stem + ".data.safetensors"
	var tensors []*checkpoint.Tensor
	src := func(split string, ds *ir.DataSource) (string, error) {
		if ds == nil {
			return "None", nil
		}
		switch ds.Kind {
		case "random":
			features := 1
			for _, d := range in.Type.Shape[1:] {
				features *= d
			}
			outputs := p.Forward.Outputs[0].Value.Type.Shape
			classes := ds.Classes
			if classes == 0 {
				classes = outputs[len(outputs)-1]
			}
			d, err := data.Random(ds.Samples, features, classes, t.Loss, ds.Seed)
			if err != nil {
				return "", errorf("%s data: %v", split, err)
			}
			tensors = append(tensors, &checkpoint.Tensor{Name: split + ".x", Shape: []int{d.N, d.Features}, F32: d.X})
			if d.Labels != nil {
				y := make([]int64, len(d.Labels))
				for i, l := range d.Labels {
					y[i] = int64(l)
				}
				tensors = append(tensors, &checkpoint.Tensor{Name: split + ".y", Shape: []int{d.N}, I64: y})
			} else {
				tensors = append(tensors, &checkpoint.Tensor{Name: split + ".y", Shape: []int{d.N, d.TargetWidth}, F32: d.Targets})
			}
			return fmt.Sprintf("dict(kind=\"random\", file=%s, split=%q)", pyString(filepath.Base(dataFile)), split), nil
		case "csv":
			target := pyString(ds.Target)
			if ds.Target == "" {
				target = strconv.Itoa(ds.TargetIndex)
			}
			return fmt.Sprintf("dict(kind=\"csv\", path=%s, target=%s, header=%s, normalize=%s)",
				pyString(absPath(dir, ds.Path)), target, pyBool(ds.Header), pyBool(ds.Normalize)), nil
		case "mnist":
			images, labels, err := data.MNIST(ds.Split)
			if err != nil {
				return "", errorf("%s data: %v", split, err)
			}
			return fmt.Sprintf("dict(kind=\"idx\", images=%s, labels=%s)", pyString(images), pyString(labels)), nil
		case "idx":
			return fmt.Sprintf("dict(kind=\"idx\", images=%s, labels=%s)", pyString(absPath(dir, ds.Images)), pyString(absPath(dir, ds.Labels))), nil
		case "text":
			return fmt.Sprintf("dict(kind=\"text\", path=%s)", pyString(absPath(dir, ds.Path))), nil
		}
		return "", errorf("data source %s has no PyTorch translation in nnc export yet", ds.Kind)
	}
	trainSrc, err := src("train", t.Data)
	if err != nil {
		return err
	}
	testSrc, err := src("test", t.Test)
	if err != nil {
		return err
	}
	e.printf("\n# Where the data is read from (paths as nnc resolved them; edit them when the\n# script moves to another machine).\nDATA = %s\nTEST = %s\n", trainSrc, testSrc)
	init := "None"
	if opt.Weights != "" {
		init = pyString(opt.Weights)
	}
	e.printf("INIT = %s  # the checkpoint training starts from (None: PyTorch's initialisation)\n", init)
	if len(tensors) > 0 {
		f := &checkpoint.File{Tensors: tensors, Metadata: map[string]string{"what": "random() data drawn by nnc for " + p.Model}}
		b, err := checkpoint.Encode(f)
		if err != nil {
			return err
		}
		e.res.Files[dataFile] = b
	}
	return nil
}

func hparamString(p *ir.Program) string {
	var parts []string
	for _, hp := range p.HParams {
		parts = append(parts, fmt.Sprintf("%s=%v", hp.Name, hp.Value))
	}
	return strings.Join(parts, ", ")
}

func absPath(dir, path string) string {
	p := data.Resolve(dir, path)
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

func prefixJoin(sep string, xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return sep + strings.Join(xs, sep)
}

// pyString quotes s as a Python string literal (JSON's escapes are
// Python's).
func pyString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func pyFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

func pyValue(v any) string {
	switch v := v.(type) {
	case float64:
		return pyFloat(v)
	case bool:
		return pyBool(v)
	}
	return fmt.Sprint(v)
}
