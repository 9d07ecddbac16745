package dsl

import (
	"strings"
)

// Format prints f in nnc's canonical layout: four-space indentation, one
// statement per line, `=` aligned across a run of consecutive assignments,
// single spaces around binary operators and keyword arguments, parentheses
// only where precedence needs them, at most one blank line kept where the
// source had any, and every comment kept, trailing comments aligned.
// Format(Parse(Format(x))) == Format(x).
func Format(f *File) []byte {
	p := &printer{comments: f.Comments}
	for i, d := range f.Decls {
		if i > 0 {
			p.blankNext = true
		}
		switch d := d.(type) {
		case *Model:
			p.model(d)
		case *Train:
			p.train(d)
		}
	}
	p.flushBefore(1<<31-1, 0)
	return render(p.lines)
}

type line struct {
	indent  int
	assign  bool   // name = text, with name padded across a run
	name    string // for assignments
	text    string
	comment string // a trailing comment
	blank   bool   // a blank line precedes this one
}

type printer struct {
	comments  []*Comment
	next      int // first comment not yet printed
	lines     []line
	lastLine  int  // last source line printed
	blankNext bool // force a blank line before the next line
	depth     int
}

func (p *printer) emit(l line, srcStart int) {
	l.indent = p.depth
	if len(p.lines) > 0 && (p.blankNext || (p.lastLine > 0 && srcStart > p.lastLine+1)) {
		l.blank = true
	}
	p.blankNext = false
	p.lines = append(p.lines, l)
}

// flushBefore prints, as lines of their own, the comments that start before
// source line n.
func (p *printer) flushBefore(n, indent int) {
	for p.next < len(p.comments) && p.comments[p.next].Pos.Line < n {
		c := p.comments[p.next]
		p.emit(line{text: c.Text}, c.Pos.Line)
		p.lastLine = c.Pos.Line
		p.next++
	}
}

// trailing takes the comments on lines start..end: the last one becomes the
// trailing comment of the construct printed there, the others are printed
// before it.
func (p *printer) lineWith(l line, start, end int) {
	p.flushBefore(start, p.depth)
	var inner []*Comment
	for p.next < len(p.comments) && p.comments[p.next].Pos.Line <= end {
		inner = append(inner, p.comments[p.next])
		p.next++
	}
	if n := len(inner); n > 0 {
		for _, c := range inner[:n-1] {
			p.emit(line{text: c.Text}, c.Pos.Line)
			p.lastLine = c.Pos.Line
		}
		l.comment = inner[n-1].Text
	}
	p.emit(l, start)
	p.lastLine = end
}

func (p *printer) closeBlock(close int) {
	p.flushBefore(close, p.depth)
	p.depth--
	p.lineWith(line{text: "}"}, close, close)
}

func (p *printer) model(m *Model) {
	var b strings.Builder
	b.WriteString("model ")
	b.WriteString(m.Name.Name)
	if len(m.Params) > 0 {
		b.WriteByte('(')
		for i, prm := range m.Params {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(prm.Name.Name)
			b.WriteString(" = ")
			b.WriteString(ExprString(prm.Value))
		}
		b.WriteByte(')')
	}
	b.WriteString(" {")
	p.lineWith(line{text: b.String()}, m.Pos.Line, m.Pos.Line)
	p.depth++
	for _, it := range m.Items {
		switch it := it.(type) {
		case *Assign:
			p.assign(it)
		case *Forward:
			p.forward(it)
		}
	}
	p.closeBlock(m.Close.Line)
}

func (p *printer) assign(a *Assign) {
	p.lineWith(line{assign: true, name: a.Name.Name, text: ExprString(a.Value)}, a.Name.Pos.Line, a.EndPos.Line)
}

func (p *printer) forward(f *Forward) {
	var b strings.Builder
	b.WriteString("forward(")
	for i, in := range f.Inputs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(in.Name.Name)
		b.WriteString(": ")
		b.WriteString(in.DType.Name)
		b.WriteByte('[')
		for j, d := range in.Dims {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(ExprString(d))
		}
		b.WriteByte(']')
	}
	b.WriteString(") {")
	p.lineWith(line{text: b.String()}, f.Pos.Line, f.Pos.Line)
	p.depth++
	for _, s := range f.Body {
		switch s := s.(type) {
		case *Assign:
			p.assign(s)
		case *Return:
			p.lineWith(line{text: "return " + ExprString(s.Value)}, s.Pos.Line, s.EndPos.Line)
		}
	}
	p.closeBlock(f.Close.Line)
}

