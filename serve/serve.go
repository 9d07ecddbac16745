// Package serve puts an nnc model behind HTTP: POST /v1/predict with
// dynamic batching (concurrent requests computed together, up to a number
// of rows or a delay, as Triton and TF Serving do), GET /healthz and GET
// /metrics (Prometheus), with limits on bodies, time and rows, and a
// graceful shutdown that answers every request it accepted.
package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/train"
)

// Config configures a Server. Zero values take the defaults in brackets.
type Config struct {
	// MaxBatch is the most rows computed together [64]; 1 turns dynamic
	// batching off (each request alone).
	MaxBatch int
	// MaxDelay is how long a batch waits for more rows when a worker is
	// free to compute it [0: not at all; rows gather while the workers
	// are busy].
	MaxDelay time.Duration
	// Workers is the number of batches computed at once [GOMAXPROCS].
	Workers int
	// MaxBody is the largest request body in bytes [16 MiB]; a larger one
	// is answered 413.
	MaxBody int64
	// MaxRows is the most rows one request may hold [4096].
	MaxRows int
	// Timeout bounds a request from its arrival to its answer [10s]; a
	// request still queued then is dropped and answered 503.
	Timeout time.Duration
}

func (c *Config) defaults() {
	if c.MaxBatch <= 0 {
		c.MaxBatch = 64
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.MaxBody <= 0 {
		c.MaxBody = 16 << 20
	}
	if c.MaxRows <= 0 {
		c.MaxRows = 4096
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
}

// Server serves one model. Create it with New; Handler is its HTTP
// handler; Close stops its batcher after the requests under way.
type Server struct {
	cfg   Config
	model *nnc.Model
	in    []nnc.TensorInfo
	width int
	f64   bool
	loss  ir.Loss

	queue chan *job
	wg    sync.WaitGroup // the batcher and the workers
	stop  chan struct{}
	once  sync.Once

	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	errs     *prometheus.CounterVec
	batches  prometheus.Histogram
	latency  prometheus.Histogram
	mux      *http.ServeMux
}

// job is one request's rows on their way through the batcher.
type job struct {
	ctx  context.Context
	in   map[string]any // per input: []float32, []float64 or []int64
	rows int
	out  any // []float32 or []float64, rows × width, filled by a worker
	done chan error
}

// New returns a server for m.
func New(m *nnc.Model, cfg Config) (*Server, error) {
	cfg.defaults()
	s := &Server{cfg: cfg, model: m, in: m.Inputs(), width: m.Outputs()[0].RowSize(), f64: m.Outputs()[0].DType == "f64",
		queue: make(chan *job, 4*cfg.MaxBatch+64), stop: make(chan struct{}), reg: prometheus.NewRegistry()}
	if l, ok := ir.ParseLoss(m.Loss()); ok {
		s.loss = l
	}
	if s.loss == ir.CrossEntropy && s.width < 2 {
		s.loss = ir.NoLoss
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nnc_requests_total", Help: "Prediction requests answered, by status code."}, []string{"code"})
	s.errs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nnc_errors_total", Help: "Failed prediction requests, by kind."}, []string{"kind"})
	s.batches = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "nnc_batch_rows", Help: "Rows per computed batch.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 13)})
	s.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "nnc_request_seconds", Help: "Time from a prediction request's arrival to its answer.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 17)})
	s.reg.MustRegister(s.requests, s.errs, s.batches, s.latency)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /v1/predict", s.predict)
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	batches := make(chan []*job) // unbuffered: a send is a worker taking it
	for range cfg.Workers {
		s.wg.Add(1)
		go s.worker(batches)
	}
	s.wg.Add(1)
	go s.batcher(batches)
	return s, nil
}

// Handler returns the server's HTTP handler. A panic in it (a bug) is
// answered 500, counted, and does not stop the server.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				s.errs.WithLabelValues("internal").Inc()
				writeError(w, http.StatusInternalServerError, fmt.Sprintf("internal error: %v", v))
			}
		}()
		s.mux.ServeHTTP(w, r)
	})
}

// Close stops the batcher and workers once the queued requests are
// computed. Call it after http.Server.Shutdown has returned.
func (s *Server) Close() {
	s.once.Do(func() { close(s.stop) })
	s.wg.Wait()
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"status\":\"ok\",\"model\":%q}\n", s.model.Name())
}

