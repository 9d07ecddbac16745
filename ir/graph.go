// Package ir is nnc's intermediate representation, and nothing of the
// language: a typed, statically shaped SSA graph per entry point (a
// model's forward pass, its training step), built by a front end through
// Builder (package build for the nnc language), rewritten by the passes,
// and executed by the interpreter or turned into Go by the code generator.
//
// The op table (op.go) holds a row per op: its name, arity, shape rule
// and VJP. A shape rule that refuses its arguments returns a *ShapeError
// saying which argument and what is wrong, which a front end turns into a
// message in its user's terms. Program is what a front end returns: the
// graphs and the train block's configuration.
//
// A Graph is a list of Values in topological order. Every Value has a stable
// ID (never renumbered, so the text of a graph before and after a pass can
// be compared line by line), an Op from the op table, its arguments, a Type
// (element type and shape, with at most one symbolic batch dimension),
// attributes, the user's name for it when it has one, and the source
// position it came from. Parameters, buffers, inputs and targets are values
// like any other, and the graph's named outputs say what it computes: a
// training step is a pure function from parameters, state and batch to loss,
// new parameters and new state, which back ends may execute in place.
//
// Print and Parse convert a Graph to and from text, exactly:
//
//	graph SimpleNeuralNetwork.forward "seed.nn" {
//	  v0 = Input <f32[N,10]> (x) @6:13
//	  v5 = LinearRelu <f32[N,10]> v0 v1 v2 (h) @7:18
//	  return out=v7
//	}
package ir

import (
	"fmt"
	"slices"

	"github.com/nnc-go/nnc/diag"
)

// Value is one SSA value: the result of an op.
type Value struct {
	ID    int
	Op    Op
	Args  []*Value
	Type  Type
	Attrs Attrs
	Name  string   // the user's name: variable, input, parameter
	Pos   diag.Pos // where in the model file it comes from
}

// Output is a named result of a graph.
type Output struct {
	Name  string
	Value *Value
}

// Graph is one entry point of a model.
type Graph struct {
	Name string // "SimpleNeuralNetwork.forward"
	File string // the model file, for positions
	// Attrs configure the passes: the optimizer and its hyper-parameters,
	// the batch size the memory plan is made for.
	Attrs   Attrs
	Values  []*Value
	Outputs []Output
	// Plan is the memory plan made by the memplan pass, or nil.
	Plan   *MemPlan
	nextID int
}

// NewGraph returns an empty graph.
func NewGraph(name, file string) *Graph { return &Graph{Name: name, File: file} }

// NewValue appends a value computing op over args. Its type is derived by
// the op's shape rule, so a pass cannot create an ill-typed value: a shape
// rule failing here is a compiler bug, and NewValue panics. Front ends,
// whose input is the user's, use Builder, which returns the error.
func (g *Graph) NewValue(op Op, attrs Attrs, pos diag.Pos, args ...*Value) *Value {
	info := op.Info()
	if info.Declared {
		panic(fmt.Sprintf("ir: NewValue of declared op %s: use NewDeclared", info.Name))
	}
	t, err := inferType(op, args, attrs, Type{})
	if err != nil {
		panic(fmt.Sprintf("ir: %s at %s: %v", info.Name, pos, err))
	}
	return g.add(&Value{Op: op, Args: args, Type: t, Attrs: attrs, Pos: pos})
}

// NewDeclared appends a value of an op whose type is given: a source, a
// Reshape. It panics when the op's rule rejects the type.
func (g *Graph) NewDeclared(op Op, t Type, attrs Attrs, pos diag.Pos, args ...*Value) *Value {
	t2, err := inferType(op, args, attrs, t)
	if err != nil {
		panic(fmt.Sprintf("ir: %s at %s: %v", op, pos, err))
	}
	return g.add(&Value{Op: op, Args: args, Type: t2, Attrs: attrs, Pos: pos})
}

func (g *Graph) add(v *Value) *Value {
	v.ID = g.nextID
	g.nextID++
	if v.Type.Shape == nil {
		v.Type.Shape = Shape{}
	}
	g.Values = append(g.Values, v)
	return v
}

// inferType applies op's shape rule after checking the arity. Its errors
// are *ShapeError.
func inferType(op Op, args []*Value, attrs Attrs, decl Type) (Type, error) {
	info := op.Info()
	if op == OpInvalid || op >= numOps {
		return Type{}, &ShapeError{Op: op, Arg: -1, Msg: "invalid op"}
	}
	min := info.MinArity
	if min == 0 {
		min = info.Arity
	}
	if len(args) < min || len(args) > info.Arity {
		return Type{}, &ShapeError{Op: op, Arg: -1, Kind: ShapeArity, Msg: fmt.Sprintf("%s takes %d arguments, has %d", info.Name, info.Arity, len(args))}
	}
	if err := checkAttrs(op, attrs); err != nil {
		return Type{}, &ShapeError{Op: op, Arg: -1, Msg: err.Error()}
	}
	if info.Shape == nil {
		return decl, nil
	}
	attrs = withDefaults(op, attrs)
	ts := make([]Type, len(args))
	for i, a := range args {
		ts[i] = a.Type
	}
	t, err := info.Shape(ts, attrs, decl)
	if err != nil {
		se, ok := err.(*ShapeError)
		if !ok {
			se = &ShapeError{Arg: -1, Msg: err.Error()}
		}
		se.Op = op
		return Type{}, se
	}
	return t, nil
}

