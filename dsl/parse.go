package dsl

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/nnc-go/nnc/diag"
)

// MaxFileSize bounds the source Parse accepts; a model file is a few
// kilobytes, and anything near this is not one.
const MaxFileSize = 4 << 20

// Parse parses one .nn file. It stops at the first syntax error, returned as
// a *diag.ErrorList with one positioned diagnostic.
func Parse(filename string, src []byte) (f *File, err error) {
	if d := checkText(filename, src); d != nil {
		return nil, &diag.ErrorList{Diags: []*diag.Diagnostic{d}}
	}
	defer func() {
		// participle is a library we do not own: whatever it does, a user's
		// input must not crash nnc.
		if r := recover(); r != nil {
			f, err = nil, &diag.ErrorList{Diags: []*diag.Diagnostic{{
				Pos: diag.Pos{File: filename, Line: 1, Col: 1}, Msg: fmt.Sprintf("cannot parse: %v", r),
			}}}
		}
	}()
	g, perr := parser.ParseBytes(filename, src)
	if perr != nil {
		return nil, &diag.ErrorList{Diags: []*diag.Diagnostic{syntaxError(filename, src, perr)}}
	}
	comments, cerr := lexComments(filename, src)
	if cerr != nil {
		return nil, &diag.ErrorList{Diags: []*diag.Diagnostic{syntaxError(filename, src, cerr)}}
	}
	c := converter{file: filename}
	f = c.file_(g)
	f.Comments = comments
	if c.err != nil {
		return nil, &diag.ErrorList{Diags: []*diag.Diagnostic{c.err}}
	}
	return f, nil
}

// checkText refuses input that is not text before the lexer sees it, so a
// binary file gets one clear message instead of a lexer's.
func checkText(filename string, src []byte) *diag.Diagnostic {
	if len(src) > MaxFileSize {
		return &diag.Diagnostic{Pos: diag.Pos{File: filename, Line: 1, Col: 1},
			Msg: fmt.Sprintf("file is %d bytes, larger than the %d a model file may be", len(src), MaxFileSize)}
	}
	line, col := 1, 1
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		pos := diag.Pos{File: filename, Line: line, Col: col}
		switch {
		case r == utf8.RuneError && size == 1:
			return &diag.Diagnostic{Pos: pos, Msg: fmt.Sprintf("invalid UTF-8 byte 0x%02x: not a text file", src[i])}
		case r == '\n':
			line, col = line+1, 0
		case r == '\t' || r == '\r':
		case r < 0x20 || r == 0x7f:
			return &diag.Diagnostic{Pos: pos, Msg: fmt.Sprintf("invalid control character %U", r)}
		}
		i += size
		col++
	}
	return nil
}

