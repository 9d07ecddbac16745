//go:build unix

package passes_test

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/interp"
)

// BenchmarkDPStep times a training step with privacy = dp(...) and the
// same step without it, in the interpreter, for an MLP and for Opacus's
// MNIST CNN, with ReLU and as examples/mnist_dp.nn has it (tanh, the
// input normalised), at batch 240. Besides ns/op it
// reports cpu-ns/op, the process's CPU time per step, which a shared
// machine's load disturbs less than the wall clock.
func BenchmarkDPStep(b *testing.B) {
	models := []struct{ name, model string }{
		{"mlp", `
model M {
    fc1 = Linear(784, 256)
    fc2 = Linear(256, 128)
    fc3 = Linear(128, 10)
    forward(x: f32[N, 784]) {
        return fc3(relu(fc2(relu(fc1(x)))))
    }
}`},
		{"cnn", mnistCNN("", "relu")},
		// The same CNN as examples/mnist_dp.nn trains it now: input
		// normalised, tanh activations.
		{"cnn_tanh", mnistCNN("h = (x - 0.1307) / 0.3081", "tanh")},
	}
	for _, m := range models {
		for _, mode := range []struct{ name, extra string }{{"plain", ""}, {"dp", "privacy = dp(clip = 1.5, noise = 1.3)"}} {
			b.Run(m.name+"/"+mode.name, func(b *testing.B) {
				src := m.model + `
train M {
    data      = random(samples = 60000, classes = 10)
    loss      = cross_entropy
    optimizer = SGD(lr = 0.1)
    epochs    = 1
    batch     = 240
    ` + mode.extra + `
}
`
				p, err := nnc.Compile("m.nn", []byte(src), nnc.Options{})
				if err != nil {
					b.Fatal(err)
				}
				store := interp.NewStore[float32]()
				if err := store.Init(p.TrainGraph, 1); err != nil {
					b.Fatal(err)
				}
				mach, err := interp.New(p.TrainGraph, store, 1)
				if err != nil {
					b.Fatal(err)
				}
				x := mach.Inputs()[0]
				for i := range x {
					x[i] = float32(i%251) / 251
				}
				labels, _ := mach.Targets()
				for i := range labels {
					labels[i] = int32(i % 10)
				}
				start := cpuTime()
				b.ResetTimer()
				for range b.N {
					if err := mach.Run(240); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// mnistCNN is Opacus's MNIST CNN with activation act, its input first
// rebound to h by norm when norm is not empty.
func mnistCNN(norm, act string) string {
	in := "x"
	if norm != "" {
		in, norm = "h", "\n        "+norm
	}
	return fmt.Sprintf(`
model M {
    conv1 = Conv2d(1, 16, 8, stride = 2, padding = 3)
    conv2 = Conv2d(16, 32, 4, stride = 2)
    pool  = MaxPool2d(2, stride = 1)
    fc1   = Linear(32 * 4 * 4, 32)
    fc2   = Linear(32, 10)
    forward(x: f32[N, 1, 28, 28]) {%[1]s
        h = pool(%[2]s(conv1(%[3]s)))
        h = pool(%[2]s(conv2(h)))
        return fc2(%[2]s(fc1(flatten(h))))
    }
}`, norm, act, in)
}

func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
