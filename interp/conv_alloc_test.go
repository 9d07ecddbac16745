package interp_test

import (
	"testing"

	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/interp"
)

const cnn = `
model CNN {
    conv1 = Conv2d(1, 4, 3, padding = 1)
    bn    = BatchNorm2d(4)
    pool  = MaxPool2d(2)
    drop  = Dropout(0.25)
    fc    = Linear(4 * 4 * 4, 3)
    forward(x: f32[N, 1, 8, 8]) {
        h = pool(relu(bn(conv1(x))))
        return fc(drop(flatten(h)))
    }
}
train CNN {
    data      = random(samples = 50)
    loss      = cross_entropy
    optimizer = SGD(lr = 0.1, momentum = 0.9)
    epochs    = 1
    batch     = 8
}
`

// TestConvStepAllocatesNothing: a training step through convolution,
// batch norm, pooling and dropout allocates nothing either.
func TestConvStepAllocatesNothing(t *testing.T) {
	p := compile(t, cnn)
	m := machine(t, p.TrainGraph, interp.NewStore[float32]())
	for i, x := range m.Inputs()[0] {
		m.Inputs()[0][i] = x + float32(i%7)
	}
	if a := testing.AllocsPerRun(20, func() {
		if err := m.Run(8); err != nil {
			testenv.NoInternal(t, err)
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("%v allocations per step", a)
	}
}
