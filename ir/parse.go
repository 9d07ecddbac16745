package ir

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nnc-go/nnc/diag"
)

// Parse reads the text form that Print writes. Every value must be defined
// before it is used, and its declared type must be the one its op's shape
// rule gives: the result passes Verify or Parse fails.
func Parse(text string) (*Graph, error) {
	p := &irParser{}
	g, err := p.parse(text)
	if err != nil {
		return nil, fmt.Errorf("ir: line %d: %w", p.line, err)
	}
	if err := Verify(g); err != nil {
		return nil, err
	}
	return g, nil
}

type irParser struct {
	line int
}

func (p *irParser) parse(text string) (*Graph, error) {
	lines := strings.Split(text, "\n")
	var g *Graph
	byID := map[int]*Value{}
	done := false
	for i, raw := range lines {
		p.line = i + 1
		ln := strings.TrimSpace(raw)
		if ln == "" || strings.HasPrefix(ln, "//") {
			continue
		}
		if done {
			return nil, fmt.Errorf("text after the closing brace")
		}
		switch {
		case g == nil:
			rest, ok := strings.CutPrefix(ln, "graph ")
			if !ok || !strings.HasSuffix(rest, "{") {
				return nil, fmt.Errorf(`expected "graph NAME "FILE" {"`)
			}
			rest = strings.TrimSpace(strings.TrimSuffix(rest, "{"))
			name, file, ok := strings.Cut(rest, " ")
			if !ok || name == "" {
				return nil, fmt.Errorf("graph header needs a name and a quoted file")
			}
			file = strings.TrimSpace(file)
			q, err := strconv.QuotedPrefix(file)
			if err != nil {
				return nil, fmt.Errorf("graph file %s is not a quoted string", file)
			}
			f, _ := strconv.Unquote(q)
			var attrs Attrs
			if tail := strings.TrimSpace(file[len(q):]); tail != "" {
				a, r, err := parseAttrs(tail)
				if err != nil || strings.TrimSpace(r) != "" {
					return nil, fmt.Errorf("bad graph attributes %s", tail)
				}
				attrs = a
			}
			g = NewGraph(name, f)
			g.Attrs = attrs
		case ln == "}":
			done = true
		case ln == "return" || strings.HasPrefix(ln, "return "):
			if err := parseOutputs(g, strings.TrimPrefix(ln, "return"), byID); err != nil {
				return nil, err
			}
		default:
			v, err := p.value(ln, g, byID)
			if err != nil {
				return nil, err
			}
			if byID[v.ID] != nil {
				return nil, fmt.Errorf("v%d defined twice", v.ID)
			}
			byID[v.ID] = v
			g.Values = append(g.Values, v)
			g.nextID = max(g.nextID, v.ID+1)
		}
	}
	if g == nil {
		return nil, fmt.Errorf("no graph")
	}
	if !done {
		return nil, fmt.Errorf("graph not closed by }")
	}
	return g, nil
}

// parseOutputs reads ` name=vID name=vID`, names quoted when they must be.
func parseOutputs(g *Graph, rest string, byID map[int]*Value) error {
	for {
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			return nil
		}
		var name string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return fmt.Errorf("bad quoted output name")
			}
			name, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			eq := strings.IndexByte(rest, '=')
			if eq < 0 {
				return fmt.Errorf("output %q is not name=value", rest)
			}
			var err error
			if name, err = unquoteName(rest[:eq]); err != nil {
				return err
			}
			rest = rest[eq:]
		}
		ref, ok := strings.CutPrefix(rest, "=")
		if !ok {
			return fmt.Errorf("output %s is not name=value", name)
		}
		ref, rest, _ = strings.Cut(ref, " ")
		v, err := ref2value(ref, byID)
		if err != nil {
			return err
		}
		if g.Output(name) != nil {
			return fmt.Errorf("output %s listed twice", name)
		}
		g.Outputs = append(g.Outputs, Output{name, v})
	}
}

func ref2value(ref string, byID map[int]*Value) (*Value, error) {
	id, ok := parseRef(ref)
	if !ok {
		return nil, fmt.Errorf("%q is not a value reference", ref)
	}
	v := byID[id]
	if v == nil {
		return nil, fmt.Errorf("v%d used before it is defined", id)
	}
	return v, nil
}

func parseRef(s string) (int, bool) {
	if !strings.HasPrefix(s, "v") {
		return 0, false
	}
	id, err := strconv.Atoi(s[1:])
	if err != nil || id < 0 || strconv.Itoa(id) != s[1:] {
		return 0, false
	}
	return id, true
}

