package ir

import (
	"fmt"
	"strconv"
	"strings"
)

// Print returns the text form of g, one value per line:
//
//	v5 = LinearRelu <f32[N,10]> v0 v1 v2 {k=1} (h) @7:18
//
// Attributes follow the arguments in braces, the user's name in
// parentheses, the source line and column after @. Parse reads it back.
func Print(g *Graph) string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %s %s ", g.Name, strconv.Quote(g.File))
	if len(g.Attrs) > 0 {
		writeAttrs(&b, g.Attrs)
		b.WriteByte(' ')
	}
	b.WriteString("{\n")
	for _, v := range g.Values {
		b.WriteString("  ")
		b.WriteString(v.LongString())
		b.WriteByte('\n')
	}
	if len(g.Outputs) > 0 {
		b.WriteString("  return")
		for _, o := range g.Outputs {
			fmt.Fprintf(&b, " %s=v%d", quoteName(o.Name), o.Value.ID)
		}
		b.WriteByte('\n')
	}
	if p := g.Plan; p != nil {
		fmt.Fprintf(&b, "  // memplan: arena %d bytes for batch %d (%d without reuse)\n", p.ArenaBytes, p.Batch, p.NaiveBytes)
	}
	b.WriteString("}\n")
	return b.String()
}

// String returns v's ID, as it appears in arguments: v5.
func (v *Value) String() string { return "v" + strconv.Itoa(v.ID) }

// LongString returns v's line in the text form.
func (v *Value) LongString() string {
	var b strings.Builder
	fmt.Fprintf(&b, "v%d = %s <%s>", v.ID, v.Op, v.Type)
	for _, a := range v.Args {
		fmt.Fprintf(&b, " v%d", a.ID)
	}
	if len(v.Attrs) > 0 {
		b.WriteByte(' ')
		writeAttrs(&b, v.Attrs)
	}
	if v.Name != "" {
		fmt.Fprintf(&b, " (%s)", quoteName(v.Name))
	}
	if v.Pos.IsValid() {
		fmt.Fprintf(&b, " @%d:%d", v.Pos.Line, v.Pos.Col)
	}
	return b.String()
}

// quoteName leaves names made of letters, digits, '_' and '.' as they are
// and quotes any other, so that every name reads back.
func quoteName(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) < 0 {
		return s
	}
	return strconv.Quote(s)
}

func writeAttrs(b *strings.Builder, attrs Attrs) {
	b.WriteByte('{')
	for i, a := range attrs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a.Key)
		b.WriteByte('=')
		b.WriteString(formatAttrVal(a.Val))
	}
	b.WriteByte('}')
}