// batcher gathers queued jobs into batches and hands each to a worker as
// soon as one is free: while every worker is busy, the jobs that arrive
// join the batch, up to MaxBatch rows. With MaxDelay > 0 a batch first
// waits up to that long for more rows even when a worker is free. A job
// larger than MaxBatch goes alone (the model computes it in chunks).
func (s *Server) batcher(out chan<- []*job) {
	defer s.wg.Done()
	defer close(out)
	var pending *job // a job that did not fit the last batch
	for {
		first := pending
		pending = nil
		if first == nil {
			select {
			case first = <-s.queue:
			case <-s.stop:
				// Drain what is queued, then stop.
				for {
					select {
					case j := <-s.queue:
						out <- []*job{j}
					default:
						return
					}
				}
			}
		}
		batch := []*job{first}
		rows := first.rows
		var deadline <-chan time.Time
		var timer *time.Timer
		waiting := s.cfg.MaxDelay > 0 && rows < s.cfg.MaxBatch
		if waiting {
			timer = time.NewTimer(s.cfg.MaxDelay)
			deadline = timer.C
		}
		sent := false
	gather:
		for rows < s.cfg.MaxBatch {
			var free chan<- []*job // nil while the batch waits: no send
			if !waiting {
				free = out
			}
			select {
			case free <- batch:
				sent = true
				break gather
			case j := <-s.queue:
				if rows+j.rows > s.cfg.MaxBatch {
					pending = j
					break gather
				}
				batch = append(batch, j)
				rows += j.rows
			case <-deadline:
				waiting, deadline = false, nil
			case <-s.stop:
				break gather
			}
		}
		if timer != nil {
			timer.Stop()
		}
		if !sent {
			out <- batch
		}
	}
}

// worker computes batches: the live jobs' rows copied into one input, one
// forward pass, the outputs copied back.
func (s *Server) worker(batches <-chan []*job) {
	defer s.wg.Done()
	var bufs map[string]any
	var out []float32
	var out64 []float64
	for batch := range batches {
		live := batch[:0:0]
		rows := 0
		for _, j := range batch {
			if err := j.ctx.Err(); err != nil {
				j.done <- err // its client left or its time ran out: no work for it
				continue
			}
			live = append(live, j)
			rows += j.rows
		}
		if len(live) == 0 {
			continue
		}
		s.batches.Observe(float64(rows))
		in := live[0].in
		if len(live) > 1 {
			bufs = s.concat(bufs, live, rows)
			in = bufs
		}
		var err error
		if s.f64 {
			out64 = grow(out64, rows*s.width)
			_, err = s.model.PredictTo64(context.Background(), in, out64)
		} else {
			out = grow(out, rows*s.width)
			_, err = s.model.PredictTo(context.Background(), in, out)
		}
		at := 0
		for _, j := range live {
			if err == nil {
				n := j.rows * s.width
				if s.f64 {
					j.out = append([]float64(nil), out64[at:at+n]...)
				} else {
					j.out = append([]float32(nil), out[at:at+n]...)
				}
				at += n
			}
			j.done <- err
		}
	}
}

func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// concat gathers the inputs of jobs into bufs (reused across batches).
func (s *Server) concat(bufs map[string]any, jobs []*job, rows int) map[string]any {
	if bufs == nil {
		bufs = map[string]any{}
	}
	for _, t := range s.in {
		n := rows * t.RowSize()
		switch t.DType {
		case "f32":
			bufs[t.Name] = gather[float32](bufs[t.Name], jobs, t.Name, n)
		case "f64":
			bufs[t.Name] = gather[float64](bufs[t.Name], jobs, t.Name, n)
		case "i64":
			bufs[t.Name] = gather[int64](bufs[t.Name], jobs, t.Name, n)
		}
	}
	return bufs
}

// gather appends the jobs' values of input name into buf, grown to n.
func gather[T float32 | float64 | int64](buf any, jobs []*job, name string, n int) []T {
	b, _ := buf.([]T)
	b = grow(b, n)[:0]
	for _, j := range jobs {
		b = append(b, j.in[name].([]T)...)
	}
	return b
}

