package kernels

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Threads: large float32 products may be split across goroutines when
// more than one thread is allowed. The default is one, or the value of
// the environment variable NNC_THREADS when it is a positive integer;
// SetThreads changes it.
//
// A split product is cut into blocks of whole 32-column tiles of C, more
// blocks than threads, which the calling goroutine and the helpers claim
// one at a time from a shared counter (work sharing over the column
// blocks). The caller starts at once and never waits for a helper to
// show up: a helper that the scheduler has not run yet (the other core
// is busy, or this process has fewer cores than threads) simply claims
// nothing, and the caller does every block itself. The caller waits only
// for blocks a helper has claimed and not finished, which are short.
// Every block is computed by the same kernel the whole product would use
// (the choice is made for the whole product, and blocks start on 32-column
// boundaries, the widest tile), so every element of C is the same bits
// whatever the number of threads.
//
// Whether splitting pays depends on what else the machine runs: with a
// core free, two threads nearly halve a product; with the other core busy,
// a helper is descheduled in the middle of its block (the caller then
// waits for it), or polls and takes a share of the busy cores from the
// caller. So the caller measures both: it times every product it could
// split, per multiply-add, split and alone, keeps the better way, and
// tries the other now and then, the more rarely the worse it was (see
// chooser). While running alone is better, helpers sleep as soon as they
// run out of blocks instead of polling. Helpers poll for work for spinFor
// after their last block, then sleep; only products of wakeMin
// multiply-adds or more wake them.

// maxThreads bounds SetThreads.
const maxThreads = 64

// parallelMin is the least m·n·k (multiply-adds) a product is split for:
// a block must take longer than a helper that polls takes to claim it.
const parallelMin = 1 << 16

// wakeMin is the least m·n·k a product wakes sleeping helpers for: waking
// one costs the caller a system call and the helper several microseconds
// before it claims work, which only a product this large repays. Smaller
// products are shared with the helpers that are still polling.
const wakeMin = 1 << 20

// blocksPerThread is how many blocks a product is cut into per thread, so
// that a helper that starts late, or is descheduled, costs little.
const blocksPerThread = 4

// blockMin is the least work (multiply-adds) of a block: a claim and a
// call of the kernel cost a few hundred nanoseconds.
const blockMin = 1 << 15

// spinFor is how long an idle helper keeps polling for work before it
// sleeps: products in quick succession (the layers of a forward pass)
// then find it awake, and the element-wise work between the products of
// a training step does not share its core with a polling helper (on a
// busy machine, polling for 50 µs made two threads up to 1.6 times as
// slow as one).
const spinFor = 15 * time.Microsecond

// waitFor is how long a caller polls for the blocks helpers are finishing
// before it sleeps: longer than a block takes, shorter than the time slice
// of a helper that the system has descheduled.
const waitFor = 100 * time.Microsecond

var threads struct {
	sync.Mutex // held by the goroutine whose product is split
	n          atomic.Int32
	helpers    []*helper

	// The product being split, written under the lock before ticket
	// publishes it, and read by whoever claims one of its blocks.
	job gemmJob
	gen uint32 // the generation of the last product published
	// ticket is the generation (high 32 bits), the number of blocks
	// (next 16) and the next block to claim (low 16) of the product being
	// split; a block is claimed by incrementing it.
	ticket atomic.Uint64
	done   atomic.Int32 // blocks of the product finished, by anyone
	// waiting is set when the caller sleeps on finished until the last
	// block is done; whoever finishes it wakes the caller.
	waiting  atomic.Bool
	finished chan struct{}
	faultMu  sync.Mutex
	fault    any // the first panic of a block, raised again by the caller
	// callerBlocks is how many blocks of the last split product its
	// caller computed itself (for tests).
	callerBlocks int
	// choice decides whether each product that could be split is.
	choice chooser
	// contended is set while running alone is better: helpers then sleep
	// as soon as they run out of blocks instead of polling, which would
	// take a share of the busy cores from the caller.
	contended atomic.Bool
}

// chooser chooses between splitting products and running them alone from
// their measured speed: it keeps, for each way, a moving average of the
// nanoseconds per multiply-add of the products run that way (the same
// mix of products for both in a training loop), runs the next products
// the faster way, and every so often one the other way, to follow a
// machine whose load changes. The other way is tried after a number of
// products that grows with how much slower it was, so that trying it
// costs about tryCost of the time: a stall of milliseconds on a product of
// tens of microseconds is tried again only after thousands. A try is
// tryProducts products in a row.
type chooser struct {
	rate   [2]float64 // ns per multiply-add alone ([0]) and split ([1]); 0 unknown
	next   int        // products before the other way is tried
	trying int        // products of the try still to run after this one
	tryWay bool       // the way being tried: split
	tried  bool       // the product being run is one of a try
	rng    uint64     // spreads the tries over the products of a step
}

