package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/train"
)

const (
	irisFile    = "../examples/iris/iris.nn"
	irisWeights = "../examples/iris/iris.safetensors"
)

func irisModel(t testing.TB, batch int) *nnc.Model {
	t.Helper()
	m, err := nnc.Load(irisFile, &nnc.LoadOptions{Weights: irisWeights, Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// irisRows are rows of iris measurements, as JSON numbers and as float32.
func irisRows() [][]float32 {
	rng := rand.New(rand.NewPCG(7, 7))
	rows := make([][]float32, 200)
	for i := range rows {
		rows[i] = []float32{4 + 4*rng.Float32(), 2 + 2.5*rng.Float32(), 1 + 6*rng.Float32(), 0.1 + 2.4*rng.Float32()}
	}
	return rows
}

type response struct {
	Outputs       map[string][][]float32 `json:"outputs"`
	Classes       []int                  `json:"classes"`
	Labels        []string               `json:"labels"`
	Probabilities [][]float64            `json:"probabilities"`
	Error         string                 `json:"error"`
}

func post(t testing.TB, url, contentType string, body []byte) (int, response) {
	t.Helper()
	resp, err := http.Post(url+"/v1/predict", contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r response
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("status %d, body %q: %v", resp.StatusCode, b, err)
	}
	return resp.StatusCode, r
}

func jsonRows(rows [][]float32) []byte {
	b, _ := json.Marshal(map[string]any{"inputs": map[string]any{"x": rows}})
	return b
}

// TestServeBitForBit: concurrent clients with runs of 1 to 9 rows each get,
// for every row, the outputs the model gives that row alone (nnc.Model's
// tests hold those to nnc predict's), whichever batch the row landed in;
// and the batcher did batch requests together.
func TestServeBitForBit(t *testing.T) {
	m := irisModel(t, 16)
	srv, err := New(m, Config{MaxBatch: 16, MaxDelay: 3 * time.Millisecond, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer func() { ts.Close(); srv.Close() }()
	rows := irisRows()
	alone := make([][]float32, len(rows))
	for i, r := range rows {
		out := make([]float32, 3)
		if _, err := m.PredictTo(context.Background(), nnc.Inputs{"x": r}, out); err != nil {
			t.Fatal(err)
		}
		alone[i] = out
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for c := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 3))
			for range 20 {
				lo := rng.IntN(len(rows))
				hi := min(len(rows), lo+1+rng.IntN(9))
				code, r := post(t, ts.URL, "application/json", jsonRows(rows[lo:hi]))
				if code != 200 {
					errs <- fmt.Sprintf("status %d: %s", code, r.Error)
					return
				}
				for i, got := range r.Outputs["out"] {
					for k := range got {
						if got[k] != alone[lo+i][k] {
							errs <- fmt.Sprintf("row %d output %d: served %v, alone %v", lo+i, k, got[k], alone[lo+i][k])
							return
						}
					}
				}
				if len(r.Classes) != hi-lo || len(r.Labels) != hi-lo || len(r.Probabilities) != hi-lo {
					errs <- "classes, labels or probabilities missing"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	metrics := get(t, ts.URL+"/metrics")
	// 480 requests in fewer batches: requests were computed together.
	if !strings.Contains(metrics, `nnc_requests_total{code="200"} 480`) {
		t.Errorf("metrics do not count 480 answered requests:\n%s", grep(metrics, "nnc_requests_total"))
	}
	var batches int
	fmt.Sscan(strings.TrimPrefix(grep(metrics, "nnc_batch_rows_count"), "nnc_batch_rows_count "), &batches)
	if batches == 0 || batches >= 480 {
		t.Errorf("%d batches for 480 concurrent requests: no dynamic batching", batches)
	}
	t.Logf("480 requests in %d batches", batches)
}

func get(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grep(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// TestServeLimits: each bad request gets its status and a one-line reason
// naming what is wrong, and is counted by kind.
func TestServeLimits(t *testing.T) {
	m := irisModel(t, 8)
	srv, _ := New(m, Config{MaxBody: 200, MaxRows: 3})
	ts := httptest.NewServer(srv.Handler())
	defer func() { ts.Close(); srv.Close() }()
	big := jsonRows(irisRows()[:20])
	for _, c := range []struct {
		name, ct, body string
		code           int
		want           string
	}{
		{"too large", "application/json", string(big), 413, "request body larger than 200 bytes"},
		{"garbage", "application/json", "{{", 400, "malformed JSON"},
		{"no inputs", "application/json", `{}`, 400, `the request has no "inputs" object`},
		{"unknown field", "application/json", `{"inputs":{},"x":1}`, 400, "malformed JSON"},
		{"unknown input", "application/json", `{"inputs":{"z":[[1,2,3,4]]}}`, 400, `unknown input "z"`},
		{"missing input", "application/json", `{"inputs":{}}`, 400, "input x is missing"},
		{"short row", "application/json", `{"inputs":{"x":[[1,2,3]]}}`, 400, "input x: row 1 has 3 values, want 4"},
		{"not a number", "application/json", `{"inputs":{"x":[[1,2,3,"a"]]}}`, 400, "input x: row 1: a is not a number"},
		{"null", "application/json", `{"inputs":{"x":[[1,2,3,null]]}}`, 400, "input x: row 1: null is not a number"},
		{"not rows", "application/json", `{"inputs":{"x":5}}`, 400, "input x: want an array of rows"},
		{"no rows", "application/json", `{"inputs":{"x":[]}}`, 400, "input x has no rows"},
		{"too many rows", "application/json", `{"inputs":{"x":[[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4]]}}`, 400, "input x has 4 rows, the most a request may hold is 3"},
		{"out of float32", "application/json", `{"inputs":{"x":[[1,2,3,1e999]]}}`, 400, "1e999 is not a float32"},
		{"bad npy", "application/x-npy", "\x93NUMPY garbage", 400, "not a NumPy .npy file"},
	} {
		code, r := post(t, ts.URL, c.ct, []byte(c.body))
		if code != c.code || !strings.Contains(r.Error, c.want) || strings.Contains(r.Error, "\n") {
			t.Errorf("%s: status %d %q, want %d containing %q", c.name, code, r.Error, c.code, c.want)
		}
	}
	if resp, _ := http.Get(ts.URL + "/v1/predict"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/predict: status %d", resp.StatusCode)
	}
	if h := get(t, ts.URL+"/healthz"); !strings.Contains(h, `"status":"ok"`) {
		t.Errorf("healthz: %q", h)
	}
	metrics := get(t, ts.URL+"/metrics")
	for _, k := range []string{`nnc_errors_total{kind="too_large"} 1`, `nnc_errors_total{kind="malformed"} 4`, `nnc_errors_total{kind="too_many_rows"} 1`, `nnc_request_seconds_count 14`} {
		if !strings.Contains(metrics, k) {
			t.Errorf("metrics lack %s", k)
		}
	}
}

// TestServeNPY: a .npy body gives what the same rows give as JSON.
func TestServeNPY(t *testing.T) {
	m := irisModel(t, 8)
	srv, _ := New(m, Config{})
	ts := httptest.NewServer(srv.Handler())
	defer func() { ts.Close(); srv.Close() }()
	rows := irisRows()[:5]
	var flat []float64
	for _, r := range rows {
		for _, v := range r {
			flat = append(flat, float64(v))
		}
	}
	path := filepath.Join(t.TempDir(), "x.npy")
	if err := train.WriteNPY(path, []int{5, 4}, flat, false); err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(path)
	code, fromNPY := post(t, ts.URL, "application/x-npy", body)
	_, fromJSON := post(t, ts.URL, "application/json", jsonRows(rows))
	if code != 200 || fmt.Sprint(fromNPY.Outputs) != fmt.Sprint(fromJSON.Outputs) {
		t.Errorf(".npy: status %d %v, JSON %v", code, fromNPY.Outputs, fromJSON.Outputs)
	}
}

// TestServeTimeoutAndCancel: a request that waits past the timeout is
// answered 503 and its rows are not computed; a client that leaves frees
// its slot.
func TestServeTimeoutAndCancel(t *testing.T) {
	m := irisModel(t, 8)
	// The batcher waits 300ms for company: longer than the timeout.
	srv, _ := New(m, Config{MaxBatch: 8, MaxDelay: 300 * time.Millisecond, Timeout: 50 * time.Millisecond})
	ts := httptest.NewServer(srv.Handler())
	defer func() { ts.Close(); srv.Close() }()
	code, r := post(t, ts.URL, "application/json", jsonRows(irisRows()[:1]))
	if code != 503 || !strings.Contains(r.Error, "not answered within 50ms") {
		t.Errorf("timeout: status %d %q", code, r.Error)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/predict", bytes.NewReader(jsonRows(irisRows()[:1])))
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Error("a client that gave up got an answer")
	}
	time.Sleep(400 * time.Millisecond)
	metrics := get(t, ts.URL+"/metrics")
	if !strings.Contains(metrics, `nnc_errors_total{kind="timeout"}`) {
		t.Errorf("metrics lack the timeout:\n%s", grep(metrics, "nnc_errors_total"))
	}
	// The skipped requests computed nothing.
	if !strings.Contains(metrics, "nnc_batch_rows_count 0") {
		t.Errorf("rows of abandoned requests were computed: %s", grep(metrics, "nnc_batch_rows_count"))
	}
}

// TestServeShutdown: requests accepted before a shutdown are all answered
// 200, then the server stops.
func TestServeShutdown(t *testing.T) {
	m := irisModel(t, 8)
	srv, _ := New(m, Config{MaxBatch: 8, MaxDelay: 100 * time.Millisecond})
	// Count the requests the server has taken in, so that the shutdown
	// comes once all 40 are accepted, however slowly a loaded machine
	// sends them (a request never accepted is refused, not lost).
	var arrived atomic.Int32
	h := srv.Handler()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		h.ServeHTTP(w, r)
	}))
	ts.Start()
	var wg sync.WaitGroup
	codes := make(chan int, 40)
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := post(t, ts.URL, "application/json", jsonRows(irisRows()[:2]))
			codes <- code
		}()
	}
	for deadline := time.Now().Add(20 * time.Second); arrived.Load() < 40; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of 40 requests reached the server in 20 s", arrived.Load())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.Config.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	wg.Wait()
	close(codes)
	n := 0
	for c := range codes {
		n++
		if c != 200 {
			t.Errorf("an accepted request was answered %d", c)
		}
	}
	if n != 40 {
		t.Errorf("%d answers for 40 requests", n)
	}
}

// TestFastDecode: the one-pass reader takes the usual requests, with the
// general reader's numbers, and leaves every other body to it.
func TestFastDecode(t *testing.T) {
	m, err := nnc.Load(irisFile, &nnc.LoadOptions{Weights: irisWeights, Batch: 8})
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := New(m, Config{})
	defer srv.Close()
	for _, body := range []string{
		`{"inputs":{"x":[[1,2,3,4]]}}`,
		"{\n \"inputs\": {\"x\": [[5.1, 3.5, 1.4, 0.2],\r\n\t[-0.0, 1e-3, 2.5E+1, 0.30000001192092896]]}}\n",
		`{"inputs":{"x":[[3.4028234663852886e38,1.401298464324817e-45,-1,0]]}}`,
	} {
		fast, frows, ok := srv.fastDecode([]byte(body))
		if !ok {
			t.Errorf("%s: the fast reader gave up", body)
			continue
		}
		slow, srows, err := srv.decodeJSONGeneral([]byte(body))
		if err != nil || frows != srows || !slices.Equal(fast["x"].([]float32), slow["x"].([]float32)) {
			t.Errorf("%s: fast %d rows %v, general %d rows %v (%v)", body, frows, fast["x"], srows, slow["x"], err)
		}
	}
	for _, body := range []string{
		`{"inputs":{"x":[[1,2,3]]}}`,             // short row
		`{"inputs":{"x":[[1,2,3,4,5]]}}`,         // long row
		`{"inputs":{"x":[]}}`,                    // no rows
		`{"inputs":{"x":[[1,2,3,4]],"y":[[1]]}}`, // unknown input
		`{"inputs":{"x":[[1,2,3,4]],"x":[[1,2,3,4]]}}`,
		`{"Inputs":{"x":[[1,2,3,4]]}}`,      // encoding/json folds case
		`{"inputs":{"\u0078":[[1,2,3,4]]}}`, // an escape
		`{"inputs":{"x":[[1,2,3,4]]}} x`,    // trailing bytes
		`{"inputs":{"x":[[1,2,3,04]]}}`,     // not JSON's number grammar
		`{"inputs":{"x":[[1,2,3,.4]]}}`,
		`{"inputs":{"x":[[1,2,3,4.]]}}`,
		`{"inputs":{"x":[[1,2,3,1e]]}}`,
		`{"inputs":{"x":[[1,2,3,1e39]]}}`, // beyond float32
		`{"inputs":{"x":[[1,2,3,NaN]]}}`,
		`{"inputs":{"x":[[1,2,3,null]]}}`,
		`{"inputs":{"x":[[[1,2],[3,4]]]}}`, // nested rows
		`{"inputs":{"x":[[1,2,3,4]]},"extra":1}`,
	} {
		if _, _, ok := srv.fastDecode([]byte(body)); ok {
			t.Errorf("%s: the fast reader accepted it", body)
		}
	}
}

// FuzzDecode: no request body makes the decoder panic, and every refusal
// is a request error.
func FuzzDecode(f *testing.F) {
	f.Add("application/json", []byte(`{"inputs":{"x":[[1,2,3,4]]}}`))
	f.Add("application/json", []byte(`{"inputs":{"x":[[[1],[2]],[3,4]]}}`))
	f.Add("application/json", []byte(`{"inputs":{"x":[[1e40,2,3,4]]}}`))
	f.Add("application/json", []byte(` { "inputs" : { "x" : [ [ -0.5e-3 , 2E+2, 0, 4.25 ] , [1,2,3,4] ] } } `))
	f.Add("application/json", []byte(`{"inputs":{"x":[[1,2,3,4]],"x":[[5,6,7,8]]}}`))
	f.Add("application/json", []byte(`{"Inputs":{"x":[[1,2,3,4]]}}`))
	f.Add("application/json", []byte(`{"inputs":{"x":[[01,2,3,4]]}}`))
	f.Add("application/x-npy", []byte("\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), }"))
	m, err := nnc.Load(irisFile, &nnc.LoadOptions{Weights: irisWeights, Batch: 8})
	if err != nil {
		f.Fatal(err)
	}
	srv, _ := New(m, Config{})
	defer srv.Close()
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		in, rows, err := srv.decode(ct, body)
		if fast, frows, ok := srv.fastDecode(body); ok {
			// The fast reader accepts only what the general one does,
			// with the same numbers.
			slow, srows, err := srv.decodeJSONGeneral(body)
			if err != nil {
				t.Fatalf("fast reader accepted what the general one refuses: %v", err)
			}
			if frows != srows || !slices.Equal(fast["x"].([]float32), slow["x"].([]float32)) {
				t.Fatalf("fast reader read %d rows %v, general %d rows %v", frows, fast["x"], srows, slow["x"])
			}
		}
		if err != nil {
			if _, ok := err.(*requestError); !ok {
				t.Fatalf("not a request error: %T %v", err, err)
			}
			return
		}
		if rows < 1 || len(in["x"].([]float32)) != rows*4 {
			t.Fatalf("decoded %d rows of %d values", rows, len(in["x"].([]float32)))
		}
	})
}