// value parses `vID = Op <type> args {attrs} (name) @line:col`.
func (p *irParser) value(ln string, g *Graph, byID map[int]*Value) (*Value, error) {
	lhs, rhs, ok := strings.Cut(ln, " = ")
	if !ok {
		return nil, fmt.Errorf("expected vID = Op <type> ...")
	}
	id, ok := parseRef(lhs)
	if !ok {
		return nil, fmt.Errorf("%q is not a value ID", lhs)
	}
	v := &Value{ID: id}
	opName, rest, _ := strings.Cut(rhs, " ")
	op, ok := LookupOp(opName)
	if !ok {
		return nil, fmt.Errorf("unknown op %q", opName)
	}
	v.Op = op
	rest = strings.TrimSpace(rest)
	if !strings.HasPrefix(rest, "<") {
		return nil, fmt.Errorf("expected <type> after %s", opName)
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return nil, fmt.Errorf("type not closed by >")
	}
	t, err := parseType(rest[1:end])
	if err != nil {
		return nil, err
	}
	v.Type = t
	rest = strings.TrimSpace(rest[end+1:])
	for rest != "" && rest[0] == 'v' {
		f, r, _ := strings.Cut(rest, " ")
		a, err := ref2value(f, byID)
		if err != nil {
			return nil, err
		}
		v.Args = append(v.Args, a)
		rest = strings.TrimSpace(r)
	}
	if strings.HasPrefix(rest, "{") {
		attrs, r, err := parseAttrs(rest)
		if err != nil {
			return nil, err
		}
		v.Attrs = attrs
		rest = strings.TrimSpace(r)
	}
	if strings.HasPrefix(rest, "(") {
		name, r, err := parseParenName(rest)
		if err != nil {
			return nil, err
		}
		v.Name = name
		rest = strings.TrimSpace(r)
	}
	if strings.HasPrefix(rest, "@") {
		l, c, ok := strings.Cut(rest[1:], ":")
		line, err1 := strconv.Atoi(l)
		col, err2 := strconv.Atoi(c)
		if !ok || err1 != nil || err2 != nil || line <= 0 || col <= 0 {
			return nil, fmt.Errorf("bad position %q", rest)
		}
		v.Pos = diag.Pos{File: g.File, Line: line, Col: col}
		rest = ""
	}
	if rest != "" {
		return nil, fmt.Errorf("unexpected %q", rest)
	}
	return v, nil
}

// parseAttrs reads {k=v,k=v} from the start of s; values may be quoted
// strings holding commas and braces, or lists in brackets.
func parseAttrs(s string) (Attrs, string, error) {
	var attrs Attrs
	i := 1
	for {
		if i >= len(s) {
			return nil, "", fmt.Errorf("attributes not closed by }")
		}
		if s[i] == '}' {
			return attrs, s[i+1:], nil
		}
		if len(attrs) > 0 {
			if s[i] != ',' {
				return nil, "", fmt.Errorf("expected , between attributes")
			}
			i++
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq <= 0 {
			return nil, "", fmt.Errorf("attribute without =")
		}
		key := s[i : i+eq]
		if strings.ContainsAny(key, " ,{}") {
			return nil, "", fmt.Errorf("bad attribute name %q", key)
		}
		i += eq + 1
		j := i
		switch {
		case j < len(s) && s[j] == '"':
			j++
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			j++
		case j < len(s) && s[j] == '[':
			for j < len(s) && s[j] != ']' {
				j++
			}
			j++
		default:
			for j < len(s) && s[j] != ',' && s[j] != '}' {
				j++
			}
		}
		if j > len(s) {
			return nil, "", fmt.Errorf("attribute %s not terminated", key)
		}
		val, err := parseAttrVal(s[i:j])
		if err != nil {
			return nil, "", fmt.Errorf("attribute %s: %v", key, err)
		}
		if _, dup := attrs.Get(key); dup {
			return nil, "", fmt.Errorf("attribute %s given twice", key)
		}
		attrs = append(attrs, Attr{key, val})
		i = j
	}
}

func parseParenName(s string) (string, string, error) {
	if strings.HasPrefix(s, `("`) {
		q, err := strconv.QuotedPrefix(s[1:])
		if err != nil {
			return "", "", fmt.Errorf("bad quoted name")
		}
		name, _ := strconv.Unquote(q)
		r, ok := strings.CutPrefix(s[1+len(q):], ")")
		if !ok {
			return "", "", fmt.Errorf("name not closed by )")
		}
		return name, r, nil
	}
	end := strings.IndexByte(s, ')')
	if end < 0 {
		return "", "", fmt.Errorf("name not closed by )")
	}
	name, err := unquoteName(s[1:end])
	return name, s[end+1:], err
}

func unquoteName(s string) (string, error) {
	if strings.HasPrefix(s, `"`) {
		return strconv.Unquote(s)
	}
	if s == "" || quoteName(s) != s {
		return "", fmt.Errorf("bad name %q", s)
	}
	return s, nil
}