// tryProducts is how many products in a row a try runs the other way: the
// first of a split try wakes helpers that slept, the next find them
// polling, as they would be if splitting were the usual way.
const tryProducts = 4

// tryCost is the share of time that trying the slower way may cost.
const tryCost = 0.02

// split reports whether to split the next product.
func (c *chooser) split() bool {
	c.tried = false
	switch {
	case c.rate[0] == 0:
		return false
	case c.rate[1] == 0:
		return true
	case c.trying > 0:
		c.trying--
		c.tried = true
		return c.tryWay
	}
	best := c.rate[1] < c.rate[0]
	if c.next > 0 {
		c.next--
		return best
	}
	worse, better := max(c.rate[0], c.rate[1]), min(c.rate[0], c.rate[1])
	n := int(min(tryProducts*(worse/better-1)/tryCost, 1<<18))
	c.rng ^= c.rng<<13 | 1
	c.rng ^= c.rng >> 7
	c.rng ^= c.rng << 17
	c.next = max(n, 16) + int(c.rng%uint64(max(n, 16)))/2
	c.trying, c.tryWay, c.tried = tryProducts-1, !best, true
	return !best
}

// polling reports whether helpers should poll for work after their
// blocks: unless running alone is the better way, or during a split try.
func (c *chooser) polling() bool {
	if c.tried && c.trying > 0 {
		return c.tryWay
	}
	return c.rate[0] == 0 || c.rate[1] == 0 || c.rate[1] < c.rate[0]
}

// record adds a product's time, in ns per multiply-add, to its way's
// average: a product run the usual way counts for an eighth, so that one
// descheduled product does not change the way; a product of a try counts
// for three quarters, as tries are rare and must follow a change of load
// at once.
func (c *chooser) record(split bool, rate float64) {
	i := 0
	if split {
		i = 1
	}
	switch {
	case c.rate[i] == 0:
		c.rate[i] = rate
	case c.tried:
		c.rate[i] += (rate - c.rate[i]) * 3 / 4
	default:
		c.rate[i] += (rate - c.rate[i]) / 8
	}
}

func init() {
	threads.finished = make(chan struct{}, 1)
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
		h := &helper{index: len(threads.helpers), wake: make(chan struct{}, 1)}
		threads.helpers = append(threads.helpers, h)
		go h.loop()
	}
	return int(threads.n.Swap(int32(n)))
}

// Threads returns the number of threads SetThreads allows.
func Threads() int { return int(threads.n.Load()) }

// gemmJob is a product over whole columns of C cut into blocks, as
// sgemmCols's arguments.
type gemmJob struct {
	transA, transB bool
	small          bool // sgemmCols's choice, made for the whole product
	m, n, k        int
	alpha, beta    float32
	a, b, c, bias  []float32
	lda, ldb, ldc  int
	relu           bool
	width          int // columns per block; the last block takes the rest
	blocks         int
}

// runBlock computes block i of the job, keeping a panic for the caller's
// goroutine (where the interpreter turns it into an error) instead of
// ending the program.
func (j *gemmJob) runBlock(i int) {
	defer func() {
		if r := recover(); r != nil {
			threads.faultMu.Lock()
			if threads.fault == nil {
				threads.fault = r
			}
			threads.faultMu.Unlock()
		}
	}()
	j0 := i * j.width
	j1 := j0 + j.width
	if i == j.blocks-1 {
		j1 = j.n
	}
	b := j.b[j0:]
	if j.transB {
		b = j.b[j0*j.ldb:]
	}
	var bias []float32
	if j.bias != nil {
		bias = j.bias[j0:j1]
	}
	sgemmCols(j.small, j.transA, j.transB, j.m, j1-j0, j.k, j.alpha, j.a, j.lda, b, j.ldb, j.beta, j.c[j0:], j.ldc, bias, j.relu)
}

// The fields of a ticket.
func ticketOf(gen uint32, blocks, next int) uint64 {
	return uint64(gen)<<32 | uint64(blocks)<<16 | uint64(next)
}

func ticketBlocks(t uint64) int { return int(t >> 16 & 0xffff) }
func ticketNext(t uint64) int   { return int(t & 0xffff) }

