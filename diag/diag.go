// Package diag holds the source positions and diagnostics shared by every
// stage of nnc: the parser, the IR builder, the passes and the command line.
//
// A diagnostic prints as the Go toolchain's do, `file:line:col: message`,
// with related positions indented on the lines below it, so editors and
// terminals turn it into a link.
package diag

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a position in a source file. Line and Col count from 1; the zero
// Pos means "no position".
type Pos struct {
	File string
	Line int
	Col  int
}

// IsValid reports whether p names a line.
func (p Pos) IsValid() bool { return p.Line > 0 }

// String formats p as file:line:col, or file alone when p has no line.
func (p Pos) String() string {
	switch {
	case !p.IsValid() && p.File == "":
		return "-"
	case !p.IsValid():
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Before reports whether p comes before q in the same file, or whether p's
// file sorts before q's.
func (p Pos) Before(q Pos) bool {
	if p.File != q.File {
		return p.File < q.File
	}
	if p.Line != q.Line {
		return p.Line < q.Line
	}
	return p.Col < q.Col
}

// Severity tells errors from warnings.
type Severity int

const (
	// Error makes the input invalid.
	Error Severity = iota
	// Warning is printed but the input stays valid.
	Warning
)

// Related is a secondary position of a diagnostic, such as the declaration
// of a layer that a shape error is about.
type Related struct {
	Pos Pos
	Msg string
}

// Diagnostic is one message about the user's input.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Msg      string
	Related  []Related
}

// Error formats d, its related positions on indented lines below it.
func (d *Diagnostic) Error() string {
	var b strings.Builder
	b.WriteString(d.Pos.String())
	b.WriteString(": ")
	if d.Severity == Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Msg)
	for _, r := range d.Related {
		fmt.Fprintf(&b, "\n\t%s: %s", r.Pos, r.Msg)
	}
	return b.String()
}

// MaxErrors caps the number of errors a List reports, as go/types does: past
// that many, the rest are usually consequences of the first.
const MaxErrors = 20

// List collects diagnostics. The zero List is ready to use.
type List struct {
	Diags []*Diagnostic
}

// Errorf adds an error at pos.
func (l *List) Errorf(pos Pos, format string, args ...any) *Diagnostic {
	d := &Diagnostic{Pos: pos, Severity: Error, Msg: fmt.Sprintf(format, args...)}
	l.Diags = append(l.Diags, d)
	return d
}

// Warnf adds a warning at pos.
func (l *List) Warnf(pos Pos, format string, args ...any) *Diagnostic {
	d := &Diagnostic{Pos: pos, Severity: Warning, Msg: fmt.Sprintf(format, args...)}
	l.Diags = append(l.Diags, d)
	return d
}

// Also appends a related position to d and returns d.
func (d *Diagnostic) Also(pos Pos, format string, args ...any) *Diagnostic {
	if pos.IsValid() {
		d.Related = append(d.Related, Related{Pos: pos, Msg: fmt.Sprintf(format, args...)})
	}
	return d
}

// HasErrors reports whether l holds at least one error (warnings aside).
func (l *List) HasErrors() bool {
	for _, d := range l.Diags {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Sort orders the diagnostics by position and drops exact duplicates.
func (l *List) Sort() {
	sort.SliceStable(l.Diags, func(i, j int) bool { return l.Diags[i].Pos.Before(l.Diags[j].Pos) })
	out := l.Diags[:0]
	for i, d := range l.Diags {
		if i > 0 && d.Error() == l.Diags[i-1].Error() {
			continue
		}
		out = append(out, d)
	}
	l.Diags = out
}

// Err returns the list as an error when it holds errors, sorted and capped,
// and nil otherwise. Warnings travel with errors but never make one.
func (l *List) Err() error {
	if !l.HasErrors() {
		return nil
	}
	l.Sort()
	return &ErrorList{Diags: l.Diags}
}

// Warnings returns the warnings, sorted.
func (l *List) Warnings() []*Diagnostic {
	l.Sort()
	var ws []*Diagnostic
	for _, d := range l.Diags {
		if d.Severity == Warning {
			ws = append(ws, d)
		}
	}
	return ws
}

// ErrorList is the error of a stage that found problems in its input: one
// diagnostic per line, sorted by position, at most MaxErrors errors.
type ErrorList struct {
	Diags []*Diagnostic
}

// Error formats the list, one diagnostic per line.
func (e *ErrorList) Error() string {
	var b strings.Builder
	n := 0
	for _, d := range e.Diags {
		if d.Severity == Error {
			n++
			if n > MaxErrors {
				fmt.Fprintf(&b, "%s: too many errors\n", d.Pos)
				break
			}
		}
		b.WriteString(d.Error())
		b.WriteByte('\n')
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Errors returns the number of errors (warnings aside) in e.
func (e *ErrorList) Errors() int {
	n := 0
	for _, d := range e.Diags {
		if d.Severity == Error {
			n++
		}
	}
	return n
}
