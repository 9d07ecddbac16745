package irismodel_test

import (
	"fmt"
	"log"

	"github.com/nnc-go/nnc/examples/iris/irismodel"
)

// The same classification as nnc.Load's example, from the package nnc
// build generated: no model file, no interpreter, weights embedded.
func Example() {
	m, err := irismodel.New()
	if err != nil {
		log.Fatal(err)
	}
	rows := []float32{
		5.1, 3.5, 1.4, 0.2,
		6.7, 3.0, 5.2, 2.3,
	}
	out := make([]float32, 2*irismodel.OutputSize)
	if err := m.Forward(out, rows, 2); err != nil {
		log.Fatal(err)
	}
	species := []string{"setosa", "versicolor", "virginica"}
	for i := range 2 {
		row := out[i*irismodel.OutputSize : (i+1)*irismodel.OutputSize]
		best := 0
		for k := range row {
			if row[k] > row[best] {
				best = k
			}
		}
		fmt.Println(species[best])
	}
	// Output:
	// setosa
	// virginica
}
