package nnc

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nnc-go/nnc/build"
	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/onnx"
)

// IsONNX reports whether filename names an ONNX model (by its extension).
func IsONNX(filename string) bool { return strings.EqualFold(filepath.Ext(filename), ".onnx") }

// importONNX builds the program of an ONNX model: its forward graph, its
// initializers as Weights. --set NAME=SIZE fixes the symbolic dimension
// NAME; --model is refused (an ONNX file holds one graph).
func importONNX(filename string, src []byte, opt build.Options) (*ir.Program, error) {
	if opt.Model != "" {
		return nil, &build.UsageError{Msg: fmt.Sprintf("--model: %s holds one graph, not named models", filename)}
	}
	dims := map[string]int{}
	for k, v := range opt.Set {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 {
			return nil, &build.UsageError{Msg: fmt.Sprintf("--set %s=%s: a symbolic dimension of an ONNX model takes a positive size", k, v)}
		}
		dims[k] = n
	}
	m, err := onnx.Decode(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", filename, err)
	}
	m.Path = filename
	im, err := onnx.Import(m, onnx.Options{Dims: dims})
	if err != nil {
		return nil, err
	}
	p := im.Program
	if p.Weights, err = checkpoint.Encode(im.Weights); err != nil {
		return nil, fmt.Errorf("%s: %v", filename, err)
	}
	p.Aliases = map[string]string{}
	for _, n := range append(im.Inputs, im.Outputs...) {
		if n.ONNX != n.IR {
			p.Aliases[n.ONNX] = n.IR
		}
	}
	return p, nil
}
