package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/serve"
)

var serveCmd = &command{
	name:    "serve",
	usage:   "nnc serve FILE --weights CKPT [--model M] [--set p=v] [--addr 127.0.0.1:8080] [--max-batch 64] [--max-delay 0] [--workers N] [--max-body BYTES] [--timeout 10s]",
	summary: "serve the model over HTTP: POST /v1/predict (JSON or .npy, concurrent requests batched together), GET /healthz, GET /metrics; SIGTERM or SIGINT stops it gracefully",
	run:     runServe,
}

// serveVals are nnc serve's own flags.
type serveVals struct {
	addr     string
	maxBatch int
	maxDelay time.Duration
	workers  int
	maxBody  int64
	timeout  time.Duration
}

func serveFlags(fs *flag.FlagSet, v *flagVals) {
	fs.StringVar(&v.weights, "weights", "", "the safetensors checkpoint to serve (required)")
	fs.StringVar(&v.serve.addr, "addr", "127.0.0.1:8080", "the address to listen on")
	fs.IntVar(&v.serve.maxBatch, "max-batch", 64, "the most rows computed together; 1 turns dynamic batching off")
	fs.DurationVar(&v.serve.maxDelay, "max-delay", 0, "how long a batch waits for more requests when a worker is free to compute it (rows gather anyway while the workers are busy)")
	fs.IntVar(&v.serve.workers, "workers", 0, "batches computed at once (default: GOMAXPROCS)")
	fs.Int64Var(&v.serve.maxBody, "max-body", 16<<20, "the largest request body in bytes (413 beyond)")
	fs.DurationVar(&v.serve.timeout, "timeout", 10*time.Second, "the longest a request may take, queue included (503 beyond)")
}

func runServe(e *cmdEnv, args []string) int {
	var v flagVals
	file, code, ok := e.parseFile(args, &v)
	if !ok {
		return code
	}
	s := v.serve
	switch {
	case v.weights == "":
		fmt.Fprintf(e.stderr, "nnc serve: --weights CKPT is required\nusage: %s\n", e.cmd.usage)
		return exitModel
	case s.maxBatch < 1 || s.maxBatch > 1<<16:
		fmt.Fprintf(e.stderr, "nnc serve: --max-batch must be 1 to 65536, got %d\n", s.maxBatch)
		return exitModel
	case s.maxDelay < 0 || s.workers < 0 || s.maxBody < 1 || s.timeout <= 0:
		fmt.Fprintf(e.stderr, "nnc serve: --max-delay and --workers must not be negative, --max-body and --timeout must be positive\n")
		return exitModel
	}
	m, err := nnc.Load(file, &nnc.LoadOptions{Weights: v.weights, Model: v.model, Set: v.set, Batch: s.maxBatch})
	if err != nil {
		return e.report(err)
	}
	srv, err := serve.New(m, serve.Config{MaxBatch: s.maxBatch, MaxDelay: s.maxDelay, Workers: s.workers, MaxBody: s.maxBody, Timeout: s.timeout})
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc serve: %v\n", err)
		return exitRuntime
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc serve: %v\n", err)
		return exitRuntime
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       s.timeout,
		WriteTimeout:      s.timeout + 5*time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(e.stdout, "serving %s on http://%s (POST /v1/predict, GET /healthz, GET /metrics)\n", m.Name(), ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(e.stderr, "nnc serve: %v\n", err)
		return exitRuntime
	case <-ctx.Done():
	}
	// Stop accepting; answer every request already accepted.
	shut, cancel := context.WithTimeout(context.Background(), s.timeout+5*time.Second)
	defer cancel()
	err = hs.Shutdown(shut)
	srv.Close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(e.stderr, "nnc serve: shutting down: %v\n", err)
		return exitRuntime
	}
	fmt.Fprintf(e.stdout, "nnc serve: stopped\n")
	return exitOK
}
