package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestHandler serves a .wasm file's gzipped copy to a browser that takes
// gzip, the file itself to one that does not, and nothing outside the
// site.
func TestHandler(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site")
	for name, body := range map[string]string{"site/m.wasm": "raw", "site/m.wasm.gz": "zipped", "secret.wasm.gz": "secret"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(Handler(site))
	defer srv.Close()
	for _, c := range []struct {
		path, accept, body, encoding string
		status                       int
	}{
		{"/m.wasm", "gzip, deflate", "zipped", "gzip", 200},
		{"/m.wasm", "", "raw", "", 200},
		{"/../secret.wasm", "gzip", "", "", 404},
		{"/nothing.wasm", "gzip", "", "", 404},
	} {
		req, err := http.NewRequest("GET", srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Path = c.path
		req.Header.Set("Accept-Encoding", c.accept)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || (c.status == 200 && (string(b) != c.body || resp.Header.Get("Content-Encoding") != c.encoding || resp.Header.Get("Content-Type") != "application/wasm")) {
			t.Errorf("GET %s (Accept-Encoding %q): %d %q, Content-Encoding %q, Content-Type %q; want %d %q, %q", c.path, c.accept, resp.StatusCode, b, resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Type"), c.status, c.body, c.encoding)
		}
	}
}
