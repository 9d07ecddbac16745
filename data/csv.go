package data

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nnc-go/nnc/ir"
)

// CSVOptions says how LoadCSV reads a file: which column holds the target,
// what kind of target it is, and what the caller's model expects.
type CSVOptions struct {
	// Target names the target column (Header must be true); "" selects the
	// column by TargetIndex instead.
	Target string
	// TargetIndex is the 0-based index of the target column when Target is
	// "". A negative index counts from the end: -1 is the last column.
	TargetIndex int
	// Header says the first row holds column names. The zero value is false;
	// the language's default, header = true, is the caller's to apply.
	Header bool
	// NoTarget makes every column a feature, as for inputs to predict on;
	// Target, TargetIndex, Loss and Classes are then ignored.
	NoTarget bool
	// Loss is the loss the targets are for. With ir.CrossEntropy, a
	// numeric target column must hold non-negative integers ("1" or
	// "1.0"); a column that holds anything else maps its distinct values,
	// sorted, to classes 0..K-1. With ir.MSE, targets must be numbers, and
	// with ir.BCEWithLogits, numbers in [0, 1].
	Loss ir.Loss
	// Classes, when > 0, is the model's number of classes: class labels
	// must lie in [0, Classes), and the data set reports Classes classes.
	// When 0, the data set has one class more than its largest label.
	Classes int
	// Features, when > 0, is the number of feature columns the file must
	// have (the element count of the model's input); 0 accepts any number.
	Features int
}

// LoadCSV reads a data set from the CSV file at path: one sample per row,
// every column but the target a feature. Fields may be quoted and
// surrounded by spaces; lines may end in CRLF; a UTF-8 byte order mark and
// blank lines are ignored. Features must be finite numbers. See CSVOptions
// for the target column.
//
// The data set's Name is the file's base name. Errors about the contents
// name the path and line, as in
//
//	iris.csv:17: column "sepal_width": "abc" is not a number
func LoadCSV(path string, opt CSVOptions) (*Dataset, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ds, err := parseCSV(path, src, opt)
	if err != nil {
		return nil, err
	}
	ds.Name = filepath.Base(path)
	return ds, nil
}

// errNamedTargets stops a numeric reading of a class target column at the
// first value that is not a number: the column then holds class names.
var errNamedTargets = errors.New("class targets are names")

// parseCSV parses src, the contents of the file called name. It reads the
// file once assuming numeric class labels and, if a label turns out not to
// be a number, once more taking them as names.
func parseCSV(name string, src []byte, opt CSVOptions) (*Dataset, error) {
	if !opt.NoTarget && !opt.Loss.Valid() {
		return nil, fmt.Errorf("%s: unknown loss %v", name, opt.Loss)
	}
	src = bytes.TrimPrefix(src, []byte("\uFEFF"))
	p := &csvParser{name: name, src: src, opt: opt}
	ds, err := p.parse(false)
	if err == errNamedTargets {
		ds, err = p.parse(true)
	}
	return ds, err
}

// csvParser holds the state of one reading of a CSV file.
type csvParser struct {
	name string
	src  []byte
	opt  CSVOptions
	r    *csv.Reader

	names  []string // header, trimmed; nil without a header
	target int      // index of the target column; -1 for none
}

// next returns the next record that is not blank, or io.EOF.
func (p *csvParser) next() ([]string, error) {
	for {
		rec, err := p.r.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%s:%d:%d: %v", p.name, pe.Line, pe.Column, pe.Err)
			}
			return nil, err
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a line of spaces
		}
		return rec, nil
	}
}

