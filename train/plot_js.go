//go:build js

package train

import "errors"

// In WebAssembly (the playground, web/) there is no file to draw loss
// curves into, and the page plots them itself: plot.go, and the plotting
// packages that would be most of the wasm binary, are left out.

// CheckPlotPath reports that plots are not drawn in WebAssembly.
func CheckPlotPath(path string) error {
	return errors.New("plots are not drawn in WebAssembly")
}

func writePlot(path string, rep *Report, classify bool) error {
	return CheckPlotPath(path)
}
