package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"

	"github.com/nnc-go/nnc/codegen"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/native"
)

// Go times p's generated code (the forward pass, or with mode "train" the
// training step) in a native program built for this machine.
func Go(p *ir.Program, mode string, opt Options) (*Result, error) {
	train := mode == "train"
	src, err := codegen.Generate(p, codegen.Options{Package: "model", Source: p.File, Train: train, Seed: opt.Seed, Weights: opt.Weights != nil})
	if err != nil {
		return nil, err
	}
	g := p.Forward
	if train {
		g = p.TrainGraph
	}
	elem := "float32"
	if g.Sources(ir.OpInput)[0].Type.DType == ir.F64 {
		elem = "float64"
	}
	xtype, fillX := elem, "kernels.Normal(x, 0, 1, rng)"
	if g.Sources(ir.OpInput)[0].Type.DType == ir.I64 {
		// Token ids stay 0, an id every Embedding has.
		xtype, fillX = "int64", "_, _ = kernels.Normal[float32], rng"
	}
	call := "m.Forward(out, x, batch)"
	targets := ""
	if train {
		var target *ir.Value
		for _, v := range g.Values {
			if v.Op == ir.OpTarget {
				target = v
			}
		}
		switch target.Type.DType {
		case ir.I64:
			targets = fmt.Sprintf("y := make([]int64, batch*%d)\n\tfor i := range y {\n\t\ty[i] = int64(rng.IntN(%d))\n\t}", target.Type.Shape.Size(1), logitsWidth(g))
		case ir.I32:
			targets = fmt.Sprintf("y := make([]int32, batch)\n\tfor i := range y {\n\t\ty[i] = int32(rng.IntN(%d))\n\t}", logitsWidth(g))
		default:
			targets = fmt.Sprintf("y := make([]%s, batch*model.OutputSize)\n\tfor i := range y {\n\t\ty[i] = %s(rng.IntN(2))\n\t}", elem, elem)
		}
		call = "func() error { _, _, err := m.TrainStep(x, y, batch); return err }()"
	}
	arena, batch := g.Plan.ArenaBytes, g.Plan.Batch
	main := strings.NewReplacer("XTYPE", xtype, "FILLX", fillX, "ELEM", elem, "TARGETS", targets, "CALL", call, "MODE", mode,
		"BATCH", fmt.Sprint(batch), "ARENA", fmt.Sprint(arena), "SEED", fmt.Sprint(opt.Seed), "DURATION", fmt.Sprint(int64(opt.Duration))).Replace(benchMain)
	files := map[string][]byte{"main.go": []byte(main), "model/model.go": src}
	if opt.Weights != nil {
		files["model/weights.safetensors"] = opt.Weights
	}
	exe, err := native.Build(native.Program{Files: files})
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(exe)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("the benchmark program failed: %v\n%s", err, stderr.String())
	}
	var r Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("the benchmark program's output: %v", err)
	}
	return &r, nil
}

const benchMain = `// Command main times generated model code for nnc bench --backend go.
package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/nnc-go/nnc/bench"
	"github.com/nnc-go/nnc/kernels"
	"nncnative/model"
)

func main() {
	m, err := model.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	const batch = BATCH
	rng := rand.New(rand.NewPCG(SEED, 1))
	x := make([]XTYPE, batch*model.InputSize)
	FILLX
	out := make([]ELEM, batch*model.OutputSize)
	_ = out
	TARGETS
	r, err := bench.Measure(func() error { return CALL }, time.Duration(DURATION))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	r.Backend, r.Mode, r.Batch, r.ArenaBytes = "go", "MODE", batch, ARENA
	r.SamplesPerS = float64(batch) / (r.USPerStep / 1e6)
	json.NewEncoder(os.Stdout).Encode(r)
}
`