// parse reads the whole file. When named is set, class targets are taken as
// names; otherwise a class target that is not a number returns
// errNamedTargets.
func (p *csvParser) parse(named bool) (*Dataset, error) {
	opt := p.opt
	p.r = csv.NewReader(bytes.NewReader(p.src))
	p.r.FieldsPerRecord = -1
	p.r.TrimLeadingSpace = true
	p.r.ReuseRecord = true

	rec, err := p.next()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file", p.name)
	}
	if err != nil {
		return nil, err
	}
	ncols := len(rec)
	firstLine, _ := p.r.FieldPos(0)
	if opt.Header {
		p.names = make([]string, ncols)
		for j, s := range rec {
			p.names[j] = strings.TrimSpace(s)
		}
	}
	if err := p.findTarget(ncols); err != nil {
		return nil, err
	}
	nf := ncols
	if p.target >= 0 {
		nf--
	}
	switch {
	case opt.Features > 0 && nf != opt.Features:
		return nil, fmt.Errorf("%s has %s, the model's input takes %d", p.name, plural(nf, "feature column"), opt.Features)
	case nf == 0:
		return nil, fmt.Errorf("%s: no feature columns, only the target %s", p.name, p.column(p.target))
	}
	if opt.Header {
		rec, err = p.next()
	}

	// Size the buffers by the number of lines, which is exact for files
	// without blank lines or quoted newlines, and cheap to count. A row takes
	// at least ncols bytes (no field may be empty), which bounds the guess
	// by the file's size.
	lines := bytes.Count(p.src, []byte{'\n'})
	if !bytes.HasSuffix(p.src, []byte{'\n'}) {
		lines++
	}
	if opt.Header {
		lines--
	}
	rows := min(lines, len(p.src)/ncols+1)
	ds := &Dataset{Name: p.name, Features: nf, X: make([]float32, 0, rows*nf)}
	classes := p.target >= 0 && opt.Loss == ir.CrossEntropy
	switch {
	case classes:
		ds.Labels = make([]int32, 0, rows)
	case p.target >= 0:
		ds.TargetWidth = 1
		ds.Targets = make([]float32, 0, rows)
	}
	var (
		index    map[string]int32 // class name to id in order of appearance
		maxLabel int32            = -1
		pending  error            // first bad label, reported unless the labels turn out to be names
	)
	if named {
		index = make(map[string]int32)
	}
	fail := func(err error) (*Dataset, error) {
		if pending != nil {
			return nil, pending
		}
		return nil, err
	}
	for ; err == nil; rec, err = p.next() {
		if len(rec) != ncols {
			line, _ := p.r.FieldPos(0)
			if opt.Header {
				return fail(fmt.Errorf("%s:%d: %d columns, header has %d", p.name, line, len(rec), ncols))
			}
			return fail(fmt.Errorf("%s:%d: %d columns, line %d has %d", p.name, line, len(rec), firstLine, ncols))
		}
		for j, s := range rec {
			s = strings.TrimSpace(s)
			if j != p.target {
				v, err := p.number(s, j)
				if err != nil {
					return fail(err)
				}
				ds.X = append(ds.X, float32(v))
				continue
			}
			if s == "" {
				return fail(p.errorf(j, "%s is empty", p.column(j)))
			}
			switch {
			case classes && named:
				id, ok := index[s]
				if !ok {
					id = int32(len(index))
					index[strings.Clone(s)] = id
				}
				ds.Labels = append(ds.Labels, id)
			case classes:
				v, err := strconv.ParseFloat(s, 64)
				if errors.Is(err, strconv.ErrSyntax) {
					return nil, errNamedTargets
				}
				label, err := p.label(s, v, j)
				if err != nil {
					if pending == nil {
						pending = err
					}
					continue
				}
				maxLabel = max(maxLabel, label)
				ds.Labels = append(ds.Labels, label)
			default:
				v, err := p.number(s, j)
				if err != nil {
					return fail(err)
				}
				if opt.Loss == ir.BCEWithLogits && !(v >= 0 && v <= 1) {
					return fail(p.errorf(j, "target %s is outside [0, 1]", s))
				}
				ds.Targets = append(ds.Targets, float32(v))
			}
		}
		ds.N++
	}
	if err != io.EOF {
		return fail(err)
	}
	if pending != nil {
		return nil, pending
	}
	if ds.N == 0 {
		return nil, fmt.Errorf("%s: no data rows", p.name)
	}
	if !classes {
		return ds, nil
	}
	ds.Classes = int(maxLabel) + 1
	if named {
		if err := p.nameClasses(ds, index); err != nil {
			return nil, err
		}
	}
	if opt.Classes > 0 {
		ds.Classes = opt.Classes
	}
	return ds, nil
}

