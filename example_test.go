package nnc_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/nnc-go/nnc"
)

// Load a model file with trained weights and classify two rows.
func ExampleLoad() {
	m, err := nnc.Load("examples/iris/iris.nn", &nnc.LoadOptions{Weights: "examples/iris/iris.safetensors"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Inputs()[0].Name, m.Inputs()[0].Shape, "->", m.Outputs()[0].Shape)
	rows := []float32{
		5.1, 3.5, 1.4, 0.2, // sepal length, sepal width, petal length, petal width
		6.7, 3.0, 5.2, 2.3,
	}
	out, err := m.Predict(context.Background(), nnc.Inputs{"x": rows})
	if err != nil {
		log.Fatal(err)
	}
	scores := out.([]float32)
	for i := range 2 {
		row := scores[i*3 : i*3+3]
		best := 0
		for k := range row {
			if row[k] > row[best] {
				best = k
			}
		}
		fmt.Println(m.Classes()[best])
	}
	// Output:
	// x [-1 4] -> [-1 3]
	// setosa
	// virginica
}

// Load a model file, train it as its train block says, save the weights
// and load them again.
func ExampleModel_Train() {
	m, err := nnc.Load("examples/seed.nn", nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := m.Train(context.Background(), &nnc.TrainOptions{Epochs: 2, Out: os.Stdout}); err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "nnc-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ckpt := filepath.Join(dir, "seed.safetensors")
	if err := m.Save(ckpt); err != nil {
		log.Fatal(err)
	}
	again, err := nnc.Load("examples/seed.nn", &nnc.LoadOptions{Weights: ckpt})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(again.Name(), "loaded, loss", again.Loss())
	// Output:
	// epoch 1/2  loss 0.705672  accuracy 0.5000
	// epoch 2/2  loss 0.705379  accuracy 0.5000
	// train accuracy 0.5000
	// SimpleNeuralNetwork loaded, loss cross_entropy
}
