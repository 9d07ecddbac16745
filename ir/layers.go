package ir

import (
	"fmt"
	"math"
)

// layerKind is a row of the layer table: a built-in layer's constructor
// arguments and the parameters it owns.
type layerKind struct {
	args []argSpec
	// params returns the layer's parameters and buffers in state_dict
	// order, given its bound arguments.
	params func(a boundArgs) []paramSpec
	// describe formats the layer for messages: Linear(20, 2).
	describe func(a boundArgs) string
}

// paramSpec is a parameter or buffer a layer owns.
type paramSpec struct {
	name   string
	shape  Shape
	buffer bool
	dtype  DType // InvalidDType: the model's
	init   string
	fanIn  int
}

func positive(c Const) string {
	if c.kind == kFloat && c.F <= 0 {
		return fmt.Sprintf("must be positive, got %s", c)
	}
	return ""
}

func probability(c Const) string {
	if c.F < 0 || c.F >= 1 {
		return fmt.Sprintf("must be in [0, 1), got %s", c)
	}
	return ""
}

var (
	boolTrue  = Const{kind: kBool, B: true}
	boolFalse = Const{kind: kBool}
)

var layerTable = map[string]*layerKind{
	"Linear": {
		args: []argSpec{
			{name: "in", aliases: []string{"in_features"}, kind: argSize, required: true},
			{name: "out", aliases: []string{"out_features"}, kind: argSize, required: true},
			{name: "bias", kind: argBool, def: boolTrue},
		},
		params: func(a boundArgs) []paramSpec {
			ps := []paramSpec{{name: "weight", shape: Shape{a.int("out"), a.int("in")}, init: "uniform", fanIn: a.int("in")}}
			if a.bool("bias") {
				ps = append(ps, paramSpec{name: "bias", shape: Shape{a.int("out")}, init: "uniform", fanIn: a.int("in")})
			}
			return ps
		},
		describe: func(a boundArgs) string { return fmt.Sprintf("Linear(%d, %d)", a.int("in"), a.int("out")) },
	},
	"Conv2d": {
		args: []argSpec{
			{name: "in", aliases: []string{"in_channels"}, kind: argSize, required: true},
			{name: "out", aliases: []string{"out_channels"}, kind: argSize, required: true},
			{name: "kernel", aliases: []string{"kernel_size"}, kind: argSize, required: true},
			{name: "stride", kind: argSize, def: intConst(1)},
			{name: "padding", kind: argCount, def: intConst(0)},
			{name: "bias", kind: argBool, def: boolTrue},
		},
		params: func(a boundArgs) []paramSpec {
			k := a.int("kernel")
			fan := a.int("in") * k * k
			ps := []paramSpec{{name: "weight", shape: Shape{a.int("out"), a.int("in"), k, k}, init: "uniform", fanIn: fan}}
			if a.bool("bias") {
				ps = append(ps, paramSpec{name: "bias", shape: Shape{a.int("out")}, init: "uniform", fanIn: fan})
			}
			return ps
		},
		describe: func(a boundArgs) string {
			return fmt.Sprintf("Conv2d(%d, %d, %d)", a.int("in"), a.int("out"), a.int("kernel"))
		},
	},
	"MaxPool2d": {
		args: []argSpec{
			{name: "kernel", aliases: []string{"kernel_size"}, kind: argSize, required: true},
			{name: "stride", kind: argSize},
		},
		params:   func(boundArgs) []paramSpec { return nil },
		describe: func(a boundArgs) string { return fmt.Sprintf("MaxPool2d(%d)", a.int("kernel")) },
	},
	"Dropout": {
		args: []argSpec{
			{name: "p", kind: argFloat, def: floatConst(0.5), check: probability},
		},
		params:   func(boundArgs) []paramSpec { return nil },
		describe: func(a boundArgs) string { return fmt.Sprintf("Dropout(%g)", a.float("p")) },
	},
	"BatchNorm1d": batchNorm("BatchNorm1d", "features", "num_features"),
	"BatchNorm2d": batchNorm("BatchNorm2d", "channels", "num_features"),
}

func batchNorm(name, arg, alias string) *layerKind {
	return &layerKind{
		args: []argSpec{
			{name: arg, aliases: []string{alias}, kind: argSize, required: true},
			{name: "eps", kind: argFloat, def: floatConst(1e-5), check: positive},
			{name: "momentum", kind: argFloat, def: floatConst(0.1), check: probability},
		},
		params: func(a boundArgs) []paramSpec {
			c := Shape{a.int(arg)}
			return []paramSpec{
				{name: "weight", shape: c, init: "ones"},
				{name: "bias", shape: c, init: "zeros"},
				{name: "running_mean", shape: c, buffer: true, init: "zeros"},
				{name: "running_var", shape: c, buffer: true, init: "ones"},
				{name: "num_batches_tracked", shape: Shape{}, buffer: true, dtype: I64, init: "zeros"},
			}
		},
		describe: func(a boundArgs) string { return fmt.Sprintf("%s(%d)", name, a.int(arg)) },
	}
}

// InitBound returns the bound b of PyTorch's default U(-b, b) initialisation
// of Linear and Conv2d parameters: 1/sqrt(fan_in).
func InitBound(fanIn int) float64 { return 1 / math.Sqrt(float64(fanIn)) }
