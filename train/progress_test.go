package train

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

// fakeTTY is a writer with a file descriptor, which isTerminal is made to
// accept or refuse.
type fakeTTY struct {
	bytes.Buffer
	fd uintptr
}

func (f *fakeTTY) Fd() uintptr { return f.fd }

func TestProgressWriter(t *testing.T) {
	saved := isTerminal
	t.Cleanup(func() { isTerminal = saved })
	isTerminal = func(fd int) bool { return fd == 7 }
	t.Setenv("TERM", "xterm-256color")

	tty, file := &fakeTTY{fd: 7}, &fakeTTY{fd: 8}
	for _, tt := range []struct {
		name  string
		w     io.Writer
		quiet bool
		term  string
		want  bool
	}{
		{"terminal", tty, false, "xterm", true},
		{"terminal without TERM", tty, false, "", true},
		{"quiet terminal", tty, true, "xterm", false},
		{"dumb terminal", tty, false, "dumb", false},
		{"file or pipe", file, false, "xterm", false},
		{"buffer without a descriptor", &bytes.Buffer{}, false, "xterm", false},
		{"nil", nil, false, "xterm", false},
	} {
		t.Setenv("TERM", tt.term)
		got := ProgressWriter(tt.w, tt.quiet)
		if (got != nil) != tt.want {
			t.Errorf("%s: ProgressWriter = %v, want a writer: %v", tt.name, got, tt.want)
		}
		if got != nil && got != tt.w {
			t.Errorf("%s: ProgressWriter returned another writer", tt.name)
		}
	}

	// A real file that is not a terminal gets no bar.
	isTerminal = saved
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ProgressWriter(f, false) != nil {
		t.Error("ProgressWriter accepts a regular file")
	}
}

func TestProgressBar(t *testing.T) {
	saved := progressThrottle
	t.Cleanup(func() { progressThrottle = saved })
	progressThrottle = 0
	var buf bytes.Buffer
	p := newProgress(&buf)
	p.start(2, 5, 100)
	for range 10 {
		p.step(10, 0.5)
	}
	p.clear()
	out := buf.String()
	for _, want := range []string{"epoch 2/5", "loss 0.5000", "samples/", "90%"} {
		if !strings.Contains(out, want) {
			t.Errorf("the bar never showed %q:\n%q", want, out)
		}
	}
	// The bar ends erased: the last thing written returns to the start of
	// an empty line, so the epoch line that follows prints cleanly.
	if last := out[strings.LastIndexByte(out[:len(out)-1], '\r'):]; strings.TrimSpace(last) != "" || !strings.HasSuffix(out, "\r") {
		t.Errorf("the bar is not erased at the end: %q", out[max(0, len(out)-80):])
	}

	// An epoch that fails midway erases its bar too.
	buf.Reset()
	p.start(1, 1, 100)
	p.step(30, 0.7)
	p.clear()
	out = buf.String()
	if !strings.Contains(out, "loss 0.7000") || !strings.HasSuffix(out, "\r") || strings.TrimSpace(out[strings.LastIndexByte(out[:len(out)-1], '\r'):]) != "" {
		t.Errorf("an unfinished bar is not erased: %q", out)
	}

	// No writer, no bar, no panic.
	var none *progress = newProgress(nil)
	none.start(1, 1, 1)
	none.step(1, 0)
	none.clear()
}
