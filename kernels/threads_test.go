package kernels

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// TestBlockPanic checks that a block that panics, in a helper or in the
// caller, comes back to the caller as a panic (the interpreter turns panics
// into errors; one in another goroutine would end the program), and that
// the helpers go on: C is too short for all blocks but the first.
func TestBlockPanic(t *testing.T) {
	if !hasAVX512 && !hasAVX2 {
		t.Skip("no assembly kernels: products are not split")
	}
	defer SetThreads(SetThreads(2))
	m, n, k := 1, 256, 1024
	a, b := make([]float32, m*k), make([]float32, k*n)
	for round := range 20 {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatalf("round %d: no panic", round)
				}
			}()
			c := make([]float32, 32)
			forceSplit()
			sgemmParallel(false, false, false, m, n, k, 1, a, k, b, n, 0, c, n, nil, false)
		}()
	}
	// The helpers still work, and the lock was released.
	rng := newRNG()
	a, b = randSlice[float32](rng, 64*k, -1, 1), randSlice[float32](rng, k*n, -1, 1)
	want, got := make([]float32, 64*n), make([]float32, 64*n)
	sgemmCols(false, false, false, 64, n, k, 1, a, k, b, n, 0, want, n, nil, false)
	forceSplit()
	if !sgemmParallel(false, false, false, 64, n, k, 1, a, k, b, n, 0, got, n, nil, false) {
		t.Fatal("after the panics: the product was not split")
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("after the panics: C[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

// TestCallerNeverWaits checks that a split product does not wait for a
// helper the scheduler does not run: with one P, the helper it wakes
// cannot run before the caller yields, so the caller computes every block
// itself and returns (it used to hand the helper its part and wait for
// it). Async preemption could let the helper in, so a few tries.
func TestCallerNeverWaits(t *testing.T) {
	if !hasAVX512 && !hasAVX2 {
		t.Skip("no assembly kernels: products are not split")
	}
	defer SetThreads(SetThreads(2))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	rng := newRNG()
	m, n, k := 64, 256, 256 // over wakeMin: the helper is woken
	a, b := randSlice[float32](rng, m*k, -1, 1), randSlice[float32](rng, k*n, -1, 1)
	want, got := make([]float32, m*n), make([]float32, m*n)
	sgemmCols(false, false, false, m, n, k, 1, a, k, b, n, 0, want, n, nil, false)
	for try := range 5 {
		time.Sleep(2 * spinFor) // the helper sleeps
		forceSplit()
		runtime.Gosched()
		if !sgemmParallel(false, false, false, m, n, k, 1, a, k, b, n, 0, got, n, nil, false) {
			t.Fatal("the product was not split")
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("C[%d] = %v, want %v", i, got[i], want[i])
			}
		}
		blocks := threads.callerBlocks
		if blocks == n/32/max(1, n/32/(blocksPerThread*2)) {
			return
		}
		t.Logf("try %d: the caller computed %d blocks", try, blocks)
	}
	t.Error("the caller never computed every block itself")
}

// TestChooser checks the choice between splitting products and running
// them alone: the faster way is kept, trying the other costs about
// tryCost of the time however much slower it is, and a change of speed
// is followed.
func TestChooser(t *testing.T) {
	var c chooser
	if c.split() {
		t.Fatal("first product: split before running alone was measured")
	}
	c.record(false, 1)
	if !c.split() {
		t.Fatal("second product: alone before splitting was measured")
	}
	c.record(true, 0.5)
	// run runs n products whose time per multiply-add is alone or split,
	// and returns how many were split and the time lost to the slower way.
	run := func(n int, alone, split float64) (splits int, lost float64) {
		var total float64
		for range n {
			s := c.split()
			r := alone
			if s {
				r = split
				splits++
			}
			c.record(s, r)
			total += r
			lost += r - min(alone, split)
		}
		return splits, lost / (total - lost)
	}
	aloneBetter := func() bool { return c.rate[0] <= c.rate[1] }
	// Splitting twice as fast.
	if splits, lost := run(100000, 1, 0.5); lost > 2*tryCost || splits == 100000 {
		t.Errorf("split twice as fast: %d products of 100000 split, %.1f%% lost", splits, 100*lost)
	}
	if aloneBetter() {
		t.Error("split twice as fast: alone is the better way")
	}
	// Split products stall (80 times slower): the average follows within
	// a few, and trying costs little.
	if splits, _ := run(100, 1, 80); splits > 5 {
		t.Errorf("split 80 times slower: %d of the first 100 products split", splits)
	}
	if !aloneBetter() {
		t.Error("split 80 times slower: splitting is the better way")
	}
	if splits, lost := run(200000, 1, 80); lost > 2*tryCost || splits == 0 {
		t.Errorf("split 80 times slower: %d products of 200000 split, %.1f%% lost", splits, 100*lost)
	}
	// The cores free again: splitting comes back at the next try.
	run(40000, 1, 0.5)
	if aloneBetter() {
		t.Error("split fast again: alone is still the better way")
	}
	if !c.polling() {
		t.Error("split fast again: helpers do not poll")
	}
	// A try runs tryProducts products the way it tries, even when its
	// first makes that way the better one, and helpers poll during a split
	// try.
	c = chooser{rate: [2]float64{1, 2}}
	if !c.split() {
		t.Fatal("the try does not split")
	}
	c.record(true, 0.1)
	for i := 1; i < tryProducts; i++ {
		if !c.polling() {
			t.Errorf("product %d of a split try: helpers do not poll", i+1)
		}
		if !c.split() {
			t.Fatalf("product %d of a split try runs alone", i+1)
		}
		c.record(true, 0.1)
	}
	if !c.split() || !c.polling() {
		t.Error("after a try that found splitting faster: alone")
	}
}

// forceSplit makes the next products that can be split split.
func forceSplit() {
	threads.Lock()
	threads.choice = chooser{rate: [2]float64{1, 0.5}, next: 1 << 30}
	threads.Unlock()
}

// TestKernelsEnv checks that NNC_KERNELS caps the kernels a process uses,
// in child processes (the variable is read when the package starts).
func TestKernelsEnv(t *testing.T) {
	if os.Getenv("NNC_KERNELS_CHILD") != "" {
		fmt.Printf("avx512=%v avx2=%v\n", hasAVX512, hasAVX2)
		return
	}
	child := func(env string) (avx512, avx2 bool) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKernelsEnv$")
		cmd.Env = append(os.Environ(), "NNC_KERNELS_CHILD=1", "NNC_KERNELS="+env)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("NNC_KERNELS=%s: %v", env, err)
		}
		if _, err := fmt.Sscanf(string(out), "avx512=%t avx2=%t", &avx512, &avx2); err != nil {
			t.Fatalf("NNC_KERNELS=%s: the child says %q", env, out)
		}
		return avx512, avx2
	}
	_, best2 := child("")
	if a512, a2 := child("avx2"); a512 || a2 != best2 {
		t.Errorf("NNC_KERNELS=avx2: avx512=%v avx2=%v, want false %v", a512, a2, best2)
	}
	if a512, a2 := child("portable"); a512 || a2 {
		t.Errorf("NNC_KERNELS=portable: avx512=%v avx2=%v, want none", a512, a2)
	}
}

