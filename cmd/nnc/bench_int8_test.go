package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchInt8Backends times an int8 checkpoint's forward pass in both
// back ends (the generated Go embedding the int8 weights, as nnc build's
// package does) with no allocation per step, and refuses --train.
func TestBenchInt8Backends(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go program")
	}
	dir := filepath.Join("..", "..", "testdata", "int8")
	for _, name := range []string{"cnn", "mlp"} {
		model, q := filepath.Join(dir, name+".nn"), filepath.Join(dir, name+".int8.safetensors")
		for _, backend := range []string{"interp", "go"} {
			out := nncOut(t, "bench", model, "--weights", q, "--backend", backend, "--batch", "3", "--json")
			var r struct {
				Backend       string  `json:"backend"`
				Batch         int     `json:"batch"`
				AllocsPerStep float64 `json:"allocs_per_step"`
				USPerStep     float64 `json:"us_per_step"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("%s %s: %v\n%s", name, backend, err, out)
			}
			if r.Backend != backend || r.Batch != 3 || r.AllocsPerStep != 0 || r.USPerStep <= 0 {
				t.Errorf("bench %s --backend %s of an int8 checkpoint: %+v", name, backend, r)
			}
		}
	}
	model, q := filepath.Join(dir, "cnn.nn"), filepath.Join(dir, "cnn.int8.safetensors")
	var out, errb bytes.Buffer
	if code := Main([]string{"bench", model, "--weights", q, "--train"}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "no --train") ||
		strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("bench --train of an int8 checkpoint: exit %d, %q", code, errb.String())
	}
}
