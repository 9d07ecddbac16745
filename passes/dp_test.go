package passes_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
)

// The dp pass's clipped sum, whose norms it derives without per-example
// gradients, is checked against a per-example loop in float64: the same
// model without privacy, trained one example at a time with SGD(lr = 1),
// gives each example's own gradient gᵢ as the parameters' change; those
// are clipped to norm C one by one (gᵢ·min(1, C/(‖gᵢ‖ + 1e-6)), as
// Opacus), summed and divided by the expected batch B. The DP step with
// noise 0 and SGD(lr = 1) must change the parameters by exactly that.
// C is the median of the examples' norms, so that some are clipped and
// some not, and the batch n differs from B, as Poisson sampling makes it.

var dpModels = []struct {
	name, model string
	features    int // per example
	classes     int
}{
	{"mlp", `
model M {
    fc1 = Linear(6, 9)
    fc2 = Linear(9, 3)
    forward(x: f64[N, 6]) {
        return fc2(tanh(fc1(x)))
    }
}`, 6, 3},
	// Conv1 has many output positions (the example's gradient itself is
	// cheaper), conv2 few (the Gram form over positions is).
	{"cnn", `
model M {
    conv1 = Conv2d(2, 6, 3, padding = 1)
    conv2 = Conv2d(6, 8, 3)
    pool  = MaxPool2d(2)
    fc    = Linear(8 * 2 * 2, 3)
    forward(x: f64[N, 2, 8, 8]) {
        h = pool(relu(conv1(x)))
        h = relu(conv2(h))
        return fc(flatten(h))
    }
}`, 128, 3},
	// Linear layers over a sequence [N, T, d]: fc1 takes the Gram form
	// (T²(d+h) < T·d·h), fc2's example gradient is cheaper.
	{"sequence", `
model M {
    fc1 = Linear(8, 16)
    fc2 = Linear(16, 2)
    out = Linear(2, 3)
    forward(x: f64[N, 3, 8]) {
        h = fc2(relu(fc1(x)))
        return out(mean(h, 1))
    }
}`, 24, 3},
}

func dpProgram(t *testing.T, model, extra string, batch int) *ir.Program {
	t.Helper()
	src := model + fmt.Sprintf(`
train M {
    data      = random(samples = 100, classes = 3)
    loss      = cross_entropy
    optimizer = SGD(lr = 1)
    epochs    = 1
    batch     = %d
    %s
}
`, batch, extra)
	p, err := nnc.Compile("m.nn", []byte(src), nnc.Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// step runs one training step of p over the n examples of x and y from
// the parameters start, and returns each parameter's change start − new.
func step(t *testing.T, p *ir.Program, start map[string][]float64, x []float64, y []int32, n int) map[string][]float64 {
	t.Helper()
	store := interp.NewStore[float64]()
	if err := store.Init(p.TrainGraph, 1); err != nil {
		t.Fatal(err)
	}
	for name, v := range start {
		copy(store.Float(name), v)
	}
	m, err := interp.New(p.TrainGraph, store, 1)
	if err != nil {
		t.Fatal(err)
	}
	copy(m.Inputs()[0], x)
	labels, _ := m.Targets()
	copy(labels, y)
	if err := m.Run(n); err != nil {
		testenv.NoInternal(t, err)
		t.Fatal(err)
	}
	d := map[string][]float64{}
	for name, v := range start {
		now := store.Float(name)
		d[name] = make([]float64, len(v))
		for i := range v {
			d[name][i] = v[i] - now[i]
		}
	}
	return d
}

func TestDPClippedSum(t *testing.T) {
	const n, batch = 7, 5
	for _, tc := range dpModels {
		t.Run(tc.name, func(t *testing.T) {
			plain := dpProgram(t, tc.model, "", batch)
			store := interp.NewStore[float64]()
			if err := store.Init(plain.TrainGraph, 1); err != nil {
				t.Fatal(err)
			}
			start := map[string][]float64{}
			for _, v := range plain.TrainGraph.Sources(ir.OpParam) {
				start[v.Name] = slices.Clone(store.Float(v.Name))
			}
			rng := rand.New(rand.NewPCG(3, 4))
			x := make([]float64, n*tc.features)
			for i := range x {
				x[i] = rng.NormFloat64()
			}
			y := make([]int32, n)
			for i := range y {
				y[i] = int32(rng.IntN(tc.classes))
			}
			// Each example's own gradient and its norm.
			per := make([]map[string][]float64, n)
			norms := make([]float64, n)
			for i := range n {
				per[i] = step(t, plain, start, x[i*tc.features:(i+1)*tc.features], y[i:i+1], 1)
				for _, g := range per[i] {
					for _, v := range g {
						norms[i] += v * v
					}
				}
				norms[i] = math.Sqrt(norms[i])
			}
			sorted := slices.Sorted(slices.Values(norms))
			clip := sorted[n/2]
			want := map[string][]float64{}
			for i := range n {
				f := min(1, clip/(norms[i]+1e-6))
				for name, g := range per[i] {
					if want[name] == nil {
						want[name] = make([]float64, len(g))
					}
					for j, v := range g {
						want[name][j] += f * v / batch
					}
				}
			}

			private := dpProgram(t, tc.model, fmt.Sprintf("privacy = dp(clip = %v, noise = 0)", clip), batch)
			got := step(t, private, start, x, y, n)
			worst := 0.0
			for name, w := range want {
				for j := range w {
					worst = max(worst, math.Abs(got[name][j]-w[j]))
				}
			}
			if worst > 1e-6 || math.IsNaN(worst) {
				t.Errorf("clipped sum differs from the per-example loop by %g (clip %g, norms %v)", worst, clip, norms)
			}
			text := ir.Print(private.TrainGraph)
			for _, op := range []string{"ClipFactor", "ScaleRows", "DPNoise"} {
				if !strings.Contains(text, op) {
					t.Errorf("the DP step has no %s", op)
				}
			}
		})
	}
}
