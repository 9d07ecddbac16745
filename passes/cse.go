package passes

import (
	"fmt"
	"strings"

	"github.com/nnc-go/nnc/ir"
)

// cse merges values that apply the same op, with the same attributes and
// type, to the same arguments; the first one stays. Sources other than
// constants are never merged (two parameters of equal shape are two
// parameters), nor are random ops.
func cse(g *ir.Graph) error {
	seen := map[string]*ir.Value{}
	for _, v := range g.Values {
		if v.Op.Info().Source && v.Op != ir.OpConst {
			continue
		}
		k := key(v)
		if first, ok := seen[k]; ok {
			g.ReplaceUses(v, first)
			if first.Name == "" {
				first.Name = v.Name
			}
			continue
		}
		seen[k] = v
	}
	return nil
}

// key identifies what v computes: op, type, attributes and argument IDs.
func key(v *ir.Value) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s <%s>", v.Op, v.Type)
	for _, a := range v.Args {
		fmt.Fprintf(&b, " v%d", a.ID)
	}
	for _, a := range v.Attrs {
		fmt.Fprintf(&b, " %s=%#v", a.Key, a.Val)
	}
	return b.String()
}
