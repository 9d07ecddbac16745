package build

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/dsl"
)

// constKind is the kind of a compile-time constant.
type constKind uint8

const (
	kInt constKind = iota + 1
	kFloat
	kBool
	kString
	kName // a bare identifier used as a value: cross_entropy
	kCall // a call used as a value: SGD(lr = 0.1)
	kList // a list of integers: [0, -1]
)

// Const is a compile-time constant: a hyper-parameter, a layer argument, a
// train-block value.
type Const struct {
	kind constKind
	I    int64
	F    float64
	B    bool
	S    string    // string value, or the identifier of kName and kCall
	Call *dsl.Call // for kCall
	L    []int64   // for kList
}

func intConst(i int64) Const     { return Const{kind: kInt, I: i, F: float64(i)} }
func floatConst(f float64) Const { return Const{kind: kFloat, F: f} }

// String formats c as the user would write it.
func (c Const) String() string {
	switch c.kind {
	case kInt:
		return strconv.FormatInt(c.I, 10)
	case kFloat:
		return strconv.FormatFloat(c.F, 'g', -1, 64)
	case kBool:
		return strconv.FormatBool(c.B)
	case kString:
		return strconv.Quote(c.S)
	case kCall:
		return dsl.ExprString(c.Call)
	case kList:
		parts := make([]string, len(c.L))
		for i, x := range c.L {
			parts[i] = strconv.FormatInt(x, 10)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return c.S
}

// value returns c as an int64, a float64, a bool or a string.
func (c Const) value() any {
	switch c.kind {
	case kInt:
		return c.I
	case kFloat:
		return c.F
	case kBool:
		return c.B
	}
	return c.S
}

func (c Const) kindName() string {
	switch c.kind {
	case kInt:
		return "an integer"
	case kFloat:
		return "a number"
	case kBool:
		return "a boolean"
	case kString:
		return "a string"
	case kCall:
		return "a call"
	case kList:
		return "a list"
	}
	return "a name"
}

// constEnv evaluates constant expressions over named constants.
type constEnv struct {
	names map[string]Const
	errs  *diag.List
}

// eval evaluates x. Identifiers resolve to the env's constants or to
// true/false; with bare set, any other identifier is a kName constant (the
// train block's cross_entropy), else an error.
func (e *constEnv) eval(x dsl.Expr, bare bool) (Const, bool) {
	switch x := x.(type) {
	case *dsl.Number:
		if x.IsInt {
			return intConst(int64(x.Value)), true
		}
		return floatConst(x.Value), true
	case *dsl.String:
		return Const{kind: kString, S: x.Value}, true
	case *dsl.Ident:
		if c, ok := e.names[x.Name]; ok {
			return c, true
		}
		switch x.Name {
		case "true", "false":
			return Const{kind: kBool, B: x.Name == "true"}, true
		}
		if bare {
			return Const{kind: kName, S: x.Name}, true
		}
		e.errs.Errorf(x.Pos, "undefined: %s%s", x.Name, suggest(x.Name, keys(e.names)))
		return Const{}, false
	case *dsl.Selector:
		e.errs.Errorf(x.Start(), "%s is a parameter, not a constant: only numbers and hyper-parameters may appear here", x.Name())
		return Const{}, false
	case *dsl.Call:
		if bare {
			return Const{kind: kCall, S: x.Fun.Name, Call: x}, true
		}
		e.errs.Errorf(x.Fun.Pos, "%s is not a constant: only numbers and hyper-parameters may appear here", dsl.ExprString(x))
		return Const{}, false
	case *dsl.List:
		l := Const{kind: kList, L: []int64{}}
		for _, el := range x.Elems {
			c, ok := e.eval(el, false)
			if !ok {
				return Const{}, false
			}
			if c.kind != kInt {
				e.errs.Errorf(el.Start(), "a list holds integers only, not %s", c.kindName())
				return Const{}, false
			}
			l.L = append(l.L, c.I)
		}
		return l, true
	case *dsl.Unary:
		c, ok := e.eval(x.X, false)
		if !ok {
			return c, false
		}
		switch c.kind {
		case kInt:
			return intConst(-c.I), true
		case kFloat:
			return floatConst(-c.F), true
		}
		e.errs.Errorf(x.Pos, "cannot negate %s", c.kindName())
		return Const{}, false
	case *dsl.Binary:
		a, ok1 := e.eval(x.X, false)
		b, ok2 := e.eval(x.Y, false)
		if !ok1 || !ok2 {
			return Const{}, false
		}
		c, err := constArith(x.Op, a, b)
		if err != nil {
			e.errs.Errorf(x.OpPos, "%s: %v", dsl.ExprString(x), err)
			return Const{}, false
		}
		return c, true
	}
	return Const{}, false
}

// constArith applies a binary operator to two numbers. Integers stay
// integers under + - * and under / when it divides exactly; overflow is an
// error rather than a wrapped size.
func constArith(op string, a, b Const) (Const, error) {
	if (a.kind != kInt && a.kind != kFloat) || (b.kind != kInt && b.kind != kFloat) {
		return Const{}, fmt.Errorf("operands must be numbers")
	}
	if op == "@" {
		return Const{}, fmt.Errorf("@ needs tensors, not numbers")
	}
	if a.kind == kInt && b.kind == kInt {
		x, y := a.I, b.I
		switch op {
		case "+":
			if r := x + y; (r > x) == (y > 0) {
				return intConst(r), nil
			}
		case "-":
			if r := x - y; (r < x) == (y > 0) {
				return intConst(r), nil
			}
		case "*":
			if x == 0 || y == 0 {
				return intConst(0), nil
			}
			if r := x * y; r/y == x && !(x == -1 && y == math.MinInt64) && !(y == -1 && x == math.MinInt64) {
				return intConst(r), nil
			}
		case "/":
			if y == 0 {
				return Const{}, fmt.Errorf("division by zero")
			}
			if x%y == 0 {
				return intConst(x / y), nil
			}
			return floatConst(float64(x) / float64(y)), nil
		}
		return Const{}, fmt.Errorf("integer overflow")
	}
	x, y := a.F, b.F
	switch op {
	case "+":
		return floatConst(x + y), nil
	case "-":
		return floatConst(x - y), nil
	case "*":
		return floatConst(x * y), nil
	}
	if y == 0 {
		return Const{}, fmt.Errorf("division by zero")
	}
	return floatConst(x / y), nil
}

// argKind says what an argument accepts.
type argKind uint8

const (
	argSize  argKind = iota + 1 // a positive integer
	argCount                    // a non-negative integer
	argFloat                    // any number
	argBool
	argString
	argName // a bare name or a call: train-block values
	argInts // a list of integers, or one integer as a list of one
)

// argSpec describes one argument of a layer, built-in or train value.
type argSpec struct {
	name     string
	aliases  []string // PyTorch's names, accepted too
	kind     argKind
	required bool
	def      Const
	check    func(Const) string // extra validation; returns a problem or ""
}

// boundArgs are the arguments of a call after binding, by spec name.
type boundArgs struct {
	vals map[string]Const
	pos  map[string]diag.Pos
}

func (b boundArgs) int(name string) int       { return int(b.vals[name].I) }
func (b boundArgs) float(name string) float64 { return b.vals[name].F }
func (b boundArgs) bool(name string) bool     { return b.vals[name].B }
func (b boundArgs) str(name string) string    { return b.vals[name].S }
func (b boundArgs) has(name string) bool      { _, ok := b.vals[name]; return ok }

// bindArgs matches call arguments against specs as Python does: positional
// first, then keywords, each once; then it evaluates and checks each value.
// what names the callee in messages ("Linear", "SGD").
func (e *constEnv) bindArgs(what string, at diag.Pos, args []*dsl.Arg, specs []argSpec) (boundArgs, bool) {
	b := boundArgs{vals: map[string]Const{}, pos: map[string]diag.Pos{}}
	ok := true
	given := map[string]dsl.Expr{}
	seenKey := false
	for i, a := range args {
		var spec *argSpec
		if a.Key == nil {
			if seenKey {
				e.errs.Errorf(a.Value.Start(), "%s: positional argument after a keyword argument", what)
				ok = false
				continue
			}
			if i >= len(specs) {
				e.errs.Errorf(a.Value.Start(), "%s takes at most %d arguments, got %d", what, len(specs), len(args))
				ok = false
				break
			}
			spec = &specs[i]
		} else {
			seenKey = true
			spec = findSpec(specs, a.Key.Name)
			if spec == nil {
				e.errs.Errorf(a.Key.Pos, "%s has no argument %q; its arguments are %s", what, a.Key.Name, specNames(specs))
				ok = false
				continue
			}
		}
		if _, dup := given[spec.name]; dup {
			e.errs.Errorf(a.Value.Start(), "%s: argument %s given twice", what, spec.name)
			ok = false
			continue
		}
		given[spec.name] = a.Value
	}
	for _, s := range specs {
		x, present := given[s.name]
		if !present {
			if s.required {
				e.errs.Errorf(at, "%s: missing argument %s", what, s.name)
				ok = false
			} else if s.def.kind != 0 {
				b.vals[s.name] = s.def
			}
			continue
		}
		c, good := e.eval(x, s.kind == argName)
		if !good {
			ok = false
			continue
		}
		if msg := checkKind(s, c); msg != "" {
			e.errs.Errorf(x.Start(), "%s: %s %s", what, s.name, msg)
			ok = false
			continue
		}
		if s.kind == argFloat && c.kind == kInt {
			c = floatConst(float64(c.I))
		}
		if s.kind == argInts && c.kind == kInt {
			c = Const{kind: kList, L: []int64{c.I}}
		}
		if s.check != nil {
			if msg := s.check(c); msg != "" {
				e.errs.Errorf(x.Start(), "%s: %s %s", what, s.name, msg)
				ok = false
				continue
			}
		}
		b.vals[s.name] = c
		b.pos[s.name] = x.Start()
	}
	return b, ok
}

func checkKind(s argSpec, c Const) string {
	switch s.kind {
	case argSize:
		if c.kind != kInt {
			return fmt.Sprintf("must be a positive integer, got %s", c)
		}
		if c.I <= 0 {
			return fmt.Sprintf("must be positive, got %d", c.I)
		}
		if c.I > 1<<31 {
			return fmt.Sprintf("is too large: %d", c.I)
		}
	case argCount:
		if c.kind != kInt || c.I < 0 || c.I > 1<<31 {
			return fmt.Sprintf("must be a non-negative integer, got %s", c)
		}
	case argFloat:
		if c.kind != kInt && c.kind != kFloat {
			return fmt.Sprintf("must be a number, got %s", c)
		}
	case argBool:
		if c.kind != kBool {
			return fmt.Sprintf("must be true or false, got %s", c)
		}
	case argString:
		if c.kind != kString {
			return fmt.Sprintf("must be a string, got %s", c)
		}
	case argInts:
		if c.kind != kList && c.kind != kInt {
			return fmt.Sprintf("must be a list of integers such as [0, 1], got %s", c)
		}
	}
	return ""
}

func findSpec(specs []argSpec, name string) *argSpec {
	for i := range specs {
		if specs[i].name == name {
			return &specs[i]
		}
		for _, a := range specs[i].aliases {
			if a == name {
				return &specs[i]
			}
		}
	}
	return nil
}

func specNames(specs []argSpec) string {
	if len(specs) == 0 {
		return "none"
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.name
	}
	return strings.Join(names, ", ")
}

func keys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// suggest returns "; did you mean X?" for the closest candidate within a
// small edit distance, or "".
func suggest(name string, candidates []string) string {
	if len(name) < 2 {
		return "" // every one-letter name is one edit from every other
	}
	best, bestD := "", max(1, len(name)/3)+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(name), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || best == name {
		return ""
	}
	return "; did you mean " + best + "?"
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours cost 1.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
