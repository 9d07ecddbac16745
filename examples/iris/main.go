// Command iris classifies iris flowers with a model compiled to Go by nnc:
// the network of iris.nn, trained by `nnc run` and embedded, weights and
// all, in the package irismodel, so the binary needs nothing else at run
// time and cross-compiles anywhere Go does.
//
//	go generate ./examples/iris   # train, then regenerate irismodel
//	go run ./examples/iris examples/iris/iris.csv
//
// It reads a CSV whose first four columns are the measurements (a header
// row is skipped; further columns are ignored) and prints one species per
// row, with the model's confidence.
package main

//go:generate go run ../../cmd/nnc run iris.nn --save iris.safetensors
//go:generate go run ../../cmd/nnc build iris.nn -o irismodel --package irismodel --weights iris.safetensors

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/nnc-go/nnc/examples/iris/irismodel"
)

// species are the classes in the order nnc numbered them: the target
// column's distinct values, sorted.
var species = []string{"setosa", "versicolor", "virginica"}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: iris FILE.csv")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "iris:", err)
		os.Exit(1)
	}
	defer f.Close()
	if err := classify(f, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "iris:", err)
		os.Exit(1)
	}
}

// classify prints the species of every row of the CSV in r.
func classify(r io.Reader, w io.Writer) error {
	m, err := irismodel.New()
	if err != nil {
		return err
	}
	rd := csv.NewReader(r)
	rd.FieldsPerRecord = -1
	var x [irismodel.InputSize]float32
	var out [irismodel.OutputSize]float32
	for line := 1; ; line++ {
		rec, err := rd.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if len(rec) < irismodel.InputSize {
			return fmt.Errorf("line %d: %d columns, want %d measurements", line, len(rec), irismodel.InputSize)
		}
		ok := true
		for i := range x {
			v, err := strconv.ParseFloat(rec[i], 32)
			if err != nil {
				if line == 1 {
					ok = false // a header
					break
				}
				return fmt.Errorf("line %d: %q is not a number", line, rec[i])
			}
			x[i] = float32(v)
		}
		if !ok {
			continue
		}
		if err := m.Forward(out[:], x[:], 1); err != nil {
			return err
		}
		best, p := softmaxMax(out[:])
		fmt.Fprintf(w, "%s %.3f\n", species[best], p)
	}
}

// softmaxMax returns the most likely class and its probability.
func softmaxMax(logits []float32) (int, float64) {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	sum := 0.0
	for _, v := range logits {
		sum += math.Exp(float64(v - logits[best]))
	}
	return best, 1 / sum
}
