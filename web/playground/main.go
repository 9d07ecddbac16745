//go:build js && wasm

// Command playground is nnc's front end, passes, code generator and
// interpreter compiled to WebAssembly for the playground page (web/): it
// puts one object, nnc, on the JavaScript global object, whose methods
// take a model's source and return plain objects.
//
// The page calls check, ir, build and passes on its main thread; its Web
// Worker calls train, which posts each printed line to the page as it
// comes.
package main

import (
	"errors"
	"fmt"
	"strings"
	"syscall/js"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/build"
	"github.com/nnc-go/nnc/codegen"
	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/passes"
	"github.com/nnc-go/nnc/train"
)

// file is the name the playground's model goes by in messages.
const file = "model.nn"

func main() {
	api := map[string]any{
		"check":  js.FuncOf(func(_ js.Value, a []js.Value) any { return check(arg(a, 0)) }),
		"ir":     js.FuncOf(func(_ js.Value, a []js.Value) any { return irText(arg(a, 0), arg(a, 1), arg(a, 2) == "forward") }),
		"build":  js.FuncOf(func(_ js.Value, a []js.Value) any { return buildGo(arg(a, 0)) }),
		"train":  js.FuncOf(func(_ js.Value, a []js.Value) any { return trainModel(arg(a, 0), a[1]) }),
		"passes": js.FuncOf(func(js.Value, []js.Value) any { return strs(passes.Names()) }),
	}
	js.Global().Set("nnc", js.ValueOf(api))
	if ready := js.Global().Get("nncReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {}
}

func arg(a []js.Value, i int) string {
	if i >= len(a) || a[i].Type() != js.TypeString {
		return ""
	}
	return a[i].String()
}

func strs(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

// result is what every method returns: ok, the diagnostics of a model
// that does not compile (each with line, col, severity, msg and text, the
// line nnc prints), an error that is not about a position in the model,
// and the method's text output.
func result(text string, err error, warnings []*diag.Diagnostic) map[string]any {
	var ds []any
	add := func(d *diag.Diagnostic) {
		sev := "error"
		if d.Severity == diag.Warning {
			sev = "warning"
		}
		ds = append(ds, map[string]any{"line": d.Pos.Line, "col": d.Pos.Col, "severity": sev, "msg": d.Msg, "text": d.Error()})
	}
	for _, w := range warnings {
		add(w)
	}
	r := map[string]any{"ok": err == nil, "text": text}
	var list *diag.ErrorList
	var usage *build.UsageError
	switch {
	case errors.As(err, &list):
		for _, d := range list.Diags {
			add(d)
		}
	case errors.As(err, &usage):
		r["error"] = usage.Msg
	case err != nil:
		r["error"] = err.Error()
	}
	r["diags"] = ds
	return r
}

func compile(src string, opt nnc.Options) (*ir.Program, error) {
	return nnc.Compile(file, []byte(src), opt)
}

func check(src string) any {
	p, err := compile(src, nnc.Options{})
	if err != nil {
		return result("", err, nil)
	}
	return result("", nil, p.Warnings)
}

// irText is nnc ir [--after PASS] [--forward].
func irText(src, after string, forward bool) any {
	if _, known := passes.Lookup(after); after != "" && after != "none" && !known {
		return result("", fmt.Errorf("unknown pass %q; the passes are none, %s", after, strings.Join(passes.Names(), ", ")), nil)
	}
	p, err := compile(src, nnc.Options{After: after, ForwardOnly: forward})
	if err != nil {
		return result("", err, nil)
	}
	g := p.TrainGraph
	if g == nil || forward {
		g = p.Forward
	}
	return result(ir.Print(g), nil, p.Warnings)
}

// buildGo is nnc build: the generated package's Go source, the weights
// initialised from the seed as without --weights.
func buildGo(src string) any {
	batch := 64
	if p, err := compile(src, nnc.Options{After: "none"}); err == nil && p.Train != nil {
		batch = p.Train.Batch
	}
	p, err := compile(src, nnc.Options{Batch: batch, ForwardOnly: true})
	if err != nil {
		return result("", err, nil)
	}
	out, err := codegen.Generate(p, codegen.Options{Package: "model", Source: file})
	if err != nil {
		return result("", err, p.Warnings)
	}
	return result(string(out), nil, p.Warnings)
}

// lineWriter calls emit with each complete line written to it.
type lineWriter struct {
	emit func(string)
	buf  []byte
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			return len(b), nil
		}
		w.emit(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
}

// trainModel is nnc run: it trains per the train block, calling
// onLine(kind, line) with each line nnc run prints ("out" for its
// standard output, "warn" for its warnings), and returns the result with,
// as report, each epoch's loss and accuracy at full precision.
func trainModel(src string, onLine js.Value) any {
	p, err := compile(src, nnc.Options{})
	if err != nil {
		return result("", err, nil)
	}
	if p.Train == nil {
		return result("", fmt.Errorf("%s: model %s has no train block", file, p.Model), p.Warnings)
	}
	emit := func(kind string) *lineWriter {
		return &lineWriter{emit: func(s string) {
			if onLine.Type() == js.TypeFunction {
				onLine.Invoke(kind, s)
			}
		}}
	}
	rep, err := train.Run(p, train.Options{Source: []byte(src), Out: emit("out"), Warn: emit("warn")})
	r := result("", err, p.Warnings)
	if rep != nil {
		var epochs []any
		for _, e := range rep.Epochs {
			epochs = append(epochs, map[string]any{"epoch": e.Epoch, "epochs": e.Epochs, "loss": e.Loss, "accuracy": e.Accuracy})
		}
		r["report"] = map[string]any{"epochs": epochs, "final": map[string]any{"split": rep.Final.Split, "loss": rep.Final.Loss, "accuracy": rep.Final.Accuracy}}
	}
	return r
}