// findTarget sets p.target from the options and the file's first row of
// ncols columns.
func (p *csvParser) findTarget(ncols int) error {
	opt := p.opt
	switch {
	case opt.NoTarget:
		p.target = -1
	case opt.Target != "" && p.names == nil:
		return fmt.Errorf("%s: target column %q is given by name, but the file has no header", p.name, opt.Target)
	case opt.Target != "":
		p.target = slices.Index(p.names, opt.Target)
		if p.target < 0 {
			return fmt.Errorf("%s: target column %q not found; columns are %s", p.name, opt.Target, list(p.names))
		}
		if k := slices.Index(p.names[p.target+1:], opt.Target); k >= 0 {
			return fmt.Errorf("%s: target column %q is ambiguous: columns %d and %d have that name", p.name, opt.Target, p.target+1, p.target+k+2)
		}
	default:
		p.target = opt.TargetIndex
		if p.target < 0 {
			p.target += ncols
		}
		if p.target < 0 || p.target >= ncols {
			return fmt.Errorf("%s: target column index %d is out of range for %s", p.name, opt.TargetIndex, plural(ncols, "column"))
		}
	}
	return nil
}

// nameClasses turns the class ids of ds.Labels, numbered in order of first
// appearance as recorded by index, into the indices of the sorted names.
func (p *csvParser) nameClasses(ds *Dataset, index map[string]int32) error {
	names := make([]string, 0, len(index))
	for s := range index {
		names = append(names, s)
	}
	slices.Sort(names)
	if c := p.opt.Classes; c > 0 && len(names) > c {
		return fmt.Errorf("%s: target %s has %d distinct values, more than the model's %d classes",
			p.name, p.column(p.target), len(names), c)
	}
	sorted := make([]int32, len(names))
	for k, s := range names {
		sorted[index[s]] = int32(k)
	}
	for i, id := range ds.Labels {
		ds.Labels[i] = sorted[id]
	}
	ds.ClassNames = names
	ds.Classes = len(names)
	return nil
}

// number parses field s of column j as a finite float32.
func (p *csvParser) number(s string, j int) (float64, error) {
	v, err := strconv.ParseFloat(s, 32)
	switch {
	case s == "":
		return 0, p.errorf(j, "%s is empty", p.column(j))
	case errors.Is(err, strconv.ErrRange):
		return 0, p.errorf(j, "%s: %q is out of range for float32", p.column(j), s)
	case err != nil:
		return 0, p.errorf(j, "%s: %q is not a number", p.column(j), s)
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, p.errorf(j, "%s: %q is not a finite number", p.column(j), s)
	}
	return v, nil
}

// label checks the class label v, parsed from field s of column j.
func (p *csvParser) label(s string, v float64, j int) (int32, error) {
	switch c := p.opt.Classes; {
	case !(v >= 0) || v != math.Trunc(v):
		return 0, p.errorf(j, "label %s is not a class index (a non-negative integer)", s)
	case c > 0 && v >= float64(c):
		return 0, p.errorf(j, "label %s is outside the model's %d classes", s, c)
	case v > math.MaxInt32-1:
		return 0, p.errorf(j, "label %s is too large", s)
	}
	return int32(v), nil
}

// column describes column j for messages: by name when the file has a
// header, else by its 1-based number.
func (p *csvParser) column(j int) string {
	if p.names != nil && p.names[j] != "" {
		return fmt.Sprintf("column %q", p.names[j])
	}
	return fmt.Sprintf("column %d", j+1)
}

// errorf returns an error about field j of the current record, prefixed
// with the file name and the field's line.
func (p *csvParser) errorf(j int, format string, args ...any) error {
	line, _ := p.r.FieldPos(j)
	return fmt.Errorf("%s:%d: %s", p.name, line, fmt.Sprintf(format, args...))
}

// list joins column names for a message, eliding the middle of long lists.
func list(names []string) string {
	const most = 12
	if len(names) <= most {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, ... (%d more), %s", strings.Join(names[:most-1], ", "), len(names)-most, names[len(names)-1])
}

// plural formats a count of things: "1 column", "2 columns".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}
