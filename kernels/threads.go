package kernels

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Threads: large float32 products may be split across goroutines, one part
// each, when more than one thread is allowed. The default is one, or the
// value of the environment variable NNC_THREADS when it is a positive
// integer; SetThreads changes it. Splitting divides the columns of C, so
// every element is computed as it would be alone: results are the same
// bits whatever the number of threads.

// maxThreads bounds SetThreads.
const maxThreads = 64

// parallelMin is the least m·n·k (multiply-adds) a product is split for:
// a part must take several times the few hundred nanoseconds a helper
// takes to see its work.
const parallelMin = 1 << 16

// spinFor is how long an idle helper keeps polling for work before it
// sleeps: back-to-back products (a training loop) then never wait for the
// scheduler to wake it, and an idle program stops spending a core soon.
const spinFor = 200 * time.Microsecond

var threads = struct {
	sync.Mutex // held by the goroutine whose product uses the helpers
	n          atomic.Int32
	helpers    []*helper
}{}

func init() {
	n := 1
	if v, err := strconv.Atoi(os.Getenv("NNC_THREADS")); err == nil && v > 0 {
		n = v
	}
	SetThreads(n)
}

// SetThreads sets how many threads (goroutines) a large float32 matrix
// product may use, 1 to 64 (other values are clamped), and returns the
// previous setting. Helpers are started as needed and never stopped; an
// idle one sleeps.
func SetThreads(n int) int {
	n = min(max(n, 1), maxThreads)
	threads.Lock()
	defer threads.Unlock()
	for len(threads.helpers) < n-1 {
		h := &helper{wake: make(chan struct{}, 1)}
		threads.helpers = append(threads.helpers, h)
		go h.loop()
	}
	return int(threads.n.Swap(int32(n)))
}

// Threads returns the number of threads SetThreads allows.
func Threads() int { return int(threads.n.Load()) }

// The states of a helper.
const (
	helperIdle   = iota // polling for work
	helperReady         // has work to do
	helperDone          // has done it
	helperAsleep        // waiting on wake
)

// helper is a goroutine that runs parts of products.
type helper struct {
	state atomic.Int32
	wake  chan struct{}
	part  gemmPart
	fault any // a panic of the last part, raised again by wait
}

// gemmPart is a product over some of the columns of C, as sgemmAsm's
// arguments.
type gemmPart struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c, bias  []float32
	lda, ldb, ldc  int
	relu           bool
}

func (p *gemmPart) run() {
	sgemmSerial(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, p.c, p.ldc, p.bias, p.relu)
}

func (h *helper) loop() {
	for {
		start := time.Now()
		for spins := 0; h.state.Load() != helperReady; spins++ {
			if spins&255 != 255 {
				continue
			}
			if time.Since(start) < spinFor {
				runtime.Gosched()
				continue
			}
			if h.state.CompareAndSwap(helperIdle, helperAsleep) {
				<-h.wake
			}
		}
		h.runPart()
		h.state.Store(helperDone)
	}
}

// runPart runs h's part, keeping a panic for the caller's goroutine (where
// the interpreter turns it into an error) instead of ending the program.
func (h *helper) runPart() {
	defer func() {
		h.fault = recover()
		h.part = gemmPart{} // keep no slices alive
	}()
	h.part.run()
}

// give hands p to h, waking it if it sleeps.
func (h *helper) give(p *gemmPart) {
	h.part = *p
	if !h.state.CompareAndSwap(helperIdle, helperReady) {
		h.state.Store(helperReady) // it was asleep
		h.wake <- struct{}{}
	}
}

// wait waits until h has done its part and makes it idle again; it
// returns the part's panic, if any.
func (h *helper) wait() any {
	for spins := 0; h.state.Load() != helperDone; spins++ {
		if spins&255 == 255 {
			runtime.Gosched()
		}
	}
	fault := h.fault
	h.fault = nil
	h.state.Store(helperIdle)
	return fault
}
