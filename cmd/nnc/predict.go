package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/passes"
	"github.com/nnc-go/nnc/train"
)

var predictCmd = &command{
	name:    "predict",
	usage:   "nnc predict FILE --weights CKPT --input DATA [--output y.npy] [--model M] [--set p=v] [--batch B] [--json]",
	summary: "run a trained model over every row of a CSV file (or an IDX file of images, or NumPy arrays) and print one prediction per row, or write the outputs as arrays",
	run:     runPredict,
}

// predictBatch is the number of rows the forward pass runs at once by
// default.
const predictBatch = 256

func runPredict(e *cmdEnv, args []string) int {
	var v flagVals
	file, code, ok := e.parseFile(args, &v)
	if !ok {
		return code
	}
	switch {
	case v.weights == "" && !nnc.IsONNX(file):
		fmt.Fprintf(e.stderr, "nnc predict: --weights CKPT is required\nusage: %s\n", e.cmd.usage)
		return exitModel
	case v.input == "":
		fmt.Fprintf(e.stderr, "nnc predict: --input DATA is required\nusage: %s\n", e.cmd.usage)
		return exitModel
	}
	batch := v.batch
	if batch == 0 {
		batch = predictBatch
	}
	// The forward pass alone is compiled: predicting needs no gradient, and
	// a model whose training step cannot be compiled still predicts.
	p, code, ok := e.compile(file, nnc.Options{Options: irOptions(&v), After: "none"})
	if !ok {
		return code
	}
	p.Forward.Attrs = p.Forward.Attrs.Set("batch", train.PredictBatch(batch))
	if err := passes.Run(p.Forward, passes.Options{}); err != nil {
		return e.report(err)
	}
	if arrayIO(&v) {
		return e.predictArrays(p, &v)
	}
	if !batchFirst(p.Forward) {
		fmt.Fprintf(e.stderr, "nnc predict: %s: model %s must take one input and return one output, each with the batch as its first dimension\n", file, p.Model)
		return exitModel
	}
	if len(v.inputs) > 1 {
		fmt.Fprintf(e.stderr, "nnc predict: several --input are NumPy arrays NAME=file.npy\n")
		return exitModel
	}
	opt := train.PredictOptions{Weights: v.weights, Input: v.input}
	if v.weights == "" {
		f, err := checkpoint.Decode(p.Weights)
		if err != nil {
			fmt.Fprintf(e.stderr, "nnc predict: %s: %v\n", file, err)
			return exitRuntime
		}
		opt.Weights, opt.File = file, f
	}
	if p.Train != nil {
		opt.Loss = p.Train.Loss
	}
	preds, err := train.Predict(p, opt)
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc predict: %v\n", err)
		debugStack(e.stderr, err)
		return exitRuntime
	}
	w := bufio.NewWriter(e.stdout)
	printPredictions(w, preds, v.json)
	if err := w.Flush(); err != nil {
		fmt.Fprintf(e.stderr, "nnc predict: %v\n", err)
		return exitRuntime
	}
	return exitOK
}

// batchFirst reports whether g takes one input and returns one output, each
// with the batch as its first dimension, as predicting in batches needs.
func batchFirst(g *ir.Graph) bool {
	in, out := g.Sources(ir.OpInput), g.Output("out")
	first := func(s ir.Shape) bool { return s.Rank() > 0 && s[0] == ir.Batch }
	return len(in) == 1 && first(in[0].Type.Shape) && out != nil && first(out.Type.Shape)
}

// printPredictions writes one line per row of preds: for class scores the
// class (its name when the checkpoint has one) and the softmax
// probabilities, for binary logits the class and the sigmoid probability,
// and for values the values. The text starts with a header naming the
// columns; with asJSON each line is a JSON object. When the input held the
// answers, a last line gives the accuracy (classification) or the loss.
func printPredictions(w *bufio.Writer, preds *train.Predictions, asJSON bool) {
	if !asJSON {
		fmt.Fprintln(w, predictionHeader(preds))
	}
	defer printScore(w, preds, asJSON)
	var probs []float64
	for i := range preds.N {
		probs = preds.Probabilities(i, probs)
		if asJSON {
			w.Write(predictionJSON(preds, i, probs))
			w.WriteByte('\n')
			continue
		}
		switch preds.Loss {
		case ir.CrossEntropy:
			k := preds.Class(i)
			label := preds.Label(k)
			if label == "" {
				label = strconv.Itoa(k)
			}
			fmt.Fprintf(w, "%s  %s\n", label, joinFloats(probs, 'f', 4))
		case ir.BCEWithLogits:
			classes := make([]string, len(probs))
			for j, logit := range preds.Row(i) {
				classes[j] = strconv.Itoa(binaryClass(logit))
			}
			fmt.Fprintf(w, "%s  %s\n", strings.Join(classes, " "), joinFloats(probs, 'f', 4))
		default:
			fmt.Fprintln(w, joinFloats(probs, 'g', 6))
		}
	}
}

