package interp

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/nnc-go/nnc/ir"
)

// Available returns the memory the system can give this process, in bytes
// (MemAvailable of /proc/meminfo), or 0 when it cannot tell.
var Available = func() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}

// Footprint returns the bytes a machine for g needs: its persistent
// tensors (parameters, buffers, optimizer state), computed in float64 so
// that an absurd model cannot overflow the sum, and its arena.
func Footprint(g *ir.Graph, elem int) (tensors, arena float64) {
	for _, v := range g.Values {
		switch v.Op {
		case ir.OpParam, ir.OpBuffer, ir.OpState:
			n := 1.0
			for _, d := range v.Type.Shape {
				n *= float64(d)
			}
			size := float64(elem)
			if v.Type.DType == ir.I64 {
				size = 8
			}
			tensors += n * size
		}
	}
	if g.Plan != nil {
		arena = float64(g.Plan.ArenaBytes)
	}
	return tensors, arena
}

// checkFits refuses, before anything is allocated, a graph whose tensors
// and arena would not fit in the available memory.
func checkFits(g *ir.Graph, elem int) error {
	tensors, arena := Footprint(g, elem)
	avail := Available()
	if avail == 0 || tensors+arena < float64(avail)*0.9 {
		return nil
	}
	return fmt.Errorf("%s needs %s (%s of parameters and optimizer state, %s of activations for batch %d), more than the %s of memory available",
		g.Name, bytes(tensors+arena), bytes(tensors), bytes(arena), planBatch(g), bytes(float64(avail)))
}

func planBatch(g *ir.Graph) int {
	if g.Plan == nil {
		return 0
	}
	return g.Plan.Batch
}

// bytes formats a size for people: 1.5 GB.
func bytes(b float64) string {
	units := []string{"bytes", "kB", "MB", "GB", "TB", "PB", "EB"}
	i := 0
	for b >= 1000 && i < len(units)-1 {
		b /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f bytes", b)
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}