// requestError is a bad request: status 400 (or another 4xx) with the
// reason, and the kind it is counted under.
type requestError struct {
	status int
	kind   string
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(kind, format string, a ...any) error {
	return &requestError{http.StatusBadRequest, kind, fmt.Sprintf(format, a...)}
}

func (s *Server) predict(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	code, body := s.answer(ctx, w, r)
	s.requests.WithLabelValues(fmt.Sprint(code)).Inc()
	s.latency.Observe(time.Since(start).Seconds())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(body)
}

// answer decodes, queues and waits for a request; it returns the status
// and the JSON body to answer with.
func (s *Server) answer(ctx context.Context, w http.ResponseWriter, r *http.Request) (int, []byte) {
	fail := func(err error) (int, []byte) {
		var re *requestError
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			re = &requestError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body larger than %d bytes", s.cfg.MaxBody)}
		case errors.Is(err, context.DeadlineExceeded):
			re = &requestError{http.StatusServiceUnavailable, "timeout", fmt.Sprintf("not answered within %v", s.cfg.Timeout)}
		case errors.Is(err, context.Canceled):
			re = &requestError{499, "cancelled", "the client went away"}
		case errors.As(err, &re):
		default:
			re = &requestError{http.StatusInternalServerError, "model", err.Error()}
		}
		s.errs.WithLabelValues(re.kind).Inc()
		b, _ := json.Marshal(map[string]string{"error": re.msg})
		return re.status, append(b, '\n')
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		return fail(err)
	}
	in, rows, err := s.decode(r.Header.Get("Content-Type"), body)
	if err != nil {
		return fail(err)
	}
	j := &job{ctx: ctx, in: in, rows: rows, done: make(chan error, 1)}
	select {
	case s.queue <- j:
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	select {
	case err = <-j.done:
	case <-ctx.Done():
		// The job stays queued; the worker that reaches it sees its
		// context done and skips it.
		return fail(ctx.Err())
	}
	if err != nil {
		return fail(err)
	}
	b, err := s.encode(j)
	if err != nil {
		return fail(err)
	}
	return http.StatusOK, b
}

// encode writes the outputs of j as JSON: "outputs" row by row and, for a
// classifier, "classes", "labels" (when the checkpoint names them) and
// "probabilities", as nnc predict --json reads them.
func (s *Server) encode(j *job) ([]byte, error) {
	resp := struct {
		Outputs       map[string]any `json:"outputs"`
		Classes       []int          `json:"classes,omitempty"`
		Labels        []string       `json:"labels,omitempty"`
		Probabilities [][]float64    `json:"probabilities,omitempty"`
	}{Outputs: map[string]any{}}
	p := &train.Predictions{Loss: s.loss, N: j.rows, Width: s.width}
	p.Out = make([]float64, 0, j.rows*s.width)
	switch o := j.out.(type) {
	case []float32:
		rows := make([][]float32, j.rows)
		for i := range rows {
			rows[i] = o[i*s.width : (i+1)*s.width]
		}
		resp.Outputs["out"] = rows
		for _, v := range o {
			p.Out = append(p.Out, float64(v))
		}
	case []float64:
		rows := make([][]float64, j.rows)
		for i := range rows {
			rows[i] = o[i*s.width : (i+1)*s.width]
		}
		resp.Outputs["out"] = rows
		p.Out = append(p.Out, o...)
	}
	if s.loss.Classification() {
		p.Data.Classes = s.model.Classes()
		for i := range j.rows {
			k := p.Class(i)
			if s.loss == ir.BCEWithLogits {
				k = 0
				if p.Out[i*s.width] > 0 {
					k = 1
				}
			}
			resp.Classes = append(resp.Classes, k)
			if p.Data.Classes != nil {
				resp.Labels = append(resp.Labels, p.Label(k))
			}
			resp.Probabilities = append(resp.Probabilities, p.Probabilities(i, nil))
		}
	}
	b, err := json.Marshal(resp)
	return append(b, '\n'), err
}

// decode reads a request body: JSON {"inputs": {"NAME": rows}} where rows
// are nested arrays whose every row holds one row of the input's shape, or,
// with Content-Type application/x-npy or application/octet-stream, a
// .npy array of float32 or float64 rows for a model of one float input.
func (s *Server) decode(contentType string, body []byte) (map[string]any, int, error) {
	ct := strings.TrimSpace(strings.Split(contentType, ";")[0])
	if ct == "application/x-npy" || ct == "application/octet-stream" {
		return s.decodeNPY(body)
	}
	return s.decodeJSON(body)
}
