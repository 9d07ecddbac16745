package ir

import "fmt"

// Verify checks the invariants every pass must keep: IDs unique, arguments
// defined before their use and in the graph, each value's type the one its
// op's rule gives, outputs present and uniquely named, parameter names
// unique.
func Verify(g *Graph) error {
	seen := map[*Value]bool{}
	ids := map[int]bool{}
	params := map[string]bool{}
	for _, v := range g.Values {
		if ids[v.ID] {
			return fmt.Errorf("ir: %s: v%d defined twice", g.Name, v.ID)
		}
		ids[v.ID] = true
		for _, a := range v.Args {
			if !seen[a] {
				return fmt.Errorf("ir: %s: v%d uses v%d before its definition or outside the graph", g.Name, v.ID, a.ID)
			}
		}
		info := v.Op.Info()
		if info.Source && len(v.Args) > 0 {
			return fmt.Errorf("ir: %s: v%d: %s takes no arguments", g.Name, v.ID, info.Name)
		}
		t, err := inferType(v.Op, v.Args, v.Attrs, v.Type)
		if err != nil {
			return fmt.Errorf("ir: %s: v%d: %v", g.Name, v.ID, err)
		}
		if !t.Equal(v.Type) {
			return fmt.Errorf("ir: %s: v%d: %s has type %s, its rule gives %s", g.Name, v.ID, info.Name, v.Type, t)
		}
		if err := checkShape(v.Type.Shape); err != nil {
			return fmt.Errorf("ir: %s: v%d: %v", g.Name, v.ID, err)
		}
		if v.Op == OpParam || v.Op == OpBuffer {
			if v.Name == "" || params[v.Name] {
				return fmt.Errorf("ir: %s: v%d: parameter name %q empty or used twice", g.Name, v.ID, v.Name)
			}
			params[v.Name] = true
		}
		seen[v] = true
	}
	names := map[string]bool{}
	for _, o := range g.Outputs {
		if o.Value == nil || !seen[o.Value] {
			return fmt.Errorf("ir: %s: output %s is not a value of the graph", g.Name, o.Name)
		}
		if names[o.Name] {
			return fmt.Errorf("ir: %s: output %s listed twice", g.Name, o.Name)
		}
		names[o.Name] = true
	}
	if g.nextID <= maxID(g) {
		return fmt.Errorf("ir: %s: next ID %d not past the values", g.Name, g.nextID)
	}
	return nil
}

func maxID(g *Graph) int {
	m := -1
	for _, v := range g.Values {
		m = max(m, v.ID)
	}
	return m
}

func checkShape(s Shape) error {
	batch := 0
	for _, d := range s {
		switch {
		case d == Batch:
			batch++
		case d <= 0:
			return fmt.Errorf("dimension %d in %s", d, s)
		}
	}
	if batch > 1 {
		return fmt.Errorf("shape %s has more than one batch dimension", s)
	}
	return nil
}
