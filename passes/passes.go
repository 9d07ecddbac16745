// Package passes holds the rewrites nnc runs over an ir.Graph between
// build.Build and a back end, one pass per file, listed in order in the table
// below as Go's SSA back end lists its passes (cmd/compile/internal/ssa's
// compile.go): a pass is a plain func(*ir.Graph) error, its name a single
// word usable as `nnc ir --after NAME`, and constraints on the order are
// data, checked when the package starts. A pass returns the errors a model
// can cause (an op the grad pass cannot differentiate) as diagnostics; a
// panic inside one is a compiler bug, which Run returns as an internal
// error naming the pass.
package passes

import (
	"fmt"
	"strings"

	"github.com/nnc-go/nnc/ir"
)

// Pass is one rewrite of a graph.
type Pass struct {
	Name string
	Fn   func(*ir.Graph) error
	Doc  string
}

// Table is the pipeline, in the order the passes run.
var Table = []Pass{
	{"grad", grad, "derives the backward graph of a training step from each op's VJP rule"},
	{"dp", dp, "clips each example's gradient and adds noise for DP-SGD (train key privacy), norms without per-example gradients"},
	{"optim", optim, "appends the optimizer update (SGD, Adam, AdamW) over explicit state"},
	{"fold", fold, "folds constants and algebraic identities (x*1, x+0, --x)"},
	{"cse", cse, "merges values that compute the same thing from the same arguments"},
	{"fuse", fuse, "fuses Linear, LinearRelu and softmax cross-entropy, forward and backward"},
	{"deadcode", deadcode, "removes values no output depends on (parameters stay)"},
	{"memplan", memplan, "places intermediate values in one arena by lifetime, greedy by size"},
}

// order lists constraints between passes: the first must run before the
// second, each with why.
var order = []struct{ before, after, why string }{
	// The optimizer consumes the gradients.
	{"grad", "optim", "optim reads grad's outputs"},
	// DP-SGD rewrites the gradients before the optimizer reads them, and
	// recognises the unfused backward ops.
	{"grad", "dp", "dp reads grad's outputs"},
	{"dp", "optim", "optim reads the private gradients"},
	{"dp", "fuse", "dp matches the unfused gradient ops"},
	// VJP rules exist for the unfused ops only.
	{"grad", "fuse", "grad needs unfused ops"},
	// The plan is of the final graph.
	{"deadcode", "memplan", "memplan places only live values"},
	{"fuse", "memplan", "memplan places fused values"},
	// Folding turns equal constant expressions into equal constants,
	// which CSE can then merge.
	{"fold", "cse", "cse merges what fold canonicalised"},
	// Folding and CSE leave values without uses behind.
	{"cse", "deadcode", "deadcode removes what cse replaced"},
}

func init() {
	index := map[string]int{}
	for i, p := range Table {
		if _, dup := index[p.Name]; dup {
			panic("passes: pass " + p.Name + " listed twice")
		}
		index[p.Name] = i
	}
	for _, c := range order {
		i, ok1 := index[c.before]
		j, ok2 := index[c.after]
		if !ok1 || !ok2 {
			panic(fmt.Sprintf("passes: order names unknown pass %s or %s", c.before, c.after))
		}
		if i >= j {
			panic(fmt.Sprintf("passes: %s must run before %s: %s", c.before, c.after, c.why))
		}
	}
}

// Names returns the pass names in order.
func Names() []string {
	names := make([]string, len(Table))
	for i, p := range Table {
		names[i] = p.Name
	}
	return names
}

// Lookup returns the pass named name.
func Lookup(name string) (Pass, bool) {
	for _, p := range Table {
		if p.Name == name {
			return p, true
		}
	}
	return Pass{}, false
}

// Options configure Run.
type Options struct {
	// After stops the pipeline after the pass of that name; "" runs all.
	After string
	// Verify runs ir.Verify after every pass.
	Verify bool
}

// Run runs the pipeline over g in place. A pass that breaks an invariant
// (a panic inside it, or a failed Verify) is a compiler bug: Run returns it
// as an error naming the pass, never a crash.
func Run(g *ir.Graph, opt Options) (err error) {
	if opt.After != "" {
		if _, ok := Lookup(opt.After); !ok {
			return fmt.Errorf("unknown pass %q; the passes are %s", opt.After, strings.Join(Names(), ", "))
		}
	}
	for _, p := range Table {
		if err := runOne(p, g, opt.Verify); err != nil {
			return err
		}
		if p.Name == opt.After {
			break
		}
	}
	return nil
}

func runOne(p Pass, g *ir.Graph, verify bool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: panic during %s: %v", p.Name, r)
		}
	}()
	if err := p.Fn(g); err != nil {
		return err
	}
	if verify {
		if err := ir.Verify(g); err != nil {
			return fmt.Errorf("internal error: after %s: %v", p.Name, err)
		}
	}
	return nil
}
