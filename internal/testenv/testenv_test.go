package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nnc-go/nnc/internal/bug"
)

// recorder is a testing.TB that records how a check ended it.
type recorder struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// check runs f on a recorder, in a goroutine of its own as a test runs,
// and returns the recorder.
func check(f func(t testing.TB)) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestCI(t *testing.T) {
	for _, c := range []struct {
		env  string
		want bool
	}{{"true", true}, {"1", true}, {"TRUE", true}, {"", false}, {"false", false}, {"0", false}, {"yes", false}} {
		t.Setenv("CI", c.env)
		if got := CI(); got != c.want {
			t.Errorf("CI=%q: CI() = %v, want %v", c.env, got, c.want)
		}
	}
}

// TestRequire: a missing prerequisite fails the test under CI=true and
// skips it otherwise, both saying what is missing and how to fetch it;
// a prerequisite present does neither.
func TestRequire(t *testing.T) {
	missing := errors.New("no MNIST files in the module cache")
	const fetch = "go mod download example.com/mnist@v1"

	t.Setenv("CI", "true")
	r := check(func(t testing.TB) { Require(t, "the MNIST files", fetch, missing) })
	if !r.failed || r.skipped {
		t.Errorf("under CI=true: failed %v, skipped %v; want a failure", r.failed, r.skipped)
	}
	for _, s := range []string{"the MNIST files", fetch, missing.Error(), "CI=true"} {
		if !strings.Contains(r.msg, s) {
			t.Errorf("under CI=true the message %q does not say %q", r.msg, s)
		}
	}

	t.Setenv("CI", "")
	r = check(func(t testing.TB) { Require(t, "the MNIST files", fetch, missing) })
	if r.failed || !r.skipped {
		t.Errorf("outside CI: failed %v, skipped %v; want a skip", r.failed, r.skipped)
	}
	if !strings.Contains(r.msg, "fetch with: "+fetch) || !strings.Contains(r.msg, missing.Error()) {
		t.Errorf("outside CI the skip %q does not say how to fetch the files", r.msg)
	}

	for _, env := range []string{"true", ""} {
		t.Setenv("CI", env)
		if r := check(func(t testing.TB) { Require(t, "the MNIST files", fetch, nil) }); r.failed || r.skipped {
			t.Errorf("CI=%q, prerequisite present: failed %v, skipped %v (%s)", env, r.failed, r.skipped, r.msg)
		}
	}
}

func TestGlob(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.txtar", "b.txtar", "c.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var files []string
	if r := check(func(t testing.TB) { files = Glob(t, filepath.Join(dir, "*.txtar"), 2) }); r.failed || len(files) != 2 {
		t.Errorf("two files, at least 2 wanted: failed %v (%s), %d files", r.failed, r.msg, len(files))
	}
	if r := check(func(t testing.TB) { Glob(t, filepath.Join(dir, "*.txtar"), 3) }); !r.failed || !strings.Contains(r.msg, "2 files match") {
		t.Errorf("two files, at least 3 wanted: failed %v (%s)", r.failed, r.msg)
	}
	if r := check(func(t testing.TB) { Glob(t, filepath.Join(dir, "moved", "*.txtar"), 1) }); !r.failed {
		t.Error("no file, at least 1 wanted: passed")
	}
	if r := check(func(t testing.TB) { Glob(t, "[", 0) }); !r.failed || !strings.Contains(r.msg, "syntax error") {
		t.Errorf("a malformed pattern: failed %v (%s)", r.failed, r.msg)
	}
}

func TestNoInternal(t *testing.T) {
	var internal error
	func() {
		defer func() { internal = bug.Recovered(recover()) }()
		panic("kernels.Gemm: negative size")
	}()
	wrapped := fmt.Errorf("epoch 1, batch 2: %w", internal)
	r := check(func(t testing.TB) { NoInternal(t, wrapped) })
	if !r.failed || !strings.Contains(r.msg, "epoch 1, batch 2: internal error: kernels.Gemm: negative size") || !strings.Contains(r.msg, "testenv_test.go") {
		t.Errorf("a wrapped internal error: failed %v, message %q, want the error and its stack", r.failed, r.msg)
	}
	for _, err := range []error{nil, errors.New("data.csv:3: label 7 is outside the model's 3 classes")} {
		if r := check(func(t testing.TB) { NoInternal(t, err) }); r.failed {
			t.Errorf("%v: failed (%s)", err, r.msg)
		}
	}
}