// Output returns the value of the output named name, or nil.
func (g *Graph) Output(name string) *Value {
	for _, o := range g.Outputs {
		if o.Name == name {
			return o.Value
		}
	}
	return nil
}

// SetOutput sets or adds the output name.
func (g *Graph) SetOutput(name string, v *Value) {
	for i := range g.Outputs {
		if g.Outputs[i].Name == name {
			g.Outputs[i].Value = v
			return
		}
	}
	g.Outputs = append(g.Outputs, Output{name, v})
}

// Sources returns the values of op (OpParam, OpInput, ...) in order.
func (g *Graph) Sources(op Op) []*Value {
	var vs []*Value
	for _, v := range g.Values {
		if v.Op == op {
			vs = append(vs, v)
		}
	}
	return vs
}

// Uses returns, for each value ID, how many times it is an argument or an
// output.
func (g *Graph) Uses() map[int]int {
	n := map[int]int{}
	for _, v := range g.Values {
		for _, a := range v.Args {
			n[a.ID]++
		}
	}
	for _, o := range g.Outputs {
		n[o.Value.ID]++
	}
	return n
}

// Live returns the IDs of the values the outputs depend on.
func (g *Graph) Live() map[int]bool {
	live := map[int]bool{}
	var stack []*Value
	for _, o := range g.Outputs {
		stack = append(stack, o.Value)
	}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if live[v.ID] {
			continue
		}
		live[v.ID] = true
		stack = append(stack, v.Args...)
	}
	return live
}

// Retain keeps the values for which keep is true, in order.
func (g *Graph) Retain(keep func(*Value) bool) {
	g.Values = slices.DeleteFunc(g.Values, func(v *Value) bool { return !keep(v) })
}

// ReplaceUses makes every use of old, arguments and outputs, a use of new.
func (g *Graph) ReplaceUses(old, new *Value) {
	for _, v := range g.Values {
		for i, a := range v.Args {
			if a == old {
				v.Args[i] = new
			}
		}
	}
	for i := range g.Outputs {
		if g.Outputs[i].Value == old {
			g.Outputs[i].Value = new
		}
	}
}

// CrossEntropyGrad returns the SoftmaxCrossEntropyGrad that comes after
// the SoftmaxCrossEntropy loss in g with the same logits and targets, or
// nil: back ends compute both in one pass over the exponentials.
func (g *Graph) CrossEntropyGrad(loss *Value) *Value {
	after := false
	for _, u := range g.Values {
		if u == loss {
			after = true
			continue
		}
		if after && u.Op == OpSoftmaxCrossEntropyGrad && u.Args[1] == loss.Args[0] && u.Args[2] == loss.Args[1] {
			return u
		}
	}
	return nil
}

// Clone returns a deep copy of g; values keep their IDs.
func (g *Graph) Clone() *Graph {
	c := &Graph{Name: g.Name, File: g.File, Attrs: slices.Clone(g.Attrs), nextID: g.nextID}
	m := make(map[*Value]*Value, len(g.Values))
	for _, v := range g.Values {
		nv := *v
		nv.Args = make([]*Value, len(v.Args))
		for i, a := range v.Args {
			nv.Args[i] = m[a]
		}
		nv.Attrs = slices.Clone(v.Attrs)
		nv.Type.Shape = v.Type.Shape.Clone()
		m[v] = &nv
		c.Values = append(c.Values, &nv)
	}
	for _, o := range g.Outputs {
		c.Outputs = append(c.Outputs, Output{o.Name, m[o.Value]})
	}
	return c
}

// MemPlan places the intermediate values of a graph in one arena: Offset
// maps a value's ID to its byte offset. Values whose lifetimes do not
// overlap share memory. It is made for a batch size; a smaller batch fits
// the same offsets.
type MemPlan struct {
	Batch  int
	Offset map[int]int
	// Scratch maps a value's ID to the byte offsets of the scratch
	// buffers its op needs (OpInfo.Scratch), in order.
	Scratch    map[int][]int
	ArenaBytes int // the arena's size
	NaiveBytes int // the sum of the planned values' sizes, for comparison
}

// crossEntropyLoss returns the SoftmaxCrossEntropy whose gradient is grad,
// when CrossEntropyGrad pairs them, or nil.
func (g *Graph) crossEntropyLoss(grad *Value) *Value {
	for _, u := range g.Values {
		if u == grad {
			return nil
		}
		if u.Op == OpSoftmaxCrossEntropy && u.Args[0] == grad.Args[1] && u.Args[1] == grad.Args[2] && g.CrossEntropyGrad(u) == grad {
			return u
		}
	}
	return nil
}
