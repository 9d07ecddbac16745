//go:build !js

package train

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal reports whether the file descriptor fd is a terminal. Tests
// replace it.
var isTerminal = term.IsTerminal

// terminalWidth returns the width of the terminal fd, or 0. Tests replace
// it.
var terminalWidth = func(fd int) int {
	w, _, err := term.GetSize(fd)
	if err != nil {
		return 0
	}
	return w
}

// progressThrottle is the least time between two drawings of a bar. Tests
// set it to 0.
var progressThrottle = 100 * time.Millisecond

// fder is a writer with a file descriptor, such as *os.File.
type fder interface{ Fd() uintptr }

// ProgressWriter returns w when Run should draw progress bars on it, or
// nil: bars are for a person watching, so only a terminal gets them (w has
// a file descriptor that is a terminal and TERM is not "dumb"), and never
// a quiet run. Anything else, such as a pipe or a file, gets the plain
// epoch lines alone.
func ProgressWriter(w io.Writer, quiet bool) io.Writer {
	if quiet || w == nil {
		return nil
	}
	f, ok := w.(fder)
	if !ok || !isTerminal(int(f.Fd())) || os.Getenv("TERM") == "dumb" {
		return nil
	}
	return w
}

// progress draws the bar of one epoch: the samples done, the running mean
// loss, samples per second and the time left. The bar clears itself when
// the epoch ends, before the epoch's line is printed. A nil *progress
// draws nothing.
type progress struct {
	w     io.Writer
	width int // of the bar itself, in columns
	bar   *progressbar.ProgressBar
	desc  string // "epoch 3/10", the start of each description
}

// newProgress returns a progress drawing on w, or nil when w is nil.
func newProgress(w io.Writer) *progress {
	if w == nil {
		return nil
	}
	p := &progress{w: w, width: 20}
	if f, ok := w.(fder); ok {
		// The bar, the description and the rates share one line: about 60
		// columns go to the text around the bar.
		if cols := terminalWidth(int(f.Fd())); cols > 0 {
			p.width = min(max(cols-62, 10), 40)
		}
	}
	return p
}

// start begins the bar of epoch e of epochs, over samples samples.
func (p *progress) start(e, epochs, samples int) {
	if p == nil {
		return
	}
	p.desc = fmt.Sprintf("epoch %d/%d", e, epochs)
	p.bar = progressbar.NewOptions(samples,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(p.desc),
		progressbar.OptionSetWidth(p.width),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("samples"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(progressThrottle),
		progressbar.OptionClearOnFinish(),
	)
}

// step records a batch of n samples after which the epoch's mean loss so
// far is loss.
func (p *progress) step(n int, loss float64) {
	if p == nil || p.bar == nil {
		return
	}
	p.bar.Describe(fmt.Sprintf("%s  loss %.4f", p.desc, loss))
	p.bar.Add(n)
}

// clear erases an unfinished bar, as when the epoch fails.
func (p *progress) clear() {
	if p == nil || p.bar == nil {
		return
	}
	if !p.bar.IsFinished() {
		p.bar.Exit()
		p.bar.Clear()
	}
	p.bar = nil
}