// TestThreadsSameBits checks that a product split across 2, 3 and 4
// threads gives the bits one thread gives, on every assembly path, for
// shapes around the 32-column blocks and the kernels' tiles (rows past a
// multiple of 4, a last block narrower than 8 columns), every
// transposition, with and without bias and ReLU, beta 0 and 1.
func TestThreadsSameBits(t *testing.T) {
	avx, avx2 := hasAVX512, hasAVX2
	defer func() { hasAVX512, hasAVX2 = avx, avx2 }()
	defer SetThreads(SetThreads(1))
	for _, path := range []string{"avx512", "avx2"} {
		if path == "avx512" && !avx || path == "avx2" && !avx2 {
			continue
		}
		hasAVX512, hasAVX2 = path == "avx512", avx2
		rng := newRNG()
		shapes := [][3]int{{32, 128, 784}, {7, 65, 300}, {33, 97, 257}, {256, 128, 784}, {5, 1000, 64}, {128, 784, 32}, {3, 129, 513}, {64, 70, 100}}
		for trial, s := range append(shapes, shapes...) {
			m, n, k := s[0], s[1], s[2]
			tA, tB := trial%4 == 1 || trial%4 == 3, trial%4 >= 2
			a, b, c0, lda, ldb, ldc := randomGemm[float32](rng, tA, tB, m, n, k)
			var bias []float32
			if trial%3 == 0 {
				bias = randSlice[float32](rng, n, -1, 1)
			}
			relu, beta := trial%2 == 0, float32(trial/len(shapes))
			run := func(threads int) []float32 {
				SetThreads(threads)
				forceSplit()
				c := clone(c0)
				gemm(tA, tB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc, bias, relu)
				return c
			}
			want := run(1)
			for _, nt := range []int{2, 3, 4} {
				got := run(nt)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s %v tA=%v tB=%v beta=%v bias=%v relu=%v, %d threads: C[%d] = %v, one thread %v",
							path, s, tA, tB, beta, bias != nil, relu, nt, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// BenchmarkThreadsBusy compares one and two threads on the large products
// of an MNIST MLP (784-128-10) at batches 32 and 256, and on a step made
// of the two products of batch 32 with element-wise work between them,
// with nothing else running and with a busy loop on another goroutine
// locked to its OS thread: on a two-core machine the second thread then
// has no core of its own, and must cost next to nothing instead of
// stalling the products. Each iteration runs the case for 50 ms on one
// thread, then 50 ms on two, so that both see the same load on a shared
// machine; the metrics are the medians of µs per call on each and their
// ratio (below 1: two threads are faster).
//
//	go test ./kernels -run '^$' -bench ThreadsBusy -benchtime 10x
func BenchmarkThreadsBusy(b *testing.B) {
	rng := newRNG()
	x := randSlice[float32](rng, 256*784, -1, 1)
	w := randSlice[float32](rng, 128*784, -1, 1)
	h := make([]float32, 256*128)
	dh := randSlice[float32](rng, 32*128, -1, 1)
	dw := make([]float32, 128*784)
	forward := func(batch int) func() {
		return func() { gemm(false, true, batch, 128, 784, 1, x, 784, w, 784, 0, h, 128, nil, false) }
	}
	weightGrad := func() { gemm(true, false, 128, 784, 32, 1, dh, 128, x, 784, 0, dw, 784, nil, false) }
	cases := []struct {
		name string
		run  func()
	}{
		{"forward-b32", forward(32)},   // x·W1ᵀ
		{"weightgrad-b32", weightGrad}, // dH1ᵀ·x
		{"forward-b256", forward(256)},
		{"step-b32", func() {
			forward(32)()
			Relu(h[:32*128], h[:32*128])
			weightGrad()
			SGDStep(w, w, dw, nil, 1e-9, 0, 0, false)
		}},
	}
	median := func(v []float64) float64 {
		s := slices.Clone(v)
		slices.Sort(s)
		return s[len(s)/2]
	}
	for _, busy := range []bool{false, true} {
		for _, c := range cases {
			b.Run(fmt.Sprintf("busy=%v/%s", busy, c.name), func(b *testing.B) {
				defer SetThreads(SetThreads(1))
				if busy {
					var stop atomic.Bool
					done := make(chan struct{})
					go func() {
						runtime.LockOSThread()
						defer runtime.UnlockOSThread()
						for !stop.Load() {
						}
						close(done)
					}()
					defer func() { stop.Store(true); <-done }()
				}
				var us [3][]float64
				for range b.N {
					for _, nt := range []int{1, 2} {
						SetThreads(nt)
						calls, start := 0, time.Now()
						for time.Since(start) < 50*time.Millisecond {
							c.run()
							calls++
						}
						us[nt] = append(us[nt], float64(time.Since(start).Microseconds())/float64(calls))
					}
				}
				one, two := median(us[1]), median(us[2])
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(one, "µs/call-1t")
				b.ReportMetric(two, "µs/call-2t")
				b.ReportMetric(two/one, "2t/1t")
			})
		}
	}
}
