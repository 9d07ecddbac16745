package codegen

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFiles writes the generated package into dir (created if needed):
// model.go and, when weights is not nil, weights.safetensors, each through
// a temporary file and a rename.
func WriteFiles(dir string, src, weights []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{{"model.go", src}}
	if weights != nil {
		files = append(files, struct {
			name string
			data []byte
		}{"weights.safetensors", weights})
	} else if err := os.Remove(filepath.Join(dir, "weights.safetensors")); err != nil && !os.IsNotExist(err) {
		return err
	}
	for _, f := range files {
		if err := writeAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return fmt.Errorf("writing %s: %v", f.name, err)
		}
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
