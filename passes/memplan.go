package passes

import (
	"sort"

	"github.com/nnc-go/nnc/ir"
)

// Align is the byte alignment of every value in the arena: a cache line.
const Align = 64

// Planned reports whether v lives in the arena: every computed value.
// Sources (parameters, state, inputs, targets, constants) have storage of
// their own that outlives a step.
func Planned(v *ir.Value) bool { return !v.Op.Info().Source || v.Op == ir.OpDropoutMask }

// memplan computes the lifetime of every value (from its definition to its
// last use; outputs live to the end) and of every scratch buffer an op
// needs (from its op to the op the buffer is kept for), and places them in
// one arena,
// greedy by size as TFLite Micro does: largest first, each at the lowest
// offset that does not overlap a placed value alive at the same time. The
// plan is made for the graph's "batch" attribute (1 when absent).
func memplan(g *ir.Graph) error {
	batch := g.Attrs.Int("batch", 1)
	type item struct {
		v          *ir.Value
		scratch    int // the index of a scratch buffer of v, or -1 for v
		size       int
		start, end int
	}
	index := map[*ir.Value]int{}
	for i, v := range g.Values {
		index[v] = i
	}
	last := map[*ir.Value]int{}
	for i, v := range g.Values {
		for _, a := range v.Args {
			last[a] = i
		}
	}
	for _, o := range g.Outputs {
		last[o.Value] = len(g.Values)
	}
	var items []item
	naive := 0
	for i, v := range g.Values {
		if !Planned(v) {
			continue
		}
		size := v.Type.Shape.Size(batch) * v.Type.DType.Size()
		size = (size + Align - 1) / Align * Align
		end := last[v]
		if end < i {
			end = i // computed and never read: still written
		}
		items = append(items, item{v, -1, size, i, end})
		naive += size
	}
	for i, v := range g.Values {
		for k, s := range ir.ScratchOf(g, v) {
			size := s.Type.Shape.Size(batch) * s.Type.DType.Size()
			size = (size + Align - 1) / Align * Align
			end := i
			if s.Until != nil {
				end = index[s.Until]
			}
			items = append(items, item{v, k, size, i, end})
			naive += size
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].size > items[j].size })
	plan := &ir.MemPlan{Batch: batch, Offset: map[int]int{}, Scratch: map[int][]int{}, NaiveBytes: naive}
	type placed struct{ off, size, start, end int }
	var done []placed
	for _, it := range items {
		// Candidate offsets: 0 and the end of every placed value whose
		// lifetime overlaps; the lowest that fits wins.
		var live []placed
		for _, p := range done {
			if p.start <= it.end && it.start <= p.end {
				live = append(live, p)
			}
		}
		sort.Slice(live, func(i, j int) bool { return live[i].off < live[j].off })
		off := 0
		for _, p := range live {
			if off+it.size <= p.off {
				break
			}
			off = max(off, p.off+p.size)
		}
		if it.scratch < 0 {
			plan.Offset[it.v.ID] = off
		} else {
			sc := plan.Scratch[it.v.ID]
			for len(sc) <= it.scratch {
				sc = append(sc, 0)
			}
			sc[it.scratch] = off
			plan.Scratch[it.v.ID] = sc
		}
		plan.ArenaBytes = max(plan.ArenaBytes, off+it.size)
		done = append(done, placed{off, it.size, it.start, it.end})
	}
	g.Plan = plan
	return nil
}
