package ir

import (
	"fmt"

	"github.com/nnc-go/nnc/diag"
)

// ShapeError is an op's shape rule refusing its arguments, attributes or
// declared type. Its Error is the rule's message in the IR's terms; a front
// end reads Arg and Kind to say the same in its user's terms, with the
// user's names for the arguments, so that each check is written once, in
// the rule.
type ShapeError struct {
	Op   Op
	Arg  int // the argument at fault, or -1 when they disagree together
	Kind ShapeKind
	Msg  string
}

func (e *ShapeError) Error() string { return e.Msg }

// ShapeKind says what a shape rule found wrong.
type ShapeKind uint8

const (
	ShapeMismatch  ShapeKind = iota // the arguments do not fit the op
	ShapeArity                      // the wrong number of arguments
	ShapeDType                      // the element types differ
	ShapeRank                       // argument Arg has too few or too many dimensions
	ShapeBroadcast                  // the shapes do not broadcast together
	ShapeInner                      // the contracted dimensions differ
	ShapeBatchDims                  // the leading (batch) dimensions differ
	ShapeWindow                     // a kernel or window does not fit the input
	ShapeAxis                       // the dim attribute is out of range
	ShapeBatchAxis                  // a reduction over the batch dimension that the op does not allow
	ShapeDeclared                   // the declared type does not fit the argument
)

// shapeErr returns a *ShapeError; inferType fills in the op.
func shapeErr(kind ShapeKind, arg int, format string, a ...any) error {
	return &ShapeError{Arg: arg, Kind: kind, Msg: fmt.Sprintf(format, a...)}
}

// Builder appends values to a new graph for a front end: package build
// for the nnc language, or an importer of another format. Every value goes
// through its op's shape rule, and a refusal is returned as a *ShapeError
// (never a panic), for the front end to decorate with its own names.
type Builder struct {
	g *Graph
}

// NewBuilder starts a graph named name, read from file.
func NewBuilder(name, file string) *Builder { return &Builder{g: NewGraph(name, file)} }

// Graph returns the graph built so far.
func (b *Builder) Graph() *Graph { return b.g }

// Input adds the forward input name of type t.
func (b *Builder) Input(name string, t Type, pos diag.Pos) (*Value, error) {
	return b.source(OpInput, name, t, nil, pos)
}

// Target adds the training targets of a batch.
func (b *Builder) Target(name string, t Type, pos diag.Pos) (*Value, error) {
	return b.source(OpTarget, name, t, nil, pos)
}

// Param adds a trained parameter; name is its state_dict name and attrs
// say how it is initialised ({init, fan_in}).
func (b *Builder) Param(name string, t Type, attrs Attrs, pos diag.Pos) (*Value, error) {
	return b.source(OpParam, name, t, attrs, pos)
}

// Buffer adds state that is not trained, such as a running mean.
func (b *Builder) Buffer(name string, t Type, attrs Attrs, pos diag.Pos) (*Value, error) {
	return b.source(OpBuffer, name, t, attrs, pos)
}

// Const adds a scalar constant of element type dt.
func (b *Builder) Const(value float64, dt DType, pos diag.Pos) (*Value, error) {
	return b.Declared(OpConst, Type{DType: dt, Shape: Shape{}}, Attrs{{"value", value}}, pos)
}

func (b *Builder) source(op Op, name string, t Type, attrs Attrs, pos diag.Pos) (*Value, error) {
	if t.DType == InvalidDType {
		return nil, &ShapeError{Op: op, Arg: -1, Kind: ShapeDeclared, Msg: fmt.Sprintf("%s %s has no element type", op, name)}
	}
	if err := checkShape(t.Shape); err != nil {
		return nil, &ShapeError{Op: op, Arg: -1, Kind: ShapeDeclared, Msg: fmt.Sprintf("%s %s: %v", op, name, err)}
	}
	if op == OpParam || op == OpBuffer {
		for _, v := range b.g.Values {
			if (v.Op == OpParam || v.Op == OpBuffer) && v.Name == name {
				return nil, &ShapeError{Op: op, Arg: -1, Kind: ShapeDeclared, Msg: fmt.Sprintf("parameter %s added twice", name)}
			}
		}
	}
	v, err := b.Declared(op, t, attrs, pos)
	if err != nil {
		return nil, err
	}
	v.Name = name
	return v, nil
}

// Op adds a value computing op over args, its type derived by the op's
// shape rule.
func (b *Builder) Op(op Op, attrs Attrs, pos diag.Pos, args ...*Value) (*Value, error) {
	if op.Info().Declared {
		return nil, &ShapeError{Op: op, Arg: -1, Kind: ShapeDeclared, Msg: fmt.Sprintf("%s needs a declared type", op)}
	}
	return b.Declared(op, Type{}, attrs, pos, args...)
}

// Declared adds a value of an op whose type is given, such as a Reshape;
// the op's rule checks it.
func (b *Builder) Declared(op Op, t Type, attrs Attrs, pos diag.Pos, args ...*Value) (*Value, error) {
	for _, a := range args {
		if a == nil {
			return nil, &ShapeError{Op: op, Arg: -1, Kind: ShapeMismatch, Msg: fmt.Sprintf("%s of a missing argument", op)}
		}
	}
	t2, err := inferType(op, args, attrs, t)
	if err != nil {
		return nil, err
	}
	if err := checkShape(t2.Shape); err != nil {
		return nil, &ShapeError{Op: op, Arg: -1, Kind: ShapeMismatch, Msg: err.Error()}
	}
	return b.g.add(&Value{Op: op, Args: args, Type: t2, Attrs: attrs, Pos: pos}), nil
}

// Output sets or adds the graph's output name.
func (b *Builder) Output(name string, v *Value) { b.g.SetOutput(name, v) }