// predictionHeader names the columns of the text lines: the probability
// columns by class, "class  p(setosa) p(versicolor) p(virginica)" (class
// numbers when the checkpoint names none), "class  p(1)" for a binary
// logit ("c0 c1  p(c0=1) p(c1=1)" for several), and the outputs for values (the training target's name when
// there is one output).
func predictionHeader(preds *train.Predictions) string {
	names := make([]string, preds.Width)
	for j := range names {
		switch preds.Loss {
		case ir.CrossEntropy:
			label := preds.Label(j)
			if label == "" {
				label = strconv.Itoa(j)
			}
			names[j] = "p(" + label + ")"
		case ir.BCEWithLogits:
			names[j] = "p(1)"
			if preds.Width > 1 {
				names[j] = fmt.Sprintf("p(c%d=1)", j)
			}
		default:
			names[j] = fmt.Sprintf("output%d", j)
			if preds.Width == 1 {
				names[j] = "output"
				if t := preds.Data.Target; t != "" {
					names[j] = t
				}
			}
		}
	}
	switch preds.Loss {
	case ir.CrossEntropy:
		return "class  " + strings.Join(names, " ")
	case ir.BCEWithLogits:
		if preds.Width == 1 {
			return "class  " + names[0]
		}
		cs := make([]string, preds.Width)
		for j := range cs {
			cs[j] = fmt.Sprintf("c%d", j)
		}
		return strings.Join(cs, " ") + "  " + strings.Join(names, " ")
	}
	return strings.Join(names, " ")
}

// printScore writes, when the input held the answers, the accuracy of a
// classifier ("accuracy 0.9333") or the loss of a regression ("loss
// 0.251234"), or with asJSON {"rows":15,"loss":0.18,"accuracy":0.93}.
func printScore(w *bufio.Writer, preds *train.Predictions, asJSON bool) {
	if !preds.HasAnswers() {
		return
	}
	loss, acc := preds.Score()
	classify := preds.Loss.Classification()
	if asJSON {
		type score struct {
			Rows     int         `json:"rows"`
			Loss     jsonNumber  `json:"loss"`
			Accuracy *jsonNumber `json:"accuracy,omitempty"`
		}
		sc := score{Rows: preds.N, Loss: jsonNumber(loss)}
		if classify {
			a := jsonNumber(acc)
			sc.Accuracy = &a
		}
		b, _ := json.Marshal(sc) // cannot fail: jsonNumber encodes every float
		w.Write(append(b, '\n'))
		return
	}
	if classify {
		fmt.Fprintf(w, "accuracy %.4f\n", acc)
	} else {
		fmt.Fprintf(w, "loss %.6f\n", loss)
	}
}

// binaryClass is the class a logit predicts: 1 when it is positive, as
// the training accuracy counts it.
func binaryClass(logit float64) int {
	if logit > 0 {
		return 1
	}
	return 0
}

// predictionJSON encodes row i of preds, whose probabilities (or values)
// are probs, as one JSON object with its keys in a fixed order:
//
//	{"row":1,"class":0,"label":"setosa","probabilities":[0.97,0.02,0.01]}
//	{"row":1,"class":1,"probability":0.87}
//	{"row":1,"output":[2.5]}
func predictionJSON(preds *train.Predictions, i int, probs []float64) []byte {
	type classRow struct {
		Row           int          `json:"row"`
		Class         int          `json:"class"`
		Label         string       `json:"label,omitempty"`
		Probabilities []jsonNumber `json:"probabilities"`
	}
	type binaryRow struct {
		Row         int        `json:"row"`
		Class       int        `json:"class"`
		Probability jsonNumber `json:"probability"`
	}
	type binaryRows struct {
		Row           int          `json:"row"`
		Classes       []int        `json:"classes"`
		Probabilities []jsonNumber `json:"probabilities"`
	}
	type valueRow struct {
		Row    int          `json:"row"`
		Output []jsonNumber `json:"output"`
	}
	nums := make([]jsonNumber, len(probs))
	for j, q := range probs {
		nums[j] = jsonNumber(q)
	}
	var row any
	switch preds.Loss {
	case ir.CrossEntropy:
		k := preds.Class(i)
		row = classRow{Row: i + 1, Class: k, Label: preds.Label(k), Probabilities: nums}
	case ir.BCEWithLogits:
		logits := preds.Row(i)
		if len(logits) == 1 {
			row = binaryRow{Row: i + 1, Class: binaryClass(logits[0]), Probability: nums[0]}
			break
		}
		classes := make([]int, len(logits))
		for j, logit := range logits {
			classes[j] = binaryClass(logit)
		}
		row = binaryRows{Row: i + 1, Classes: classes, Probabilities: nums}
	default:
		row = valueRow{Row: i + 1, Output: nums}
	}
	b, _ := json.Marshal(row) // cannot fail: jsonNumber encodes every float
	return b
}

// jsonNumber is a float64 that encodes NaN and the infinities, which JSON
// has no numbers for, as null.
type jsonNumber float64

// MarshalJSON implements json.Marshaler.
func (x jsonNumber) MarshalJSON() ([]byte, error) {
	f := float64(x)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// joinFloats formats xs with the given format and precision, separated by
// spaces.
func joinFloats(xs []float64, format byte, prec int) string {
	var b []byte
	for j, x := range xs {
		if j > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendFloat(b, x, format, prec, 64)
	}
	return string(b)
}
