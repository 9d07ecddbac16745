package ir

import "fmt"

// AttrSpec declares an attribute of an op, in its row of the op table: its
// name and its default, whose Go type (int, float64, bool, string) is the
// attribute's. A Required attribute has no default: a value without it is
// refused by Verify.
type AttrSpec struct {
	Name     string
	Default  any
	Required bool
}

// attr declares an attribute with a default; need one without.
func attr(name string, def any) AttrSpec { return AttrSpec{Name: name, Default: def} }
func need(name string, zero any) AttrSpec {
	return AttrSpec{Name: name, Default: zero, Required: true}
}

// The attribute sets several ops share.
var (
	dimAttrs     = []AttrSpec{attr("dim", -1)}
	convAttrs    = []AttrSpec{attr("stride", 1), attr("padding", 0)}
	poolAttrs    = []AttrSpec{need("kernel", 0), attr("stride", 0)} // stride 0: the kernel
	normAttrs    = []AttrSpec{attr("eps", 1e-5), attr("momentum", 0.1)}
	epsAttrs     = []AttrSpec{attr("eps", 1e-5)}
	matmulAttrs  = []AttrSpec{attr("ta", false), attr("tb", false)}
	paramAttrs   = []AttrSpec{attr("init", ""), attr("fan_in", 0), attr("std", 1.0)} // std: of init "normal"
	runningAttrs = []AttrSpec{attr("momentum", 0.1)}
)

// attrSpecs is the Attrs column of the op table, copied in init so that
// the lowering rules, which the table refers to, can read it without an
// initialization cycle.
var attrSpecs [numOps][]AttrSpec

func init() {
	for op := range attrSpecs {
		attrSpecs[op] = opTable[op].Attrs
	}
}

// spec returns op's declaration of the attribute key.
func (op Op) spec(key string) (AttrSpec, bool) {
	if op >= numOps {
		return AttrSpec{}, false
	}
	for _, s := range attrSpecs[op] {
		if s.Name == key {
			return s, true
		}
	}
	return AttrSpec{}, false
}

// AttrInt returns v's int attribute key, or its op's default for it.
func (v *Value) AttrInt(key string) int {
	s, _ := v.Op.spec(key)
	def, _ := s.Default.(int)
	return v.Attrs.Int(key, def)
}

// AttrFloat returns v's float attribute key, or its op's default for it.
func (v *Value) AttrFloat(key string) float64 {
	s, _ := v.Op.spec(key)
	return v.Attrs.Float(key, toFloat(s.Default))
}

// AttrBool returns v's bool attribute key, or its op's default for it.
func (v *Value) AttrBool(key string) bool {
	if _, ok := v.Attrs.Get(key); ok {
		return v.Attrs.Bool(key)
	}
	s, _ := v.Op.spec(key)
	b, _ := s.Default.(bool)
	return b
}

func toFloat(x any) float64 {
	switch x := x.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	}
	return 0
}

// withDefaults returns attrs completed with the defaults op declares, for
// its shape rule: the rule reads every attribute it declares.
func withDefaults(op Op, attrs Attrs) Attrs {
	specs := op.Info().Attrs
	if len(specs) == 0 {
		return attrs
	}
	out := append(Attrs(nil), attrs...)
	for _, s := range specs {
		if _, ok := attrs.Get(s.Name); !ok && !s.Required {
			out = append(out, Attr{s.Name, s.Default})
		}
	}
	return out
}

// checkAttrs refuses attributes op does not declare, of another type than
// declared, or required and missing.
func checkAttrs(op Op, attrs Attrs) error {
	for _, a := range attrs {
		s, ok := op.spec(a.Key)
		if !ok {
			return fmt.Errorf("%s has no attribute %s", op, a.Key)
		}
		ok = false
		switch s.Default.(type) {
		case int:
			_, ok = a.Val.(int)
		case float64:
			switch a.Val.(type) {
			case float64, int:
				ok = true
			}
		case bool:
			_, ok = a.Val.(bool)
		case string:
			_, ok = a.Val.(string)
		case []int:
			_, ok = a.Val.([]int)
		}
		if !ok {
			kind := map[string]string{"int": "an integer", "float64": "a number", "bool": "a bool", "string": "a string", "[]int": "a list of integers"}[fmt.Sprintf("%T", s.Default)]
			return fmt.Errorf("%s: attribute %s=%s is not %s", op, a.Key, formatAttrVal(a.Val), kind)
		}
	}
	for _, s := range op.Info().Attrs {
		if _, ok := attrs.Get(s.Name); s.Required && !ok {
			return fmt.Errorf("%s needs the attribute %s", op, s.Name)
		}
	}
	return nil
}

// AttrString returns v's string attribute key, or its op's default for it.
func (v *Value) AttrString(key string) string {
	if a, ok := v.Attrs.Get(key); ok {
		s, _ := a.(string)
		return s
	}
	s, _ := v.Op.spec(key)
	d, _ := s.Default.(string)
	return d
}

// AttrInts returns v's integer-list attribute key, or its op's default
// for it.
func (v *Value) AttrInts(key string) []int {
	if a, ok := v.Attrs.Get(key); ok {
		l, _ := a.([]int)
		return l
	}
	s, _ := v.Op.spec(key)
	d, _ := s.Default.([]int)
	return d
}
