package kernels

import (
	"math/rand/v2"
	"testing"
)

// gptStepProducts are the matrix products of one training step of the
// character GPT (examples/names.nn: 4 blocks, width 64, 4 heads of 16,
// context 16, vocabulary 80) at batch 32, so 512 positions: each shape
// with the number of times a step runs it, forward and backward. A Linear
// y = x·Wᵀ runs x·Wᵀ forward (NT), dy·W for dx (NN) and dyᵀ·x for dW (TN,
// depth 512); an attention head runs q·kᵀ and p·v forward, and dy·vᵀ,
// pᵀ·dy, ds·k and dsᵀ·q backward, 16×16×16 each, 128 heads a block.
// bench/gpt_torch.py's "gemms" mode times the same list in PyTorch; the
// FLOP of the list is its STEP_FLOP.
var gptStepProducts = []struct {
	name    string
	tA, tB  bool
	m, n, k int
	count   int
}{
	{"fwd_qkvproj_512x64x64_NT", false, true, 512, 64, 64, 16},
	{"fwd_fc_512x256x64_NT", false, true, 512, 256, 64, 4},
	{"fwd_out_512x64x256_NT", false, true, 512, 64, 256, 4},
	{"fwd_head_512x80x64_NT", false, true, 512, 80, 64, 1},
	{"bwd_dx_qkvproj_512x64x64_NN", false, false, 512, 64, 64, 16},
	{"bwd_dx_fc_512x64x256_NN", false, false, 512, 64, 256, 4},
	{"bwd_dx_out_512x256x64_NN", false, false, 512, 256, 64, 4},
	{"bwd_dx_head_512x64x80_NN", false, false, 512, 64, 80, 1},
	{"bwd_dw_qkvproj_64x64x512_TN", true, false, 64, 64, 512, 16},
	{"bwd_dw_fc_256x64x512_TN", true, false, 256, 64, 512, 4},
	{"bwd_dw_out_64x256x512_TN", true, false, 64, 256, 512, 4},
	{"bwd_dw_head_80x64x512_TN", true, false, 80, 64, 512, 1},
	{"attn_qk_dyv_16x16x16_NT", false, true, 16, 16, 16, 2 * 4 * 128},
	{"attn_pv_dsk_16x16x16_NN", false, false, 16, 16, 16, 2 * 4 * 128},
	{"attn_ptdy_dstq_16x16x16_TN", true, false, 16, 16, 16, 2 * 4 * 128},
}

type gptProduct struct {
	tA, tB   bool
	m, n, k  int
	a, b, c  []float32
	lda, ldb int
}

func newGPTProduct(rng *rand.Rand, tA, tB bool, m, n, k int) gptProduct {
	p := gptProduct{tA: tA, tB: tB, m: m, n: n, k: k, lda: k, ldb: n}
	if tA {
		p.lda = m
	}
	if tB {
		p.ldb = k
	}
	p.a = randSlice[float32](rng, m*k, -1, 1)
	p.b = randSlice[float32](rng, k*n, -1, 1)
	p.c = make([]float32, m*n)
	return p
}

func (p *gptProduct) run() {
	Gemm(p.tA, p.tB, p.m, p.n, p.k, 1, p.a, p.lda, p.b, p.ldb, 0, p.c, p.n)
}

// BenchmarkGPTStepGemms times the GPT training step's matrix products
// alone (all of gptStepProducts, each its count of times, one op per
// product as the step runs them): the part of the step no fusion or
// layout change removes; then each shape alone.
func BenchmarkGPTStepGemms(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	ps := make([]gptProduct, len(gptStepProducts))
	for i, s := range gptStepProducts {
		ps[i] = newGPTProduct(rng, s.tA, s.tB, s.m, s.n, s.k)
	}
	// "step" is the whole list, "linear" the list without attention's
	// per-head products (bench/gpt_torch.py gemms prints both).
	for _, heads := range []bool{true, false} {
		name, f := "step", 0.0
		if !heads {
			name = "linear"
		}
		for _, s := range gptStepProducts {
			if heads || s.m != 16 {
				f += 2 * float64(s.m*s.n*s.k*s.count)
			}
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for i, s := range gptStepProducts {
					if !heads && s.m == 16 {
						continue
					}
					for range s.count {
						ps[i].run()
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/step")
			b.ReportMetric(f*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
	for i, s := range gptStepProducts {
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				ps[i].run()
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)*float64(s.count)/1e3, "us/step")
		})
	}
}

func TestGPTStepProductsFLOP(t *testing.T) {
	// bench/gpt_torch.py's STEP_FLOP: the list must count the same work.
	const b, t16, d, v, layers = 32, 16, 64, 80, 4
	want := 3 * b * t16 * (layers*2*(4*d*d+2*d*4*d+2*t16*d) + 2*d*v)
	got := 0
	for _, s := range gptStepProducts {
		got += 2 * s.m * s.n * s.k * s.count
	}
	if got != want {
		t.Fatalf("gptStepProducts count %d FLOP, STEP_FLOP is %d", got, want)
	}
}
