//go:build nncdigits && js && wasm

// Command digits runs the MNIST CNN of examples/mnist_cnn.nn in the
// browser: the server (web/) generates this package's model.go and
// weights.safetensors with nnc build --package main from the checkpoint
// beside this file, and builds it with -tags nncdigits for js/wasm.
//
// It puts digits.predict on the JavaScript global object: it takes the
// 28×28 input (784 numbers in [0, 1], row-major) and returns the ten
// logits and the class probabilities.
package main

import (
	"syscall/js"
)

func main() {
	m, err := New()
	if err != nil {
		js.Global().Get("console").Call("error", "digits: "+err.Error())
		return
	}
	x := make([]float32, InputSize)
	out := make([]float32, OutputSize)
	js.Global().Set("digits", js.ValueOf(map[string]any{
		"predict": js.FuncOf(func(_ js.Value, a []js.Value) any {
			if len(a) != 1 || a[0].Type() != js.TypeObject || a[0].Length() != InputSize {
				return js.ValueOf(map[string]any{"error": "digits.predict takes one array of 784 numbers"})
			}
			in := a[0]
			for i := range x {
				x[i] = float32(in.Index(i).Float())
			}
			if err := m.Forward(out, x, 1); err != nil {
				return js.ValueOf(map[string]any{"error": err.Error()})
			}
			probs := softmax(out)
			l, p := make([]any, len(out)), make([]any, len(out))
			for i := range out {
				l[i], p[i] = float64(out[i]), probs[i]
			}
			return js.ValueOf(map[string]any{"logits": l, "probs": p})
		}),
		// bench runs n forward passes of the given input and returns
		// nothing: the page times it.
		"bench": js.FuncOf(func(_ js.Value, a []js.Value) any {
			n := a[0].Int()
			for range n {
				m.Forward(out, x, 1)
			}
			return nil
		}),
	}))
	if ready := js.Global().Get("digitsReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {}
}
