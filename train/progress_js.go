//go:build js

package train

import "io"

// In WebAssembly there is no terminal to draw progress bars on: progress.go
// and its terminal packages are left out, and a progress draws nothing.

// ProgressWriter returns nil: bars are for a terminal.
func ProgressWriter(w io.Writer, quiet bool) io.Writer { return nil }

type progress struct{}

func newProgress(w io.Writer) *progress          { return nil }
func (p *progress) start(e, epochs, samples int) {}
func (p *progress) step(n int, loss float64)     {}
func (p *progress) clear()                       {}
