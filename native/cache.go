package native

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The cache of compiled programs is a folder, CacheDir, holding one folder
// per program, named by the program's key, with the executable model.bin;
// a build in progress writes its sources beside it, in KEY.src. Programs
// are about 16 MB each, so the cache is bounded: after each build the
// programs used least recently (a run touches its program) are removed
// until the cache holds at most CacheSize bytes. `nnc clean` empties it.

// DefaultCacheSize is the bound of the cache when NNC_CACHE_SIZE is unset:
// 1 GiB, some sixty programs.
const DefaultCacheSize = 1 << 30

// staleAfter is the age past which an unfinished entry (no model.bin, or
// a KEY.src folder) is taken for the remains of a failed build rather than
// one that another process is running, and may be removed.
const staleAfter = time.Hour

// CacheDir returns the folder of compiled programs: nnc in the user's cache
// folder ($XDG_CACHE_HOME, else ~/.cache on Linux), else in the temporary
// folder.
func CacheDir() string {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	return filepath.Join(cache, "nnc")
}

// CacheSize returns the bound of the cache in bytes: NNC_CACHE_SIZE when
// set (bytes, or with a suffix K, M or G, powers of 1024), else
// DefaultCacheSize.
func CacheSize() (int64, error) {
	s := os.Getenv("NNC_CACHE_SIZE")
	if s == "" {
		return DefaultCacheSize, nil
	}
	n, err := ParseSize(s)
	if err != nil {
		return 0, fmt.Errorf("NNC_CACHE_SIZE: %v", err)
	}
	return n, nil
}

// ParseSize parses a size in bytes: digits, optionally followed by K, M
// or G (KiB, MiB, GiB: powers of 1024; "KB", "MiB" and so on are taken as
// the same).
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		}
		if mult > 1 {
			t = strings.TrimSpace(t[:len(t)-1])
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("want a size such as 500M or 2G, got %q", s)
	}
	return n * mult, nil
}

// FormatSize formats a number of bytes for people: 850.3 MiB.
func FormatSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// entry is one folder of the cache.
type entry struct {
	name     string
	size     int64     // bytes of its files
	used     time.Time // when its program last ran, or the folder changed
	finished bool      // it holds a built program
}

// isKey reports whether name is a program's key: 24 lower-case hex digits.
func isKey(name string) bool {
	if len(name) != 24 {
		return false
	}
	for _, c := range name {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// entries lists the folders of the cache dir that nnc made (a program's
// folder, or the sources of a build); other files are not nnc's and are
// left alone. A missing dir has none.
func entries(dir string) ([]entry, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var list []entry
	for _, de := range des {
		name := de.Name()
		if !de.IsDir() || !isKey(strings.TrimSuffix(name, ".src")) {
			continue
		}
		e := entry{name: name}
		path := filepath.Join(dir, name)
		if fi, err := de.Info(); err == nil {
			e.used = fi.ModTime()
		}
		if fi, err := os.Stat(filepath.Join(path, "model.bin")); err == nil && !strings.HasSuffix(name, ".src") {
			e.used, e.finished = fi.ModTime(), true
		}
		filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if fi, err := d.Info(); err == nil {
					e.size += fi.Size()
				}
			}
			return nil
		})
		list = append(list, e)
	}
	return list, nil
}

// touch marks the program exe as just used, for the cache's eviction.
func touch(exe string) {
	now := time.Now()
	os.Chtimes(exe, now, now)
}

// trim removes the cache's least recently used programs until it holds at
// most limit bytes, and the remains of builds that failed; it never
// removes the program keep (the one about to run), nor a build younger
// than staleAfter, which another process may be running. It returns the
// entries removed.
func trim(dir string, limit int64, keep string, now time.Time) ([]string, error) {
	list, err := entries(dir)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, e := range list {
		total += e.size
	}
	// Unfinished entries first (only the stale ones are removed), then
	// programs from the least recently used.
	sort.Slice(list, func(i, j int) bool {
		if list[i].finished != list[j].finished {
			return !list[i].finished
		}
		return list[i].used.Before(list[j].used)
	})
	var removed []string
	for _, e := range list {
		if e.name == keep || e.name == keep+".src" {
			continue
		}
		if e.finished && total <= limit {
			break
		}
		if !e.finished && now.Sub(e.used) < staleAfter {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.name)); err != nil {
			return removed, err
		}
		total -= e.size
		removed = append(removed, e.name)
	}
	return removed, nil
}

// Clean removes the cache of compiled programs: every program and the
// sources of every build, whatever its age. It returns the cache's folder,
// the number of programs removed and the bytes freed.
func Clean() (dir string, programs int, freed int64, err error) {
	dir = CacheDir()
	list, err := entries(dir)
	if err != nil {
		return dir, 0, 0, err
	}
	for _, e := range list {
		if err := os.RemoveAll(filepath.Join(dir, e.name)); err != nil {
			return dir, programs, freed, err
		}
		if e.finished {
			programs++
		}
		freed += e.size
	}
	os.Remove(dir) // when nothing else is left in it
	return dir, programs, freed, nil
}
