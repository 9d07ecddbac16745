package codegen

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

// checkStandardization refuses statistics that do not fit the model's
// input row of features values.
func checkStandardization(opt Options, features int) error {
	if opt.Mean == nil && opt.Std == nil {
		return nil
	}
	if len(opt.Mean) != features || len(opt.Std) != features {
		return fmt.Errorf("codegen: normalisation of %d and %d features, the model's input row has %d", len(opt.Mean), len(opt.Std), features)
	}
	for j := range opt.Mean {
		if m, s := opt.Mean[j], opt.Std[j]; math.IsNaN(m) || math.IsInf(m, 0) || !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("codegen: normalisation of feature %d: mean %v, standard deviation %v", j+1, m, s)
		}
	}
	return nil
}

// standardization writes, for a model trained on standardised features
// (csv(..., normalize = true)), the statistics and the method that scales
// Forward's rows with them into a buffer of the model's; nothing
// otherwise.
func (g *gen) standardization(b *bytes.Buffer) {
	if g.opt.Mean == nil {
		return
	}
	list := func(xs []float64) string {
		var s []byte
		for j, x := range xs {
			if j > 0 {
				s = append(s, ", "...)
			}
			s = strconv.AppendFloat(s, x, 'g', -1, 64)
		}
		return string(s)
	}
	b.WriteString("// featureMean and featureStd are the statistics of the training data\n// that the model's input features were standardised with.\n")
	fmt.Fprintf(b, "var (\n\tfeatureMean = [InputSize]float64{%s}\n\tfeatureStd = [InputSize]float64{%s}\n)\n\n", list(g.opt.Mean), list(g.opt.Std))
	fmt.Fprintf(&g.fields, "xn []%s // Forward's rows, standardised\n", g.elem)
	fmt.Fprintf(&g.inits, "m.xn = make([]%s, Batch*InputSize)\n", g.elem)
	fmt.Fprintf(&g.extra, `// standardize writes the rows of x (at most Batch), each feature scaled to
// (x - featureMean) / featureStd as in training, into m.xn and returns them.
func (m *Model) standardize(x []%[1]s) []%[1]s {
	xn := m.xn[:len(x)]
	for i, v := range x {
		j := i %% InputSize
		xn[i] = %[1]s((float64(v) - featureMean[j]) / featureStd[j])
	}
	return xn
}

`, g.elem)
}

// forwardInput is the expression of the rows Forward passes on: x's rows,
// standardised when the model was trained so.
func (g *gen) forwardInput(rows string) string {
	if g.opt.Mean == nil {
		return rows
	}
	return "m.standardize(" + rows + ")"
}

// forwardDoc is the sentence Forward's comment adds for a model trained on
// standardised features.
func (g *gen) forwardDoc() string {
	if g.opt.Mean == nil {
		return ""
	}
	return "\n//\n// x holds the features as the training data did: Forward standardises\n// them with featureMean and featureStd, as training did, in a buffer of\n// its own (x is not changed)."
}
