package ir

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Attr is a named constant of a value: an axis, a stride, a learning rate.
// Val holds an int, a float64, a bool, a string or an []int.
type Attr struct {
	Key string
	Val any
}

// Attrs is a value's attribute list, kept in the order it was written.
type Attrs []Attr

// Get returns the attribute named key.
func (as Attrs) Get(key string) (any, bool) {
	for _, a := range as {
		if a.Key == key {
			return a.Val, true
		}
	}
	return nil, false
}

// Int returns the int attribute key, or def when absent.
func (as Attrs) Int(key string, def int) int {
	if v, ok := as.Get(key); ok {
		if i, ok := v.(int); ok {
			return i
		}
	}
	return def
}

// Float returns the float attribute key, or def when absent; an int
// attribute is converted.
func (as Attrs) Float(key string, def float64) float64 {
	if v, ok := as.Get(key); ok {
		switch v := v.(type) {
		case float64:
			return v
		case int:
			return float64(v)
		}
	}
	return def
}

// Bool returns the bool attribute key, or false when absent.
func (as Attrs) Bool(key string) bool {
	v, _ := as.Get(key)
	b, _ := v.(bool)
	return b
}

// String returns the string attribute key, or "" when absent.
func (as Attrs) String(key string) string {
	v, _ := as.Get(key)
	s, _ := v.(string)
	return s
}

// Ints returns the []int attribute key.
func (as Attrs) Ints(key string) []int {
	v, _ := as.Get(key)
	s, _ := v.([]int)
	return s
}

// Set replaces the attribute key or appends it.
func (as Attrs) Set(key string, val any) Attrs {
	for i := range as {
		if as[i].Key == key {
			as[i].Val = val
			return as
		}
	}
	return append(as, Attr{key, val})
}

func formatAttrVal(v any) string {
	switch v := v.(type) {
	case int:
		return strconv.Itoa(v)
	case float64:
		return formatFloat(v)
	case bool:
		return strconv.FormatBool(v)
	case string:
		return strconv.Quote(v)
	case []int:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = strconv.Itoa(x)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	panic(fmt.Sprintf("ir: attribute of type %T", v))
}

// formatFloat prints f so that it parses back to the same bits and never
// reads as an int.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func parseAttrVal(s string) (any, error) {
	switch {
	case s == "true" || s == "false":
		return s == "true", nil
	case strings.HasPrefix(s, `"`):
		return strconv.Unquote(s)
	case strings.HasPrefix(s, "["):
		if !strings.HasSuffix(s, "]") {
			return nil, fmt.Errorf("bad list %s", s)
		}
		body := s[1 : len(s)-1]
		out := []int{}
		if body == "" {
			return out, nil
		}
		for _, f := range strings.Split(body, ",") {
			i, err := strconv.Atoi(f)
			if err != nil {
				return nil, fmt.Errorf("bad list element %q", f)
			}
			out = append(out, i)
		}
		return out, nil
	case s == "+Inf" || s == "-Inf" || s == "NaN" || strings.ContainsAny(s, ".e"):
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %s", s)
		}
		return f, nil
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		return nil, fmt.Errorf("bad attribute value %s", s)
	}
	return i, nil
}
