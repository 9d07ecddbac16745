//go:build !js

package train

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	_ "gonum.org/v1/plot/vg/vgimg" // registers png and jpg
	_ "gonum.org/v1/plot/vg/vgsvg" // registers svg

	"github.com/nnc-go/nnc/internal/atomicfile"
)

// plotFormats are the file extensions a plot may be written as.
var plotFormats = []string{"png", "jpg", "jpeg", "svg"}

// CheckPlotPath reports whether a plot can be written to path, judging by
// its extension, so that a bad --plot fails before training does.
func CheckPlotPath(path string) error {
	if _, err := plotFormat(path); err != nil {
		return err
	}
	return nil
}

func plotFormat(path string) (string, error) {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	formats := "." + strings.Join(plotFormats, ", .")
	switch {
	case ext == "":
		return "", fmt.Errorf("%s: no file extension to choose a picture format by; the formats are %s", path, formats)
	case !slices.Contains(plotFormats, ext):
		return "", fmt.Errorf("%s: cannot plot to a .%s file; the formats are %s", path, ext, formats)
	}
	return ext, nil
}

// Colours of the curves: train in blue, test in orange.
var (
	trainColor = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	testColor  = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
)

// writePlot draws the loss (and, for classification, the accuracy) of each
// epoch of rep and writes the picture to path atomically, in the format
// its extension names. The training curve holds the means measured during
// each epoch; the test curve, the evaluations after each epoch; without a
// test set, the final evaluation of the training data is one marked point.
func writePlot(path string, rep *Report, classify bool) error {
	format, err := plotFormat(path)
	if err != nil {
		return err
	}
	if len(rep.Epochs) == 0 {
		return fmt.Errorf("%s: no epochs to plot", path)
	}
	loss := func(e Epoch) float64 { return e.Loss }
	acc := func(e Epoch) float64 { return e.Accuracy }
	plots := []*plot.Plot{}
	lp, err := curvePlot(rep, "loss", loss)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	plots = append(plots, lp)
	if classify {
		ap, err := curvePlot(rep, "accuracy", acc)
		if err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		ap.Y.Min, ap.Y.Max = 0, 1
		plots = append(plots, ap)
	}

	w, h := 7*vg.Inch, 3.25*vg.Inch*vg.Length(len(plots))
	c, err := draw.NewFormattedCanvas(w, h, format)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	rows := make([][]*plot.Plot, len(plots))
	for i, p := range plots {
		rows[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12), PadY: vg.Points(12)}
	canvases := plot.Align(rows, tiles, draw.New(c))
	for i, p := range plots {
		p.Draw(canvases[i][0])
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if err := atomicfile.Write(path, buf.Bytes()); err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	return nil
}

// curvePlot plots one measure of rep against the epoch.
func curvePlot(rep *Report, name string, measure func(Epoch) float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = name
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = name
	p.Legend.Top = name == "loss" // out of the way of the usual curves
	p.X.Tick.Marker = epochTicks{}
	p.Add(plotter.NewGrid())

	add := func(label string, es []Epoch, c color.Color, line bool) error {
		pts := make(plotter.XYs, 0, len(es))
		for i, e := range es {
			x := float64(e.Epoch)
			if x == 0 {
				x = float64(i + 1)
			}
			if v := measure(e); !math.IsNaN(v) && !math.IsInf(v, 0) {
				pts = append(pts, plotter.XY{X: x, Y: v})
			}
		}
		if len(pts) == 0 {
			return nil
		}
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		s.GlyphStyle.Color = c
		s.GlyphStyle.Radius = vg.Points(2.5)
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		if !line {
			p.Add(s)
			p.Legend.Add(label, s)
			return nil
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.LineStyle.Color = c
		l.LineStyle.Width = vg.Points(1.5)
		p.Add(l, s)
		p.Legend.Add(label, l, s)
		return nil
	}
	if err := add("train", rep.Epochs, trainColor, true); err != nil {
		return nil, err
	}
	switch {
	case len(rep.Test) > 0:
		if err := add("test", rep.Test, testColor, true); err != nil {
			return nil, err
		}
	case rep.Final.Split != "":
		final := rep.Final
		final.Epoch = len(rep.Epochs)
		if err := add(rep.Final.Split+" (final evaluation)", []Epoch{final}, testColor, false); err != nil {
			return nil, err
		}
	}
	// A margin keeps the first and last points clear of the axes.
	last := float64(len(rep.Epochs))
	margin := 0.25 + 0.02*(last-1)
	p.X.Min, p.X.Max = 1-margin, last+margin
	return p, nil
}

// epochTicks marks whole epochs, at most about ten of them labelled.
type epochTicks struct{}

// Ticks returns the ticks between min and max.
func (epochTicks) Ticks(min, max float64) []plot.Tick {
	lo, hi := math.Ceil(min), math.Floor(max)
	step := math.Max(1, math.Ceil((hi-lo+1)/10))
	var ts []plot.Tick
	for v := lo; v <= hi; v++ {
		label := ""
		if math.Mod(v-lo, step) == 0 {
			label = strconv.FormatFloat(v, 'f', -1, 64)
		}
		ts = append(ts, plot.Tick{Value: v, Label: label})
	}
	return ts
}