func (p *printer) train(t *Train) {
	head := "train " + t.Model.Name
	if len(t.Args) > 0 {
		head += "(" + argsString(t.Args) + ")"
	}
	p.lineWith(line{text: head + " {"}, t.Pos.Line, t.Pos.Line)
	p.depth++
	for _, a := range t.Body {
		p.assign(a)
	}
	p.closeBlock(t.Close.Line)
}

// render lays the lines out: names aligned in each run of assignments at one
// indentation, trailing comments aligned in each run of lines that have one.
func render(lines []line) []byte {
	code := make([]string, len(lines))
	for i := 0; i < len(lines); {
		j := i + 1
		if lines[i].assign {
			for j < len(lines) && lines[j].assign && !lines[j].blank && lines[j].indent == lines[i].indent {
				j++
			}
			width := 0
			for _, l := range lines[i:j] {
				width = max(width, len(l.name))
			}
			for k := i; k < j; k++ {
				l := lines[k]
				code[k] = l.name + strings.Repeat(" ", width-len(l.name)) + " = " + l.text
			}
		} else {
			code[i] = lines[i].text
		}
		i = j
	}
	var b strings.Builder
	for i := 0; i < len(lines); {
		j := i + 1
		if lines[i].comment != "" {
			for j < len(lines) && lines[j].comment != "" && !lines[j].blank {
				j++
			}
		}
		width := 0
		for k := i; k < j; k++ {
			width = max(width, 4*lines[k].indent+len(code[k]))
		}
		for k := i; k < j; k++ {
			l := lines[k]
			if l.blank {
				b.WriteByte('\n')
			}
			s := strings.Repeat("    ", l.indent) + code[k]
			if l.comment != "" {
				if code[k] != "" {
					s += strings.Repeat(" ", width-len(s)+1)
				}
				s += l.comment
			}
			b.WriteString(s)
			b.WriteByte('\n')
		}
		i = j
	}
	return []byte(b.String())
}

// ExprString prints x in canonical form.
func ExprString(x Expr) string {
	var b strings.Builder
	writeExpr(&b, x)
	return b.String()
}

func argsString(args []*Arg) string {
	var b strings.Builder
	writeArgs(&b, args)
	return b.String()
}

func writeArgs(b *strings.Builder, args []*Arg) {
	for i, a := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		if a.Key != nil {
			b.WriteString(a.Key.Name)
			b.WriteString(" = ")
		}
		writeExpr(b, a.Value)
	}
}

func writeExpr(b *strings.Builder, x Expr) {
	switch x := x.(type) {
	case *Ident:
		b.WriteString(x.Name)
	case *Selector:
		b.WriteString(x.Name())
	case *Number:
		b.WriteString(x.Text)
	case *String:
		b.WriteString(x.Text)
	case *Call:
		b.WriteString(x.Fun.Name)
		b.WriteByte('(')
		writeArgs(b, x.Args)
		b.WriteByte(')')
	case *List:
		b.WriteByte('[')
		for i, e := range x.Elems {
			if i > 0 {
				b.WriteString(", ")
			}
			writeExpr(b, e)
		}
		b.WriteByte(']')
	case *Unary:
		b.WriteString(x.Op)
		writeOperand(b, x.X, 3, false)
	case *Binary:
		prec := Precedence(x.Op)
		writeOperand(b, x.X, prec, false)
		b.WriteString(" " + x.Op + " ")
		writeOperand(b, x.Y, prec, true)
	}
}

// writeOperand parenthesizes x when it binds more loosely than its parent,
// or as tightly when it is a right operand: a - (b - c) keeps its meaning,
// and so does a + (b + c), since float addition is not associative.
func writeOperand(b *strings.Builder, x Expr, parent int, right bool) {
	need := false
	switch x := x.(type) {
	case *Binary:
		p := Precedence(x.Op)
		need = p < parent || (right && p == parent)
	case *Unary:
		need = parent == 3 // --x stays -(-x), which cannot lex as a comment or decrement
	}
	if need {
		b.WriteByte('(')
	}
	writeExpr(b, x)
	if need {
		b.WriteByte(')')
	}
}
