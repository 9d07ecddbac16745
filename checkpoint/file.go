package checkpoint

import (
	"fmt"
	"os"

	"github.com/nnc-go/nnc/internal/atomicfile"
)

// Write encodes f and stores it at path atomically: it writes a temporary
// file in the same directory, syncs it to disk and renames it over path.
// Readers of path see either the old file or the complete new one, and on
// error no temporary file is left behind and an existing file at path is
// unchanged. A new file gets permissions 0644; a replaced file keeps its
// permissions. Its errors name the path.
func Write(path string, f *File) error {
	b, err := encode(f)
	if err == nil {
		err = atomicfile.Write(path, b)
	}
	if err != nil {
		return fmt.Errorf("checkpoint: writing %s: %w", path, err)
	}
	return nil
}

// Read reads and decodes the safetensors file at path. Its errors name the
// path.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	f, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	return f, nil
}
