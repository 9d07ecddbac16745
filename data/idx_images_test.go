package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadIDXImages(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		body []byte
	}{
		{"plain", testImages},
		{"gzipped", gzipped(testImages)},
	} {
		path := filepath.Join(dir, tt.name)
		if err := os.WriteFile(path, tt.body, 0o644); err != nil {
			t.Fatal(err)
		}
		ds, err := LoadIDXImages(path)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if ds.N != 3 || ds.Features != 6 || ds.Labels != nil || ds.Targets != nil || ds.Name != tt.name {
			t.Errorf("%s: got N=%d Features=%d Labels=%v Targets=%v Name=%q", tt.name, ds.N, ds.Features, ds.Labels, ds.Targets, ds.Name)
		}
		x := features(ds)
		for i, p := range testPixels {
			if x[i] != float32(p)/255 {
				t.Fatalf("%s: feature %d = %v, want %v", tt.name, i, x[i], float32(p)/255)
			}
		}
	}

	// A label file is not an image file.
	path := filepath.Join(dir, "labels")
	if err := os.WriteFile(path, testLabels, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadIDXImages(path); err == nil || !strings.Contains(err.Error(), "not an IDX image file") {
		t.Errorf("labels as images: got %v", err)
	}
}
