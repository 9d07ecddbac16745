// Command serveload measures nnc serve under load: it serves a model on a
// loopback port (in this process, as nnc serve does) and drives it with
// concurrent clients, each sending one-row JSON requests back to back, with
// dynamic batching on and off. For each setting and number of clients it
// prints requests per second, median and 99th-percentile latency, failed
// requests and the process's resident memory after warm-up and at the end.
//
//	go run ./bench/serveload -model examples/mnist_mlp.nn -clients 1,8,64,256 -requests 20000
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/serve"
)

func main() {
	model := flag.String("model", "examples/mnist_mlp.nn", "the model file")
	weights := flag.String("weights", "", "its checkpoint (default: the seeded initialisation; the timing is the same)")
	clients := flag.String("clients", "1,8,64,256", "numbers of concurrent clients, comma-separated")
	requests := flag.Int("requests", 20000, "requests per setting (after a warm-up of a tenth as many)")
	maxBatch := flag.Int("max-batch", 64, "the server's --max-batch with batching on")
	maxDelay := flag.Duration("max-delay", 0, "the server's --max-delay with batching on")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (server and clients) to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "serveload:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*model, *weights, *clients, *requests, *maxBatch, *maxDelay); err != nil {
		fmt.Fprintln(os.Stderr, "serveload:", err)
		os.Exit(1)
	}
}

func run(model, weights, clientList string, requests, maxBatch int, maxDelay time.Duration) error {
	fmt.Printf("%-9s %7s %10s %9s %9s %7s %9s %9s\n", "batching", "clients", "req/s", "p50 ms", "p99 ms", "failed", "rss0 MB", "rss1 MB")
	for _, on := range []bool{true, false} {
		batch := 1
		if on {
			batch = maxBatch
		}
		m, err := nnc.Load(model, &nnc.LoadOptions{Weights: weights, Batch: batch})
		if err != nil {
			return err
		}
		srv, err := serve.New(m, serve.Config{MaxBatch: batch, MaxDelay: maxDelay})
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go hs.Serve(ln)
		url := "http://" + ln.Addr().String() + "/v1/predict"
		body := request(m)
		for _, s := range strings.Split(clientList, ",") {
			c, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || c < 1 {
				return fmt.Errorf("bad -clients %q", clientList)
			}
			drive(url, body, c, requests/10) // warm-up
			rss0 := rssMB()
			r := drive(url, body, c, requests)
			mode := "off"
			if on {
				mode = "on"
			}
			fmt.Printf("%-9s %7d %10.0f %9.3f %9.3f %7d %9.1f %9.1f\n", mode, c, r.perSec, r.p50, r.p99, r.failed, rss0, rssMB())
		}
		hs.Shutdown(context.Background())
		srv.Close()
	}
	return nil
}

// request is a one-row request of random values for m's input.
func request(m *nnc.Model) []byte {
	in := m.Inputs()[0]
	rng := rand.New(rand.NewPCG(1, 2))
	row := make([]float32, in.RowSize())
	for i := range row {
		row[i] = rng.Float32()
	}
	b, _ := json.Marshal(map[string]any{"inputs": map[string]any{in.Name: [][]float32{row}}})
	return b
}

type result struct {
	perSec, p50, p99 float64
	failed           int
}

// drive sends n requests from c clients and measures them.
func drive(url string, body []byte, c, n int) result {
	tr := &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	var next, failed atomic.Int64
	lat := make([][]time.Duration, c)
	var wg sync.WaitGroup
	start := time.Now()
	for k := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					continue
				}
				lat[k] = append(lat[k], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := result{perSec: float64(n) / elapsed.Seconds(), failed: int(failed.Load())}
	if len(all) > 0 {
		r.p50 = all[len(all)/2].Seconds() * 1e3
		r.p99 = all[len(all)*99/100].Seconds() * 1e3
	}
	return r
}

// rssMB is the process's resident set size in MB, from /proc (0 where
// there is none).
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, _ := strconv.Atoi(strings.Fields(l)[1])
			return float64(kb) / 1024
		}
	}
	return 0
}
