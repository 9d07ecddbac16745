// Package dsl parses the nnc model language (../shared/design/LANGUAGE.md)
// into an abstract syntax tree with source positions.
//
// The concrete grammar is written as participle structs (grammar.go); Parse
// turns that parse tree into the small AST below, which knows nothing of
// the IR. Comments are kept beside the tree so that Format can print a file
// back in canonical layout without losing them. The parser stops at its first
// error; resolving names and checking shapes is build.Build's job.
package dsl

import (
	"strings"

	"github.com/nnc-go/nnc/diag"
)

// File is one parsed .nn file.
type File struct {
	Name     string
	Decls    []Decl // models and train blocks in source order
	Comments []*Comment
}

// Models returns the model declarations in source order.
func (f *File) Models() []*Model {
	var ms []*Model
	for _, d := range f.Decls {
		if m, ok := d.(*Model); ok {
			ms = append(ms, m)
		}
	}
	return ms
}

// Trains returns the train blocks in source order.
func (f *File) Trains() []*Train {
	var ts []*Train
	for _, d := range f.Decls {
		if t, ok := d.(*Train); ok {
			ts = append(ts, t)
		}
	}
	return ts
}

// Comment is a `//` line comment, text included.
type Comment struct {
	Pos  diag.Pos
	Text string
}

// Decl is a top-level declaration: *Model or *Train.
type Decl interface {
	Start() diag.Pos
	End() diag.Pos
}

// Model is `model Name(params) { layers forward }`.
type Model struct {
	Pos    diag.Pos
	Name   *Ident
	Params []*Param
	Items  []Item // layer declarations and forward, in source order
	Close  diag.Pos
}

// Param is a hyper-parameter with its default: `hidden = 10`.
type Param struct {
	Name  *Ident
	Value Expr
}

// Item is a statement of a model body: *Assign (a layer) or *Forward.
type Item interface {
	Start() diag.Pos
	End() diag.Pos
}

// Assign is `name = expr`: a layer declaration in a model body, a
// statement in forward, or a key in a train block.
type Assign struct {
	Name   *Ident
	Value  Expr
	EndPos diag.Pos
}

// Forward is the forward function of a model.
type Forward struct {
	Pos    diag.Pos
	Inputs []*Input
	Body   []Stmt
	Close  diag.Pos
}

// Input is a typed forward input: `x: f32[N, 10]`.
type Input struct {
	Name  *Ident
	DType *Ident
	Dims  []Expr
}

// Stmt is a statement of forward: *Assign or *Return.
type Stmt interface {
	Start() diag.Pos
	End() diag.Pos
}

// Return is `return expr`.
type Return struct {
	Pos    diag.Pos
	Value  Expr
	EndPos diag.Pos
}

// Train is `train Model(overrides) { key = value ... }`.
type Train struct {
	Pos   diag.Pos
	Model *Ident
	Args  []*Arg
	Body  []*Assign
	Close diag.Pos
}

// Expr is an expression: *Ident, *Selector, *Number, *String, *Call,
// *Unary, *Binary, *List.
type Expr interface {
	Start() diag.Pos
}

// Ident is a name.
type Ident struct {
	Pos  diag.Pos
	Name string
}

// Selector is a dotted name, `tok.weight` or `enc.fc1.weight`: a layer's
// parameter used as a value. Path holds the names, at least two.
type Selector struct {
	Path []*Ident
}

// Name is the dotted name as written.
func (x *Selector) Name() string {
	names := make([]string, len(x.Path))
	for i, id := range x.Path {
		names[i] = id.Name
	}
	return strings.Join(names, ".")
}

// Number is a numeric literal as written, with its value.
type Number struct {
	Pos   diag.Pos
	Text  string
	Value float64
	IsInt bool
}

// String is a double-quoted string literal; Value is unquoted.
type String struct {
	Pos   diag.Pos
	Text  string
	Value string
}

// Call is `fun(args)`: a layer constructor, a layer call, a built-in or a
// train-block value such as `SGD(lr = 0.01)`.
type Call struct {
	Fun    *Ident
	Args   []*Arg
	Rparen diag.Pos
}

// Arg is a call argument, positional (Key nil) or `key = value`.
type Arg struct {
	Key   *Ident
	Value Expr
}

// List is a list literal, `[0, -1]`: an integer-list argument of a
// built-in (Slice's starts, Reduce's axes).
type List struct {
	Pos   diag.Pos
	Elems []Expr
	Close diag.Pos
}

// Unary is `-x`.
type Unary struct {
	Pos diag.Pos
	Op  string
	X   Expr
}

// Binary is `x op y` with op one of + - * / @.
type Binary struct {
	X     Expr
	Op    string
	OpPos diag.Pos
	Y     Expr
}

func (m *Model) Start() diag.Pos    { return m.Pos }
func (m *Model) End() diag.Pos      { return m.Close }
func (t *Train) Start() diag.Pos    { return t.Pos }
func (t *Train) End() diag.Pos      { return t.Close }
func (a *Assign) Start() diag.Pos   { return a.Name.Pos }
func (a *Assign) End() diag.Pos     { return a.EndPos }
func (f *Forward) Start() diag.Pos  { return f.Pos }
func (f *Forward) End() diag.Pos    { return f.Close }
func (r *Return) Start() diag.Pos   { return r.Pos }
func (r *Return) End() diag.Pos     { return r.EndPos }
func (x *Ident) Start() diag.Pos    { return x.Pos }
func (x *Number) Start() diag.Pos   { return x.Pos }
func (x *Selector) Start() diag.Pos { return x.Path[0].Pos }
func (x *String) Start() diag.Pos   { return x.Pos }
func (x *Call) Start() diag.Pos     { return x.Fun.Pos }
func (x *Unary) Start() diag.Pos    { return x.Pos }
func (x *List) Start() diag.Pos     { return x.Pos }
func (x *Binary) Start() diag.Pos   { return x.X.Start() }

// Precedence returns the binding strength of a binary operator: 1 for + and
// -, 2 for * / and @ (as in Python, where @ binds like *).
func Precedence(op string) int {
	switch op {
	case "+", "-":
		return 1
	case "*", "/", "@":
		return 2
	}
	return 0
}
