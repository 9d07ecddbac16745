// Package testenv holds the checks that keep tests honest: a test that
// needs something from outside (data in the module cache, a tool) skips
// without it only outside CI, saying how to fetch it, and fails under
// CI=true; a test driven by files checks that it found them; a test that
// runs steps fails, with the stack, on an internal error.
package testenv

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/nnc-go/nnc/internal/bug"
)

// CI reports whether the tests run in CI: the environment variable CI is
// set to a true value (CI=true, as .ci/run and the common CI services set
// it; CI=1).
func CI() bool {
	ok, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ok
}

// Require is for a test that needs what, a prerequisite CI provides: when
// err (the failure to find it) is not nil, the test fails under CI and is
// skipped otherwise, the message saying the command that fetches it.
func Require(t testing.TB, what, fetch string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if CI() {
		t.Fatalf("%s missing under CI=true, which must provide it (%s): %v", what, fetch, err)
	}
	t.Skipf("%s missing (fetch with: %s): %v", what, fetch, err)
}

// Glob returns the files matching pattern and fails t unless there are at
// least min of them, so that a test driven by files cannot pass having
// found none, or fewer than it was written for.
func Glob(t testing.TB, pattern string, min int) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatalf("%s: %v", pattern, err)
	}
	if len(files) < min {
		t.Fatalf("%d files match %s, want at least %d", len(files), pattern, min)
	}
	return files
}

// NoInternal fails t, printing the stack, when err is or wraps an internal
// error (bug.ErrInternal): a panic inside nnc that was recovered into an
// error. Tests that expect an error from running a model call it before
// looking at the message, so that a bug cannot pass for the error expected.
func NoInternal(t testing.TB, err error) {
	t.Helper()
	if stack, ok := bug.Stack(err); ok {
		t.Fatalf("%v\n%s", err, stack)
	}
}
