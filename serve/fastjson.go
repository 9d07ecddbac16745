package serve

import (
	"strconv"
	"unsafe"
)

// The usual request is {"inputs": {"x": [[v, v, ...], ...]}}: flat rows
// of numbers for float inputs. encoding/json spends most of a request's
// processor time on it (validating the body, scanning it again into raw
// messages, then reflecting over every number), several times the MNIST
// MLP's forward pass. fastDecode reads that form in one pass with no
// reflection. Anything else, including every malformed or refused
// request, makes it give up (ok false) so that decodeJSON's general reader
// gives the answer and its error message: fastDecode only ever accepts
// what the general reader accepts, with the same numbers (FuzzDecode
// checks both readers agree).

// fastDecode decodes body when it is in the common form for s's inputs.
func (s *Server) fastDecode(body []byte) (in map[string]any, rows int, ok bool) {
	for _, t := range s.in {
		if t.DType != "f32" && t.DType != "f64" {
			return nil, 0, false
		}
	}
	p := jsonScanner{b: body}
	if !p.lit('{') || !p.key("inputs") || !p.lit(':') || !p.lit('{') {
		return nil, 0, false
	}
	in = make(map[string]any, len(s.in))
	rows = -1
	for first := true; ; first = false {
		if p.lit('}') {
			if first {
				return nil, 0, false
			}
			break
		}
		if !first && !p.lit(',') {
			return nil, 0, false
		}
		name, ok := p.str()
		if !ok || !p.lit(':') {
			return nil, 0, false
		}
		t := -1
		for i := range s.in {
			if s.in[i].Name == name {
				t = i
			}
		}
		if _, dup := in[name]; t < 0 || dup {
			return nil, 0, false
		}
		x, n, ok := p.rows(s.in[t].DType, s.in[t].RowSize())
		if !ok || n == 0 || n > s.cfg.MaxRows || (rows >= 0 && n != rows) {
			return nil, 0, false
		}
		rows = n
		in[s.in[t].Name] = x
	}
	if !p.lit('}') || !p.end() || len(in) != len(s.in) {
		return nil, 0, false
	}
	return in, rows, true
}

// jsonScanner reads the JSON subset fastDecode accepts.
type jsonScanner struct {
	b []byte
	i int
}

func (p *jsonScanner) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// lit consumes the byte c after any white space.
func (p *jsonScanner) lit(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (p *jsonScanner) end() bool {
	p.space()
	return p.i == len(p.b)
}

// str reads a string without escapes or control characters (a name
// with either goes to the general reader).
func (p *jsonScanner) str() (string, bool) {
	if !p.lit('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := string(p.b[start:p.i])
			p.i++
			return s, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", false
		}
		p.i++
	}
	return "", false
}

// key reads the string k exactly: encoding/json matches field names
// case-insensitively, which the general reader handles.
func (p *jsonScanner) key(k string) bool {
	s, ok := p.str()
	return ok && s == k
}

// rows reads [[v, ...], ...] with size numbers in every row.
func (p *jsonScanner) rows(dtype string, size int) (any, int, bool) {
	if !p.lit('[') {
		return nil, 0, false
	}
	var x32 []float32
	var x64 []float64
	n := 0
	for first := true; ; first = false {
		if p.lit(']') {
			break
		}
		if !first && !p.lit(',') {
			return nil, 0, false
		}
		if !p.lit('[') {
			return nil, 0, false
		}
		for k := 0; k < size; k++ {
			if k > 0 && !p.lit(',') {
				return nil, 0, false
			}
			num, ok := p.number()
			if !ok {
				return nil, 0, false
			}
			if dtype == "f32" {
				v, err := strconv.ParseFloat(num, 32)
				if err != nil {
					return nil, 0, false
				}
				if x32 == nil {
					x32 = make([]float32, 0, size)
				}
				x32 = append(x32, float32(v))
			} else {
				v, err := strconv.ParseFloat(num, 64)
				if err != nil {
					return nil, 0, false
				}
				if x64 == nil {
					x64 = make([]float64, 0, size)
				}
				x64 = append(x64, v)
			}
		}
		if !p.lit(']') {
			return nil, 0, false
		}
		n++
	}
	if dtype == "f32" {
		return x32, n, true
	}
	return x64, n, true
}

// number reads a number of JSON's grammar,
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and returns its text
// (a view of the body, valid while it is).
func (p *jsonScanner) number() (string, bool) {
	p.space()
	b, i := p.b, p.i
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return "", false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return "", false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return "", false
		}
	}
	p.i = i
	return unsafe.String(&b[start], i-start), true
}