func lexComments(filename string, src []byte) ([]*Comment, error) {
	lx, err := nnLexer.Lex(filename, bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	comment := nnLexer.Symbols()["Comment"]
	var out []*Comment
	for {
		tok, err := lx.Next()
		if err != nil {
			return nil, err
		}
		if tok.EOF() {
			return out, nil
		}
		if tok.Type == comment {
			out = append(out, &Comment{Pos: pos(tok.Pos), Text: strings.TrimRight(tok.Value, " \t\r")})
		}
	}
}

func pos(p lexer.Position) diag.Pos {
	return diag.Pos{File: p.Filename, Line: p.Line, Col: p.Column}
}

// syntaxError turns a participle error into a diagnostic whose message a
// user of nnc, not of participle, understands.
func syntaxError(filename string, src []byte, err error) *diag.Diagnostic {
	d := &diag.Diagnostic{Pos: diag.Pos{File: filename, Line: 1, Col: 1}, Msg: err.Error()}
	var perr participle.Error
	if errors.As(err, &perr) {
		d.Pos = pos(perr.Position())
		if d.Pos.File == "" {
			d.Pos.File = filename
		}
		d.Msg = perr.Message()
	}
	var lexErr *lexer.Error
	var unexpected *participle.UnexpectedTokenError
	switch {
	case errors.As(err, &lexErr):
		d.Pos, d.Msg = pos(lexErr.Pos), lexErr.Msg
	case errors.As(err, &unexpected):
		tok := unexpected.Unexpected
		what := "unexpected " + describe(tok)
		if tok.EOF() {
			what = "unexpected end of file"
			d.Pos = endOfFile(filename, src)
		}
		if exp := unexpected.Expect; strings.HasPrefix(exp, `"`) {
			// Only literal tokens: participle names grammar structs too.
			what += ", expected " + exp
		}
		if p, msg, ok := forwardError(filename, src, tok); ok {
			d.Pos, d.Msg = p, msg
			return d
		}
		if next, ok := tokenAfter(filename, src, tok); ok && strings.Contains("+-*/@=", tok.Value) && tok.Value != "" {
			// An operator whose operand is missing is backtracked over by
			// the parser; name the real culprit.
			d.Pos = pos(next.Pos)
			what = fmt.Sprintf("missing operand after %q", tok.Value)
			if !next.EOF() {
				what += fmt.Sprintf(", found %s", describe(next))
			}
			d.Msg = what
			return d
		}
		open, depth := openBracket(filename, src, tok.Pos.Offset)
		switch {
		case depth == 0 && !tok.EOF():
			what += `, expected "model" or "train"`
		case open.Line > 0 && (tok.EOF() || (open.Text != "{" && open.Line < tok.Pos.Line)):
			what += fmt.Sprintf("; the %q opened at %d:%d is not closed", open.Text, open.Line, open.Col)
		}
		d.Msg = what
	}
	return d
}

// tokenAfter returns the token that follows tok.
func tokenAfter(filename string, src []byte, tok lexer.Token) (lexer.Token, bool) {
	lx, err := nnLexer.Lex(filename, bytes.NewReader(src))
	if err != nil {
		return lexer.Token{}, false
	}
	skip := map[lexer.TokenType]bool{nnLexer.Symbols()["Whitespace"]: true, nnLexer.Symbols()["Comment"]: true}
	found := false
	for {
		t, err := lx.Next()
		if err != nil {
			return lexer.Token{}, false
		}
		if skip[t.Type] {
			continue
		}
		if found {
			return t, true
		}
		if t.EOF() {
			return lexer.Token{}, false
		}
		found = t.Pos.Offset == tok.Pos.Offset
	}
}

// tokens returns the tokens of src other than spaces and comments, or nil
// when it does not lex.
func tokens(filename string, src []byte) []lexer.Token {
	lx, err := nnLexer.Lex(filename, bytes.NewReader(src))
	if err != nil {
		return nil
	}
	skip := map[lexer.TokenType]bool{nnLexer.Symbols()["Whitespace"]: true, nnLexer.Symbols()["Comment"]: true}
	var out []lexer.Token
	for {
		t, err := lx.Next()
		if err != nil || t.EOF() {
			return out
		}
		if !skip[t.Type] {
			out = append(out, t)
		}
	}
}

// closing returns the index of the bracket that closes the one at toks[i],
// or len(toks) when none does.
func closing(toks []lexer.Token, i int) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		switch toks[j].Value {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			if depth--; depth == 0 {
				return j
			}
		}
	}
	return len(toks)
}

// forwardError explains the syntax errors people make most in a forward
// block, which the parser, backtracking out of the block, reports as an
// unexpected name: an input without a type, `forward(x)`, and a body that
// does not end with `return expr` (a bare expression, `fc3(h)`, where the
// return belongs). ok is false for other errors.
func forwardError(filename string, src []byte, tok lexer.Token) (p diag.Pos, msg string, ok bool) {
	ident := nnLexer.Symbols()["Ident"]
	toks := tokens(filename, src)
	at := -1
	for i, t := range toks {
		if t.Pos.Offset == tok.Pos.Offset {
			at = i
			break
		}
	}
	if at < 0 || tok.EOF() {
		return p, "", false
	}
	model := "the model"
	for k := 0; k <= at; k++ {
		if toks[k].Value == "model" && k+1 < len(toks) && toks[k+1].Type == ident {
			model = toks[k+1].Value
		}
		if toks[k].Value != "forward" || k+1 >= len(toks) || toks[k+1].Value != "(" {
			continue
		}
		// The inputs: a name, then ":" and its type.
		end := closing(toks, k+1)
		if at >= k && at <= end {
			depth := 0
			for j := k + 2; j < end; j++ {
				start := depth == 0 && (j == k+2 || toks[j-1].Value == ",")
				switch toks[j].Value {
				case "(", "[", "{":
					depth++
				case ")", "]", "}":
					depth--
				}
				if start && toks[j].Type == ident && (j+1 == len(toks) || toks[j+1].Value == "," || toks[j+1].Value == ")") {
					name := toks[j].Value
					return pos(toks[j].Pos), fmt.Sprintf("forward(%s): %s needs a type, as in %s: f32[N, 10]", name, name, name), true
				}
			}
		}
		// The body: a statement starting with a name that no "=" follows.
		if end+1 >= len(toks) || toks[end+1].Value != "{" {
			continue
		}
		close := closing(toks, end+1)
		if at <= end+1 || at >= close || tok.Type != ident || (at+1 < len(toks) && toks[at+1].Value == "=") {
			continue
		}
		for j := end + 2; j < close; j++ {
			if toks[j].Value == "return" {
				return pos(tok.Pos), fmt.Sprintf("%s starts no statement: expected `name = expr` or `return expr`", tok.Value), true
			}
		}
		return pos(tok.Pos), fmt.Sprintf("forward of %s ends without `return expr` (%s starts no statement: write `name = expr`, or `return expr` last)", model, tok.Value), true
	}
	return p, "", false
}