// claim claims a block of the product being split and runs it; it reports
// false when every block is claimed.
func claim() bool {
	for {
		t := threads.ticket.Load()
		blocks, next := ticketBlocks(t), ticketNext(t)
		if next >= blocks {
			return false
		}
		if !threads.ticket.CompareAndSwap(t, t+1) {
			continue
		}
		// The claim holds the product's caller until done counts this
		// block: the job is the one the ticket published.
		threads.job.runBlock(next)
		if int(threads.done.Add(1)) == blocks && threads.waiting.CompareAndSwap(true, false) {
			threads.finished <- struct{}{}
		}
		return true
	}
}

// sgemmParallel computes C = alpha·op(A)·op(B) + beta·C (beta 0 or 1) as
// sgemmCols(small, ...) does, split across the threads allowed when the
// product is large enough and no other product uses the helpers, and
// reports whether it did.
func sgemmParallel(small, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, relu bool) bool {
	nt := Threads()
	if nt < 2 || m*n*k < parallelMin || n < 64 {
		return false
	}
	// Blocks of whole 32-column tiles, blocksPerThread per thread unless
	// that makes them smaller than blockMin; the last takes the rest.
	tiles := n / 32
	per := max(1, tiles/(blocksPerThread*nt), (blockMin+m*k*32-1)/(m*k*32))
	blocks := tiles / per
	if blocks < 2 || !threads.TryLock() {
		// The lock is not waited for: a product started while another
		// uses the helpers runs alone.
		return false
	}
	defer threads.Unlock()
	start := time.Now()
	fma := float64(m) * float64(n) * float64(k)
	if !threads.choice.split() {
		sgemmCols(small, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu)
		threads.choice.record(false, float64(time.Since(start))/fma)
		threads.contended.Store(!threads.choice.polling())
		return true
	}
	threads.job = gemmJob{transA: transA, transB: transB, small: small, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, bias: bias, lda: lda, ldb: ldb, ldc: ldc, relu: relu, width: per * 32, blocks: blocks}
	threads.done.Store(0)
	threads.gen++
	threads.ticket.Store(ticketOf(threads.gen, blocks, 0))
	if m*n*k >= wakeMin {
		for _, h := range threads.helpers[:nt-1] {
			if h.asleep.Load() && h.asleep.CompareAndSwap(true, false) {
				h.wake <- struct{}{}
			}
		}
	}
	threads.callerBlocks = 0
	for claim() {
		threads.callerBlocks++
	}
	if int(threads.done.Load()) != blocks {
		waitHelpers(blocks)
	}
	threads.choice.record(true, float64(time.Since(start))/fma)
	threads.contended.Store(!threads.choice.polling())
	threads.job = gemmJob{} // keep no slices alive
	if f := threads.fault; f != nil {
		threads.fault = nil
		panic(f)
	}
	return true
}

// waitHelpers waits until the helpers have finished the blocks they
// claimed: it polls for waitFor, then sleeps until the last one is done
// (its helper was descheduled).
func waitHelpers(blocks int) {
	start := time.Now()
	for spins := 0; int(threads.done.Load()) != blocks; spins++ {
		if spins&63 != 63 {
			continue
		}
		if time.Since(start) < waitFor {
			runtime.Gosched()
			continue
		}
		threads.waiting.Store(true)
		if int(threads.done.Load()) != blocks || !threads.waiting.CompareAndSwap(true, false) {
			<-threads.finished
		}
		return
	}
}

// helper is a goroutine that claims blocks of split products.
type helper struct {
	index  int         // helpers[index]: it works while Threads() > index+1
	asleep atomic.Bool // it waits on wake
	wake   chan struct{}
}

func (h *helper) loop() {
	for {
		start := time.Now()
		for spins := 0; !h.work(); spins++ {
			if spins&255 != 255 {
				continue
			}
			if time.Since(start) < spinFor && !threads.contended.Load() {
				runtime.Gosched()
				continue
			}
			h.sleep()
			start = time.Now()
		}
	}
}

// work runs blocks of the product being split while there are any to
// claim, and reports whether it ran one.
func (h *helper) work() bool {
	if h.index >= Threads()-1 {
		return false
	}
	ran := false
	for claim() {
		ran = true
	}
	return ran
}

// sleep waits until a product wakes h, unless one has come meanwhile.
func (h *helper) sleep() {
	h.asleep.Store(true)
	t := threads.ticket.Load()
	if ticketNext(t) < ticketBlocks(t) && h.asleep.CompareAndSwap(true, false) {
		return
	}
	// Asleep, or a caller has just cleared asleep and sends a wake.
	<-h.wake
}
