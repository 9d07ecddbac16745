package train

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// printer writes the progress lines of LANGUAGE.md.
type printer struct {
	out      io.Writer
	json     bool
	quiet    bool // the final line alone
	classify bool
	private  bool // epoch lines end with the epsilon spent (privacy = dp(...))
	err      error
}

// classes prints, in text mode, the class names a CSV target column held:
// "classes: 0=setosa 1=versicolor 2=virginica". Names that would read
// ambiguously are quoted.
func (p *printer) classes(names []string) {
	if p.json || p.quiet || len(names) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("classes:")
	for k, n := range names {
		if n == "" || strings.ContainsAny(n, " \t=\"") || !strconv.CanBackquote(n) {
			n = strconv.Quote(n)
		}
		fmt.Fprintf(&b, " %d=%s", k, n)
	}
	p.write(b.String())
}

func (p *printer) write(s string) {
	if p.out == nil || p.err != nil {
		return
	}
	_, p.err = io.WriteString(p.out, s+"\n")
}

func (p *printer) epoch(e Epoch) {
	if p.quiet {
		return
	}
	if p.json {
		m := map[string]any{"epoch": e.Epoch, "epochs": e.Epochs, "loss": e.Loss}
		if p.classify {
			m["accuracy"] = e.Accuracy
		}
		if p.private {
			m["epsilon"] = e.Epsilon
			if math.IsInf(e.Epsilon, 0) || math.IsNaN(e.Epsilon) {
				m["epsilon"] = nil // no guarantee (noise 0): JSON has no infinity
			}
		}
		p.write(jsonLine(m, "epoch", "epochs", "loss", "accuracy", "epsilon"))
		return
	}
	s := fmt.Sprintf("epoch %d/%d  loss %.6f", e.Epoch, e.Epochs, e.Loss)
	if p.classify {
		s += fmt.Sprintf("  accuracy %.4f", e.Accuracy)
	}
	if p.private {
		if math.IsInf(e.Epsilon, 0) || math.IsNaN(e.Epsilon) {
			s += "  epsilon inf"
		} else {
			s += fmt.Sprintf("  epsilon %.3f", e.Epsilon)
		}
	}
	p.write(s)
}

func (p *printer) final(e Epoch) {
	if p.json {
		m := map[string]any{"split": e.Split, "loss": e.Loss}
		if p.classify {
			m["accuracy"] = e.Accuracy
		}
		p.write(jsonLine(m, "split", "loss", "accuracy"))
		return
	}
	if p.classify {
		p.write(fmt.Sprintf("%s accuracy %.4f", e.Split, e.Accuracy))
	} else {
		p.write(fmt.Sprintf("%s loss %.6f", e.Split, e.Loss))
	}
}

// jsonLine encodes m with its keys in the given order.
func jsonLine(m map[string]any, order ...string) string {
	b := []byte{'{'}
	for _, k := range order {
		v, ok := m[k]
		if !ok {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(v)
		b = append(append(append(b, kb...), ':'), vb...)
	}
	return string(append(b, '}'))
}