// bracket is an opening bracket seen by openBracket.
type bracket struct {
	Text      string
	Line, Col int
}

// openBracket scans the tokens before offset and returns the innermost
// bracket still open there and how many are open, so that a syntax error can
// point at the "(" or "{" that was never closed.
func openBracket(filename string, src []byte, offset int) (bracket, int) {
	lx, err := nnLexer.Lex(filename, bytes.NewReader(src))
	if err != nil {
		return bracket{}, 0
	}
	var stack []bracket
	for {
		tok, err := lx.Next()
		if err != nil || tok.EOF() || tok.Pos.Offset >= offset {
			break
		}
		switch tok.Value {
		case "(", "[", "{":
			stack = append(stack, bracket{tok.Value, tok.Pos.Line, tok.Pos.Column})
		case ")", "]", "}":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	if len(stack) == 0 {
		return bracket{}, 0
	}
	return stack[len(stack)-1], len(stack)
}

func describe(tok lexer.Token) string {
	switch tok.Type {
	case nnLexer.Symbols()["Ident"]:
		return fmt.Sprintf("name %s", tok.Value)
	case nnLexer.Symbols()["Number"]:
		return fmt.Sprintf("number %s", tok.Value)
	case nnLexer.Symbols()["String"]:
		return fmt.Sprintf("string %s", tok.Value)
	}
	return fmt.Sprintf("%q", tok.Value)
}

// endOfFile is the position just after the last non-space character, where
// an unterminated construct is noticed.
func endOfFile(filename string, src []byte) diag.Pos {
	trimmed := bytes.TrimRight(src, " \t\r\n")
	line := 1 + bytes.Count(trimmed, []byte("\n"))
	last := trimmed[bytes.LastIndexByte(trimmed, '\n')+1:]
	return diag.Pos{File: filename, Line: line, Col: utf8.RuneCount(last) + 1}
}

// converter builds the AST from participle's tree; it records the first
// error found in literals (such as a number out of range).
type converter struct {
	file string
	err  *diag.Diagnostic
}

func (c *converter) fail(p diag.Pos, format string, args ...any) {
	if c.err == nil {
		c.err = &diag.Diagnostic{Pos: p, Msg: fmt.Sprintf(format, args...)}
	}
}

func (c *converter) file_(g *gFile) *File {
	f := &File{Name: c.file}
	for _, d := range g.Decls {
		switch {
		case d.Model != nil:
			f.Decls = append(f.Decls, c.model(d.Model))
		case d.Train != nil:
			f.Decls = append(f.Decls, c.train(d.Train))
		}
	}
	return f
}

func (c *converter) ident(g gIdent) *Ident { return &Ident{Pos: pos(g.Pos), Name: g.Name} }

func (c *converter) model(g *gModel) *Model {
	m := &Model{Pos: pos(g.Pos), Name: c.ident(g.Name), Close: pos(g.Close.Pos)}
	for _, p := range g.Params {
		m.Params = append(m.Params, &Param{Name: c.ident(p.Name), Value: c.expr(p.Value)})
	}
	for _, it := range g.Body {
		switch {
		case it.Forward != nil:
			m.Items = append(m.Items, c.forward(it.Forward))
		case it.Assign != nil:
			m.Items = append(m.Items, c.assign(it.Assign))
		}
	}
	return m
}

func (c *converter) assign(g *gAssign) *Assign {
	a := &Assign{Name: c.ident(g.Name), Value: c.expr(g.Value)}
	a.EndPos = ExprEnd(a.Value)
	return a
}

func (c *converter) forward(g *gForward) *Forward {
	f := &Forward{Pos: pos(g.Pos), Close: pos(g.Close.Pos)}
	for _, in := range g.Inputs {
		input := &Input{Name: c.ident(in.Name), DType: c.ident(in.DType)}
		for _, d := range in.Dims {
			input.Dims = append(input.Dims, c.expr(d))
		}
		f.Inputs = append(f.Inputs, input)
	}
	for _, s := range g.Body {
		switch {
		case s.Return != nil:
			v := c.expr(s.Return)
			f.Body = append(f.Body, &Return{Pos: pos(s.Pos), Value: v, EndPos: ExprEnd(v)})
		case s.Assign != nil:
			f.Body = append(f.Body, c.assign(s.Assign))
		}
	}
	return f
}

func (c *converter) train(g *gTrain) *Train {
	t := &Train{Pos: pos(g.Pos), Model: c.ident(g.Model), Close: pos(g.Close.Pos)}
	for _, a := range g.Args {
		t.Args = append(t.Args, c.arg(a))
	}
	for _, a := range g.Body {
		t.Body = append(t.Body, c.assign(a))
	}
	return t
}

func (c *converter) arg(g *gArg) *Arg {
	a := &Arg{Value: c.expr(g.Value)}
	if g.Key != nil {
		a.Key = c.ident(*g.Key)
	}
	return a
}

func (c *converter) expr(g *gExpr) Expr {
	x := c.mul(g.Left)
	for _, r := range g.Right {
		x = &Binary{X: x, Op: r.Op, OpPos: pos(r.Pos), Y: c.mul(r.Right)}
	}
	return x
}

func (c *converter) mul(g *gMul) Expr {
	x := c.unary(g.Left)
	for _, r := range g.Right {
		x = &Binary{X: x, Op: r.Op, OpPos: pos(r.Pos), Y: c.unary(r.Right)}
	}
	return x
}

func (c *converter) unary(g *gUnary) Expr {
	if g.Neg != nil {
		return &Unary{Pos: pos(g.Pos), Op: "-", X: c.unary(g.Neg)}
	}
	return c.primary(g.Primary)
}

func (c *converter) primary(g *gPrimary) Expr {
	p := pos(g.Pos)
	switch {
	case g.Number != nil:
		return c.number(p, *g.Number)
	case g.String != nil:
		s, err := strconv.Unquote(*g.String)
		if err != nil {
			c.fail(p, "invalid string literal %s", *g.String)
		}
		return &String{Pos: p, Text: *g.String, Value: s}
	case g.Call != nil:
		call := &Call{Fun: c.ident(g.Call.Name), Rparen: pos(g.Call.Close.Pos)}
		for _, a := range g.Call.Args {
			call.Args = append(call.Args, c.arg(a))
		}
		return call
	case g.Select != nil:
		sel := &Selector{Path: []*Ident{c.ident(g.Select.Base)}}
		for _, f := range g.Select.Fields {
			sel.Path = append(sel.Path, c.ident(*f))
		}
		return sel
	case g.Ident != nil:
		return &Ident{Pos: p, Name: *g.Ident}
	case g.Paren != nil:
		return c.expr(g.Paren)
	case g.List != nil:
		l := &List{Pos: p, Close: pos(g.List.Close.Pos)}
		for _, e := range g.List.Elems {
			l.Elems = append(l.Elems, c.expr(e))
		}
		return l
	}
	c.fail(p, "empty expression")
	return &Ident{Pos: p}
}

func (c *converter) number(p diag.Pos, text string) *Number {
	n := &Number{Pos: p, Text: text}
	if !strings.ContainsAny(text, ".eE") {
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			c.fail(p, "integer %s is out of range", text)
		}
		n.Value, n.IsInt = float64(v), true
		return n
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		c.fail(p, "number %s is out of range", text)
	}
	n.Value = v
	return n
}

// ExprEnd returns the position just after the last character of x.
func ExprEnd(x Expr) diag.Pos {
	switch x := x.(type) {
	case *Ident:
		return advance(x.Pos, len(x.Name))
	case *Selector:
		last := x.Path[len(x.Path)-1]
		return advance(last.Pos, len(last.Name))
	case *Number:
		return advance(x.Pos, len(x.Text))
	case *String:
		return advance(x.Pos, utf8.RuneCountInString(x.Text))
	case *Call:
		return advance(x.Rparen, 1)
	case *List:
		return advance(x.Close, 1)
	case *Unary:
		return ExprEnd(x.X)
	case *Binary:
		return ExprEnd(x.Y)
	}
	return diag.Pos{}
}

func advance(p diag.Pos, n int) diag.Pos {
	p.Col += n
	return p
}
