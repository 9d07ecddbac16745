package dsl

import (
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2/lexer"
)

// The lexer is written by hand: participle's regular-expression lexer
// matches each token against the rest of the input, which is quadratic in
// the file's length, and a model file must lex in linear time whatever it
// holds.

// Token types, as participle numbers them: negative, EOF is -1.
const (
	tComment lexer.TokenType = -(iota + 2)
	tString
	tNumber
	tIdent
	tPunct
	tWhitespace // never produced; named so that participle can elide it
)

type lexDef struct{}

var nnLexer lexer.Definition = lexDef{}

func (lexDef) Symbols() map[string]lexer.TokenType {
	return map[string]lexer.TokenType{
		"EOF": lexer.EOF, "Comment": tComment, "String": tString, "Number": tNumber,
		"Ident": tIdent, "Punct": tPunct, "Whitespace": tWhitespace,
	}
}

func (d lexDef) Lex(filename string, r io.Reader) (lexer.Lexer, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return d.LexString(filename, string(b))
}

func (lexDef) LexString(filename, s string) (lexer.Lexer, error) {
	return &scanner{src: s, pos: lexer.Position{Filename: filename, Line: 1, Column: 1}}, nil
}

// scanner produces the tokens of one source.
type scanner struct {
	src string
	pos lexer.Position // of src[pos.Offset]
}

func (s *scanner) peek(i int) byte {
	if s.pos.Offset+i < len(s.src) {
		return s.src[s.pos.Offset+i]
	}
	return 0
}

// advance moves past n bytes, keeping line and column (in runes).
func (s *scanner) advance(n int) {
	end := s.pos.Offset + n
	for s.pos.Offset < end {
		r, size := utf8.DecodeRuneInString(s.src[s.pos.Offset:])
		s.pos.Offset += size
		if r == '\n' {
			s.pos.Line++
			s.pos.Column = 1
		} else {
			s.pos.Column++
		}
	}
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func (s *scanner) Next() (lexer.Token, error) {
	for {
		c := s.peek(0)
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			s.advance(1)
			continue
		}
		break
	}
	start := s.pos
	if start.Offset >= len(s.src) {
		return lexer.EOFToken(start), nil
	}
	c := s.peek(0)
	n := 0
	var typ lexer.TokenType
	switch {
	case c == '/' && s.peek(1) == '/':
		for n < len(s.src)-start.Offset && s.src[start.Offset+n] != '\n' {
			n++
		}
		typ = tComment
	case c == '"':
		n = 1
		for {
			if start.Offset+n >= len(s.src) || s.src[start.Offset+n] == '\n' {
				return lexer.Token{}, &lexer.Error{Msg: "string literal not terminated", Pos: start}
			}
			b := s.src[start.Offset+n]
			n++
			if b == '\\' && start.Offset+n < len(s.src) && s.src[start.Offset+n] != '\n' {
				n++
				continue
			}
			if b == '"' {
				break
			}
		}
		typ = tString
	case isDigit(c) || (c == '.' && isDigit(s.peek(1))):
		for isDigit(s.peek(n)) {
			n++
		}
		if s.peek(n) == '.' {
			n++
			for isDigit(s.peek(n)) {
				n++
			}
		}
		if e := s.peek(n); e == 'e' || e == 'E' {
			m := n + 1
			if sign := s.peek(m); sign == '+' || sign == '-' {
				m++
			}
			if isDigit(s.peek(m)) {
				for isDigit(s.peek(m)) {
					m++
				}
				n = m
			}
		}
		typ = tNumber
	case isLetter(c):
		for isLetter(s.peek(n)) || isDigit(s.peek(n)) {
			n++
		}
		typ = tIdent
	default:
		switch c {
		case '-', '+', '*', '/', '@', '(', ')', '{', '}', '[', ']', '=', ',', ':', '.':
			n, typ = 1, tPunct
		default:
			r, _ := utf8.DecodeRuneInString(s.src[start.Offset:])
			return lexer.Token{}, &lexer.Error{Msg: fmt.Sprintf("unexpected character %q", r), Pos: start}
		}
	}
	tok := lexer.Token{Type: typ, Value: s.src[start.Offset : start.Offset+n], Pos: start}
	s.advance(n)
	return tok, nil
}
