// Package atomicfile writes files so that nothing saved is ever lost or
// half-written: through a synced temporary file in the same directory and
// a rename, as checkpoints, formatted models, plots and generated code are
// written.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Rename is os.Rename, replaced in tests to make the last step fail.
var Rename = os.Rename

// Write stores b at path. Readers of path see either the old file or the
// complete new one; on error no temporary file is left behind and an
// existing file at path is unchanged. A new file gets permissions 0644; a
// replaced file keeps its own. A path that exists and is not a regular
// file (a directory, a device) is refused.
func Write(path string, b []byte) (err error) {
	perm := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return errors.New("not a regular file")
		}
		perm = fi.Mode().Perm()
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(b); err != nil {
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := Rename(tmp.Name(), path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir flushes the directory entry of a rename to disk. It is best
// effort: the rename has happened, and some systems cannot sync a
// directory.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
