//go:build unix

package checkpoint

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nnc-go/nnc/internal/testenv"
)

// readOnlyEnv names, in the child process TestWriteReadOnlyDir starts as
// root, the directory to check.
const readOnlyEnv = "NNC_TEST_READONLY_DIR"

// nobody is the user root runs the check as: the traditional nobody.
const nobody = 65534

// TestWriteReadOnlyDir checks a directory the process may not write into.
// Root may write anywhere, and CI runs as root: then the directory is
// handed to user nobody and the check runs in a child process of this test
// binary as nobody, instead of not running.
func TestWriteReadOnlyDir(t *testing.T) {
	if dir := os.Getenv(readOnlyEnv); dir != "" {
		checkReadOnlyDir(t, dir) // the child
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := Write(path, sample()); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		checkReadOnlyDir(t, dir)
		return
	}

	// As root: nobody owns the directory and the file, and may reach them
	// (t.TempDir makes its folders 0700) and run a copy of this binary.
	parent := filepath.Dir(dir)
	for _, d := range []string{parent, dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{dir, path} {
		if err := os.Chown(p, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(parent, "checkpoint.test")
	if err := copyFile(bin, self); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestWriteReadOnlyDir$", "-test.count=1", "-test.v")
	cmd.Dir = parent
	cmd.Env = append(os.Environ(), readOnlyEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		// Not allowed to switch users (a container without CAP_SETUID).
		testenv.Require(t, "a switch to user nobody, to check permissions as root", "run the tests as a user other than root", err)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: TestWriteReadOnlyDir") {
		t.Fatalf("the check as user nobody: %v\n%s", err, out)
	}
}

// checkReadOnlyDir checks that Write fails in dir, which this process may
// not write into, leaving its m.safetensors as it was and nothing else.
func checkReadOnlyDir(t *testing.T, dir string) {
	if os.Geteuid() == 0 {
		t.Fatal("the read-only directory check runs as root, whom permissions do not stop")
	}
	path := filepath.Join(dir, "m.safetensors")
	oldBytes, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	err = Write(path, &File{})
	if err == nil {
		t.Fatal("Write into a read-only directory succeeded")
	}
	if want := "checkpoint: writing " + path + ": "; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("Write error %q, want prefix %q and permission denied", err, want)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, oldBytes) {
		t.Error("the old file changed")
	}
	assertOnly(t, dir, "m.safetensors")
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
