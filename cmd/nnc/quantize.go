package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/train"
)

var quantizeCmd = &command{
	name:    "quantize",
	usage:   "nnc quantize FILE --weights CKPT [--calib N] [--method minmax|percentile] [-o q.safetensors] [--json]",
	summary: "write an int8 checkpoint of a trained model, calibrated on the train block's data, and print its float and int8 accuracy side by side",
	run:     runQuantize,
}

func runQuantize(e *cmdEnv, args []string) int {
	var v flagVals
	file, code, ok := e.parseFile(args, &v)
	if !ok {
		return code
	}
	if v.weights == "" {
		fmt.Fprintf(e.stderr, "nnc quantize: --weights CKPT is required\nusage: %s\n", e.cmd.usage)
		return exitModel
	}
	if v.calib < 1 {
		fmt.Fprintf(e.stderr, "nnc quantize: --calib %d: the calibration needs at least one sample\n", v.calib)
		return exitModel
	}
	if v.method != "minmax" && v.method != "percentile" {
		fmt.Fprintf(e.stderr, "nnc quantize: unknown --method %q; the methods are minmax and percentile\n", v.method)
		return exitModel
	}
	out := v.out
	if out == "" {
		ext := filepath.Ext(v.weights)
		out = strings.TrimSuffix(v.weights, ext) + ".int8" + ext
	}
	if abs1, _ := filepath.Abs(out); abs1 != "" {
		if abs2, _ := filepath.Abs(v.weights); abs1 == abs2 {
			fmt.Fprintf(e.stderr, "nnc quantize: -o %s would overwrite the float checkpoint\n", out)
			return exitModel
		}
	}
	p, code, ok := e.compile(file, nnc.Options{Options: irOptions(&v)})
	if !ok {
		return code
	}
	src, _ := os.ReadFile(file)
	rep, err := train.Quantize(p, src, train.QuantizeOptions{Weights: v.weights, Out: out, Calib: v.calib, Method: v.method})
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc quantize: %v\n", err)
		return exitRuntime
	}
	ratio := float64(rep.FloatBytes) / float64(max(rep.Int8Bytes, 1))
	if v.json {
		m := map[string]any{"output": out, "layers": rep.Layers, "adds": rep.Adds, "calibration_samples": rep.Samples, "method": v.method,
			"float_weight_bytes": rep.FloatBytes, "int8_weight_bytes": rep.Int8Bytes, "split": rep.Split,
			"float_loss": rep.FloatLoss, "int8_loss": rep.Int8Loss}
		if !math.IsNaN(rep.FloatAccuracy) {
			m["float_accuracy"], m["int8_accuracy"] = rep.FloatAccuracy, rep.Int8Accuracy
		}
		b, _ := json.Marshal(m)
		fmt.Fprintf(e.stdout, "%s\n", b)
		return exitOK
	}
	what := strings.Join(rep.Layers, ", ")
	if len(rep.Adds) > 0 {
		what += " and residual " + strings.Join(rep.Adds, ", ")
	}
	fmt.Fprintf(e.stdout, "quantized %s to int8 (%s calibration on %d samples): %s\n", what, v.method, rep.Samples, out)
	fmt.Fprintf(e.stdout, "weights %d bytes in float32, %d in int8 (%.2fx smaller)\n", rep.FloatBytes, rep.Int8Bytes, ratio)
	if math.IsNaN(rep.FloatAccuracy) {
		fmt.Fprintf(e.stdout, "%s loss float32 %.6f, int8 %.6f\n", rep.Split, rep.FloatLoss, rep.Int8Loss)
	} else {
		fmt.Fprintf(e.stdout, "%s accuracy float32 %.4f, int8 %.4f (%+.2f points)\n", rep.Split, rep.FloatAccuracy, rep.Int8Accuracy, 100*(rep.Int8Accuracy-rep.FloatAccuracy))
	}
	return exitOK
}
