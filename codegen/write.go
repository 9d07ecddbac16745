package codegen

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/nnc-go/nnc/internal/atomicfile"
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
		if err := atomicfile.Write(filepath.Join(dir, f.name), f.data); err != nil {
			return fmt.Errorf("writing %s: %v", f.name, err)
		}
	}
	return nil
}
