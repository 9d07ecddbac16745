package ir

import (
	"fmt"
	"strings"
)

// Dot returns g in Graphviz's DOT language: one box per value labelled with
// its op, type and name; parameters and inputs as ellipses; outputs as
// double octagons.
func Dot(g *Graph) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n", g.Name)
	b.WriteString("  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n")
	for _, v := range g.Values {
		label := fmt.Sprintf("v%d %s\n%s", v.ID, v.Op, v.Type)
		if v.Name != "" {
			label += "\n" + v.Name
		}
		shape := "box"
		if v.Op.Info().Source {
			shape = "ellipse"
		}
		fmt.Fprintf(&b, "  v%d [shape=%s, label=%q];\n", v.ID, shape, label)
	}
	for _, v := range g.Values {
		for _, a := range v.Args {
			fmt.Fprintf(&b, "  v%d -> v%d;\n", a.ID, v.ID)
		}
	}
	for i, o := range g.Outputs {
		fmt.Fprintf(&b, "  out%d [shape=doubleoctagon, label=%q];\n  v%d -> out%d;\n", i, o.Name, o.Value.ID, i)
	}
	b.WriteString("}\n")
	return b.String()
}
