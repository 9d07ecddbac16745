package native

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// fakeEntry writes a cache folder name holding a file of size bytes
// (model.bin when finished), last changed at t.
func fakeEntry(tb testing.TB, dir, name string, size int, finished bool, at time.Time) {
	tb.Helper()
	file := "main.go"
	if finished {
		file = "model.bin"
	}
	path := filepath.Join(dir, name, file)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		tb.Fatal(err)
	}
	for _, p := range []string{path, filepath.Dir(path)} {
		if err := os.Chtimes(p, at, at); err != nil {
			tb.Fatal(err)
		}
	}
}

func listDir(tb testing.TB, dir string) []string {
	tb.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

const (
	keyA = "aaaaaaaaaaaaaaaaaaaaaaaa"
	keyB = "bbbbbbbbbbbbbbbbbbbbbbbb"
	keyC = "cccccccccccccccccccccccc"
	keyD = "dddddddddddddddddddddddd"
	keyE = "eeeeeeeeeeeeeeeeeeeeeeee"
)

// TestTrim checks the cache's eviction: least recently used programs go
// first until the cache fits its bound, the program about to run stays
// even when it alone is over the bound, the remains of a failed build go
// once stale, a build that may be running stays, and files that are not
// nnc's are left alone.
func TestTrim(t *testing.T) {
	now := time.Now()
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	dir := t.TempDir()
	fakeEntry(t, dir, keyA, 100, true, ago(5*time.Hour)) // oldest
	fakeEntry(t, dir, keyB, 100, true, ago(1*time.Hour))
	fakeEntry(t, dir, keyC, 100, true, ago(3*time.Hour))
	fakeEntry(t, dir, keyD, 100, true, ago(10*time.Hour)) // oldest, but about to run
	fakeEntry(t, dir, keyE+".src", 10, false, ago(2*time.Hour))
	fakeEntry(t, dir, keyE, 0, false, ago(time.Minute)) // a build in progress
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	removed, err := trim(dir, 250, keyD, now)
	if err != nil {
		t.Fatal(err)
	}
	// 410 bytes: the stale sources go (400), then A (300), then C (200).
	if want := []string{keyE + ".src", keyA, keyC}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	if got, want := listDir(t, dir), []string{keyB, keyD, keyE, "notes.txt"}; !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}

	// Under its bound, nothing goes; the bound 0 leaves the program kept.
	if removed, _ := trim(dir, 1000, keyD, now); len(removed) != 0 {
		t.Errorf("under the bound: removed %v", removed)
	}
	if removed, _ := trim(dir, 0, keyD, now); !slices.Equal(removed, []string{keyB}) {
		t.Errorf("bound 0: removed %v, want %v", removed, []string{keyB})
	}

	// A missing cache is empty.
	if removed, err := trim(filepath.Join(dir, "none"), 0, "", now); err != nil || removed != nil {
		t.Errorf("missing cache: %v, %v", removed, err)
	}
}

// TestTouch checks that running a program makes it the most recently used.
func TestTouch(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	fakeEntry(t, dir, keyA, 100, true, now.Add(-2*time.Hour))
	fakeEntry(t, dir, keyB, 100, true, now.Add(-1*time.Hour))
	touch(filepath.Join(dir, keyA, "model.bin"))
	if removed, _ := trim(dir, 150, keyC, now); !slices.Equal(removed, []string{keyB}) {
		t.Errorf("removed %v, want %v", removed, []string{keyB})
	}
}

func TestClean(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	if CacheDir() != filepath.Join(cache, "nnc") {
		t.Fatalf("CacheDir() = %s, want it in %s", CacheDir(), cache)
	}
	dir := CacheDir()
	fakeEntry(t, dir, keyA, 1000, true, time.Now())
	fakeEntry(t, dir, keyB, 24, true, time.Now())
	fakeEntry(t, dir, keyC+".src", 10, false, time.Now())
	got, programs, freed, err := Clean()
	if err != nil || got != dir || programs != 2 || freed != 1034 {
		t.Fatalf("Clean() = %s, %d, %d, %v; want %s, 2, 1034, nil", got, programs, freed, err, dir)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the cache folder is still there: %v", err)
	}
	// Again: nothing to remove; a file not nnc's stays, and its folder.
	fakeEntry(t, dir, "other", 5, true, time.Now())
	if _, programs, freed, err := Clean(); err != nil || programs != 0 || freed != 0 {
		t.Errorf("second Clean() = %d, %d, %v; want 0, 0, nil", programs, freed, err)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{"other"}) {
		t.Errorf("left %v, want [other]", got)
	}
}

func TestCacheSize(t *testing.T) {
	for s, want := range map[string]int64{
		"": DefaultCacheSize, "0": 0, "1048576": 1 << 20, "500M": 500 << 20, "2G": 2 << 30,
		"2GiB": 2 << 30, "64k": 64 << 10, "1.5G": -1, "-1": -1, "lots": -1, "M": -1, "99999999999G": -1,
	} {
		t.Setenv("NNC_CACHE_SIZE", s)
		got, err := CacheSize()
		if want < 0 {
			if err == nil {
				t.Errorf("NNC_CACHE_SIZE=%q: %d, want an error", s, got)
			} else if got := err.Error(); got != `NNC_CACHE_SIZE: want a size such as 500M or 2G, got "`+s+`"` {
				t.Errorf("NNC_CACHE_SIZE=%q: error %q", s, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("NNC_CACHE_SIZE=%q: %d, %v; want %d", s, got, err, want)
		}
	}
}
