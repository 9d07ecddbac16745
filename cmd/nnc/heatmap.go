package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"path/filepath"

	"github.com/nnc-go/nnc/internal/atomicfile"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/train"
)

// writeHeatmaps writes into dir one PNG per row of ex: the row's image in
// gray (the mean over its channels, stretched to black–white), enlarged,
// with its attributions laid over it, red where they are positive and
// blue where negative, more opaque the larger they are relative to the
// row's largest. The model's input must have images as rows: at least
// two dimensions, the last two the height and the width.
func writeHeatmaps(dir string, fwd *ir.Graph, in *train.ExplainInput, ex *train.Explanation) error {
	x := fwd.Sources(ir.OpInput)[0]
	row := x.Type.Shape[1:]
	if row.Rank() < 2 {
		return fmt.Errorf("--png: the rows of input %s (%s) are not images", x.Name, x.Type)
	}
	h, w := row[row.Rank()-2], row[row.Rank()-1]
	channels := row.Elems() / (h * w)
	scale := max(1, 256/max(h, w))
	if err := ensureDir(dir); err != nil {
		return fmt.Errorf("--png: %v", err)
	}
	gray := make([]float64, h*w)
	attr := make([]float64, h*w)
	for i := range ex.N {
		clear(gray)
		clear(attr)
		xs := in.X[i*ex.Features : (i+1)*ex.Features]
		as := ex.Attr[i*ex.Features : (i+1)*ex.Features]
		for c := range channels {
			for k := range h * w {
				gray[k] += xs[c*h*w+k] / float64(channels)
				attr[k] += as[c*h*w+k]
			}
		}
		lo, hi, top := math.Inf(1), math.Inf(-1), 0.0
		for k := range gray {
			lo, hi = min(lo, gray[k]), max(hi, gray[k])
			top = max(top, math.Abs(attr[k]))
		}
		img := image.NewRGBA(image.Rect(0, 0, w*scale, h*scale))
		for y := range h {
			for xx := range w {
				k := y*w + xx
				g := 0.0
				if hi > lo {
					g = (gray[k] - lo) / (hi - lo)
				}
				r, gg, b := g, g, g
				if top > 0 && !math.IsNaN(attr[k]) {
					s := attr[k] / top
					alpha := 0.9 * math.Abs(s)
					cr, cb := 1.0, 0.0 // red for positive attributions
					if s < 0 {
						cr, cb = 0, 1
					}
					r = (1-alpha)*r + alpha*cr
					gg = (1 - alpha) * gg
					b = (1-alpha)*b + alpha*cb
				}
				c := color.RGBA{R: byte(255*r + 0.5), G: byte(255*gg + 0.5), B: byte(255*b + 0.5), A: 255}
				for dy := range scale {
					for dx := range scale {
						img.SetRGBA(xx*scale+dx, y*scale+dy, c)
					}
				}
			}
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return err
		}
		if err := atomicfile.Write(filepath.Join(dir, heatmapName(ex, i)), buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}
