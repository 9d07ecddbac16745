package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchInt8Backends: nnc bench times an int8 checkpoint's forward pass
// in the interpreter and in generated Go (--backend go embeds the int8
// weights as nnc build does), allocating nothing per step; --train is
// refused with a one-line error.
func TestBenchInt8Backends(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go program")
	}
	dir := filepath.Join("..", "..", "testdata", "int8")
	file, q := filepath.Join(dir, "mlp.nn"), filepath.Join(dir, "mlp.int8.safetensors")
	for _, backend := range []string{"interp", "go"} {
		out := nncOut(t, "bench", file, "--weights", q, "--backend", backend, "--batch", "7", "--json")
		var r struct {
			Backend string  `json:"backend"`
			Batch   int     `json:"batch"`
			US      float64 `json:"us_per_step"`
			Allocs  float64 `json:"allocs_per_step"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%s: %v: %q", backend, err, out)
		}
		if r.Backend != backend || r.Batch != 7 || !(r.US > 0) || r.Allocs != 0 {
			t.Errorf("--backend %s: %+v", backend, r)
		}
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"bench", file, "--weights", q, "--train"}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "no --train") ||
		strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("bench --train with an int8 checkpoint: exit %d, %q", code, errb.String())
	}
}
