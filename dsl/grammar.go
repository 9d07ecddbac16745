package dsl

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// The grammar below is participle's: each struct is a production and its
// field tags are the rule. It is the concrete syntax only; Parse converts it
// into the AST of ast.go, which is what the rest of nnc sees.

var parser = participle.MustBuild[gFile](
	participle.Lexer(nnLexer),
	participle.Elide("Whitespace", "Comment"),
	participle.UseLookahead(2),
)

type gFile struct {
	Decls []*gDecl `parser:"@@*"`
}

type gDecl struct {
	Model *gModel `parser:"  @@"`
	Train *gTrain `parser:"| @@"`
}

type gModel struct {
	Pos    lexer.Position
	EndPos lexer.Position

	Name   gIdent     `parser:"'model' @@"`
	Params []*gParam  `parser:"( '(' ( @@ ( ',' @@ )* ','? )? ')' )?"`
	Body   []*gItem   `parser:"'{' @@*"`
	Close  gCloseBrak `parser:"@@"`
}

// gCloseBrak records the position of a closing brace.
type gCloseBrak struct {
	Pos lexer.Position
	Tok string `parser:"@'}'"`
}

type gIdent struct {
	Pos  lexer.Position
	Name string `parser:"@Ident"`
}

type gParam struct {
	Name  gIdent `parser:"@@ '='"`
	Value *gExpr `parser:"@@"`
}

type gItem struct {
	Forward *gForward `parser:"  @@"`
	Assign  *gAssign  `parser:"| @@"`
}

type gAssign struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   gIdent `parser:"@@ '='"`
	Value  *gExpr `parser:"@@"`
}

type gForward struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Inputs []*gInput  `parser:"'forward' '(' ( @@ ( ',' @@ )* ','? )? ')'"`
	Body   []*gStmt   `parser:"'{' @@*"`
	Close  gCloseBrak `parser:"@@"`
}

type gInput struct {
	Pos   lexer.Position
	Name  gIdent   `parser:"@@ ':'"`
	DType gIdent   `parser:"@@"`
	Dims  []*gExpr `parser:"'[' ( @@ ( ',' @@ )* ','? )? ']'"`
}

type gStmt struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Return *gExpr   `parser:"  'return' @@"`
	Assign *gAssign `parser:"| @@"`
}

type gTrain struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Model  gIdent     `parser:"'train' @@"`
	Args   []*gArg    `parser:"( '(' ( @@ ( ',' @@ )* ','? )? ')' )?"`
	Body   []*gAssign `parser:"'{' @@*"`
	Close  gCloseBrak `parser:"@@"`
}

// gExpr is an additive expression: the loosest binding level.
type gExpr struct {
	Pos   lexer.Position
	Left  *gMul     `parser:"@@"`
	Right []*gAddOp `parser:"@@*"`
}

type gAddOp struct {
	Pos   lexer.Position
	Op    string `parser:"@('+' | '-')"`
	Right *gMul  `parser:"@@"`
}

type gMul struct {
	Pos   lexer.Position
	Left  *gUnary   `parser:"@@"`
	Right []*gMulOp `parser:"@@*"`
}

type gMulOp struct {
	Pos   lexer.Position
	Op    string  `parser:"@('*' | '/' | '@')"`
	Right *gUnary `parser:"@@"`
}

type gUnary struct {
	Pos     lexer.Position
	Neg     *gUnary   `parser:"  '-' @@"`
	Primary *gPrimary `parser:"| @@"`
}

type gPrimary struct {
	Pos    lexer.Position
	Number *string  `parser:"  @Number"`
	String *string  `parser:"| @String"`
	Call   *gCall   `parser:"| @@"`
	Select *gSelect `parser:"| @@"`
	Ident  *string  `parser:"| @Ident"`
	Paren  *gExpr   `parser:"| '(' @@ ')'"`
	List   *gList   `parser:"| @@"`
}

// gList is a list literal, `[0, -1]`: Slice's starts, Reduce's axes.
type gList struct {
	Pos   lexer.Position
	Elems []*gExpr    `parser:"'[' ( @@ ( ',' @@ )* ','? )?"`
	Close gCloseBrack `parser:"@@"`
}

type gCloseBrack struct {
	Pos lexer.Position
	Tok string `parser:"@']'"`
}

// gSelect is a dotted name, `tok.weight`: a layer's parameter.
type gSelect struct {
	Base   gIdent    `parser:"@@"`
	Fields []*gIdent `parser:"( '.' @@ )+"`
}

type gCall struct {
	Pos   lexer.Position
	Name  gIdent      `parser:"@@ '('"`
	Args  []*gArg     `parser:"( @@ ( ',' @@ )* ','? )?"`
	Close gCloseParen `parser:"@@"`
}

type gCloseParen struct {
	Pos lexer.Position
	Tok string `parser:"@')'"`
}

type gArg struct {
	Pos   lexer.Position
	Key   *gIdent `parser:"( @@ '=' )?"`
	Value *gExpr  `parser:"@@"`
}
