package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestServeFaults runs nnc serve as a process, drives it with clients
// while others misbehave (leave mid-body, send slowly, send too much or
// garbage), then stops it with SIGTERM under load: every request the
// server accepted is answered 200, the bad ones get their 4xx, and it
// exits 0.
func TestServeFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs nnc serve")
	}
	bin := filepath.Join(t.TempDir(), "nnc")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "../../examples/iris/iris.nn", "--weights", "../../examples/iris/iris.safetensors",
		"--addr", "127.0.0.1:0", "--max-body", "4096", "--timeout", "2s")
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("nnc serve printed nothing: %s", stderr.String())
	}
	first := lines.Text()
	i := strings.Index(first, "http://")
	if i < 0 {
		t.Fatalf("first line %q", first)
	}
	addr := strings.Fields(first[i+len("http://"):])[0]
	restc := make(chan string, 1)
	go func() {
		var b strings.Builder
		for lines.Scan() {
			b.WriteString(lines.Text() + "\n")
		}
		restc <- b.String()
	}()
	url := "http://" + addr + "/v1/predict"
	body := []byte(`{"inputs":{"x":[[5.1,3.5,1.4,0.2]]}}`)

	var ok, refused, other atomic.Int64
	var bad []string
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					// Not accepted: the listener closed (refused) or an
					// idle keep-alive connection was closed before the
					// request was read.
					refused.Add(1)
					if errors.Is(err, syscall.ECONNREFUSED) {
						return
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
				} else {
					other.Add(1)
					mu.Lock()
					bad = append(bad, resp.Status)
					mu.Unlock()
				}
			}
		}()
	}
	// The misbehaving clients.
	raw := func(req string, pause time.Duration, rest string) string {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err.Error()
		}
		defer c.Close()
		c.Write([]byte(req))
		if pause > 0 {
			time.Sleep(pause)
			c.Write([]byte(rest))
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		return string(b)
	}
	head := "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
	// Leaves mid-body.
	c, err := net.Dial("tcp", addr)
	if err == nil {
		c.Write([]byte(head + "Content-Length: 100\r\n\r\n{\"inputs\":"))
		c.Close()
	}
	if got := raw(head+"Content-Length: 8000\r\n\r\n"+strings.Repeat(" ", 8000), 0, ""); !strings.Contains(got, "413") {
		t.Errorf("oversize body: %q", got)
	}
	if got := raw(head+"Content-Length: 7\r\n\r\ngarbage", 0, ""); !strings.Contains(got, "400 Bad Request") {
		t.Errorf("garbage: %q", got)
	}
	// Sends its body slower than the read timeout allows.
	slow := head + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body[:5])
	if got := raw(slow, 3*time.Second, string(body[5:])); strings.Contains(got, "200 OK") {
		t.Errorf("a body sent over 3s with a 2s timeout was answered: %q", got)
	}
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var exitErr error
	select {
	case exitErr = <-waited:
	case <-time.After(20 * time.Second):
		t.Fatal("nnc serve did not stop within 20s of SIGTERM")
	}
	close(stop)
	wg.Wait()
	rest := <-restc
	if exitErr != nil {
		t.Errorf("nnc serve exited: %v\n%s", exitErr, stderr.String())
	}
	if !strings.Contains(rest, "nnc serve: stopped") {
		t.Errorf("no stop line: %q", rest)
	}
	if other.Load() != 0 {
		t.Errorf("%d well-formed requests answered otherwise than 200: %v", other.Load(), bad)
	}
	if ok.Load() == 0 {
		t.Error("no request answered")
	}
	if strings.Contains(stderr.String(), "panic") {
		t.Errorf("stderr: %s", stderr.String())
	}
	t.Logf("%d answered 200 under faults and SIGTERM, %d not accepted after it", ok.Load(), refused.Load())
}
