package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// idxBytes returns an IDX file with the given magic number, dimensions and
// body.
func idxBytes(magic uint32, dims []uint32, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, body...)
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// Three 2x3 images and their labels.
var (
	testPixels = []byte{
		0, 255, 51, 102, 153, 204,
		1, 2, 3, 4, 5, 6,
		255, 255, 255, 0, 0, 0,
	}
	testImages = idxBytes(idxImages, []uint32{3, 2, 3}, testPixels)
	testLabels = idxBytes(idxLabels, []uint32{3}, []byte{4, 0, 9})
)

func TestLoadIDX(t *testing.T) {
	want := &Dataset{
		Name: "images", N: 3, Features: 6, Classes: 10,
		Labels: []int32{4, 0, 9},
	}
	want.Pixels = testPixels
	if x := features(want); x[1] != 1 || x[2] != 0.2 {
		t.Fatalf("scaling: %v", x[:3])
	}
	for _, tt := range []struct {
		name           string
		images, labels []byte
	}{
		{"raw", testImages, testLabels},
		{"gzip", gzipped(testImages), gzipped(testLabels)},
		{"gzip images, raw labels", gzipped(testImages), testLabels},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			images := filepath.Join(dir, "images")
			labels := filepath.Join(dir, "labels")
			os.WriteFile(images, tt.images, 0o666)
			os.WriteFile(labels, tt.labels, 0o666)
			got, err := LoadIDX(images, labels)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("LoadIDX mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadIDXErrors(t *testing.T) {
	mnistHeader := idxBytes(idxImages, []uint32{60000, 28, 28}, make([]byte, 1234*28*28+100))
	tests := []struct {
		name           string
		images, labels []byte
		want           string
	}{
		{"truncated raw", mnistHeader, testLabels,
			"train-images-idx3-ubyte: truncated: header says 60000 images of 28x28, file holds 1234"},
		{"truncated gzip", gzipped(mnistHeader), testLabels,
			"train-images-idx3-ubyte: truncated: header says 60000 images of 28x28, file holds 1234"},
		{"truncated labels", testImages, idxBytes(idxLabels, []uint32{60000}, []byte{1, 2}),
			"train-labels-idx1-ubyte: truncated: header says 60000 labels, file holds 2"},
		{"images and labels swapped", testLabels, testImages,
			"train-images-idx3-ubyte: not an IDX image file: magic number 0x00000801, want 0x00000803"},
		{"labels of another type", testImages, idxBytes(0x00000d01, []uint32{3}, make([]byte, 12)),
			"train-labels-idx1-ubyte: not an IDX label file: magic number 0x00000d01, want 0x00000801"},
		{"not IDX at all", []byte("P5 28 28 255\n..........."), testLabels,
			"train-images-idx3-ubyte: not an IDX image file: magic number 0x50352032, want 0x00000803"},
		{"count mismatch", testImages, idxBytes(idxLabels, []uint32{2}, []byte{1, 2}),
			"train-images-idx3-ubyte has 3 images but train-labels-idx1-ubyte has 2 labels"},
		{"empty", nil, testLabels, "train-images-idx3-ubyte: empty file"},
		{"empty gzip", gzipped(nil), testLabels, "train-images-idx3-ubyte: empty file"},
		{"short header", testImages[:10], testLabels, "train-images-idx3-ubyte: truncated header: 10 of 16 bytes"},
		{"no images", idxBytes(idxImages, []uint32{0, 28, 28}, nil), testLabels, "train-images-idx3-ubyte: no images"},
		{"no labels", testImages, idxBytes(idxLabels, []uint32{0}, nil), "train-labels-idx1-ubyte: no labels"},
		{"empty images", idxBytes(idxImages, []uint32{5, 0, 28}, nil), testLabels,
			"train-images-idx3-ubyte: 5 images of 0x28 are empty"},
		{"trailing data", append(slices.Clone(testImages), 0), testLabels,
			"train-images-idx3-ubyte: header says 3 images of 2x3, but the file holds more"},
		{"trailing data gzip", gzipped(append(slices.Clone(testImages), 0)), testLabels,
			"train-images-idx3-ubyte: header says 3 images of 2x3, but the file holds more"},
		{"cut gzip stream", gzipped(testImages)[:30], testLabels,
			"train-images-idx3-ubyte: truncated: header says 3 images of 2x3, file holds 1"},
		{"gzip stream cut after the data", gzipped(testImages)[:len(gzipped(testImages))-4], testLabels,
			"train-images-idx3-ubyte: truncated gzip data"},
		{"short magic", []byte{0, 0}, testLabels, "train-images-idx3-ubyte: truncated header: 2 of 16 bytes"},
		{"gzip header only", []byte{0x1f, 0x8b}, testLabels,
			"train-images-idx3-ubyte: truncated gzip data"},
		{"bad checksum", corruptChecksum(gzipped(testImages)), testLabels,
			"train-images-idx3-ubyte: gzip: invalid checksum"},
		{"huge header", idxBytes(idxImages, []uint32{1<<32 - 1, 1<<32 - 1, 1<<32 - 1}, make([]byte, 100)), testLabels,
			"train-images-idx3-ubyte: truncated: header says 4294967295 images of 4294967295x4294967295, file holds 0"},
		{"huge header gzip", gzipped(idxBytes(idxImages, []uint32{1<<32 - 1, 1<<32 - 1, 1<<32 - 1}, make([]byte, 100))), testLabels,
			"train-images-idx3-ubyte: truncated: header says 4294967295 images of 4294967295x4294967295, file holds 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			images := filepath.Join(dir, "train-images-idx3-ubyte")
			labels := filepath.Join(dir, "train-labels-idx1-ubyte")
			os.WriteFile(images, tt.images, 0o666)
			os.WriteFile(labels, tt.labels, 0o666)
			_, err := LoadIDX(images, labels)
			if err == nil {
				t.Fatalf("LoadIDX succeeded, want error %q", tt.want)
			}
			// Errors name the files as given; strip the directory.
			if got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""); got != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

// corruptChecksum flips a bit of a gzip stream's CRC-32 trailer.
func corruptChecksum(b []byte) []byte {
	b = slices.Clone(b)
	b[len(b)-8] ^= 1
	return b
}

func TestLoadIDXMissing(t *testing.T) {
	dir := t.TempDir()
	labels := filepath.Join(dir, "labels")
	os.WriteFile(labels, testLabels, 0o666)
	_, err := LoadIDX(filepath.Join(dir, "images"), labels)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing images: error %v, want fs.ErrNotExist", err)
	}
}

// TestLoadIDXBoundedAllocation checks that a header announcing gigabytes
// in a small gzip file (whose size says nothing about its contents) costs
// memory in proportion to the data that is there, not to the header.
func TestLoadIDXBoundedAllocation(t *testing.T) {
	body := make([]byte, 1<<20)
	src := gzipped(idxBytes(idxImages, []uint32{1 << 20, 64, 64}, body)) // 4 GiB announced, 1 MiB held
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := readIDX("big.gz", bytes.NewReader(src), int64(len(src)), idxImages)
	runtime.ReadMemStats(&after)
	if want := "big.gz: truncated: header says 1048576 images of 64x64, file holds 256"; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
		t.Errorf("allocated %d bytes reading 1 MiB", n)
	}
}

func FuzzLoadIDX(f *testing.F) {
	f.Add(testImages, testLabels, true)
	f.Add(gzipped(testImages), gzipped(testLabels), false)
	f.Add(testImages[:20], testLabels, true)
	f.Add(idxBytes(idxImages, []uint32{1, 1, 1}, []byte{7}), idxBytes(idxLabels, []uint32{1}, []byte{200}), true)
	f.Add(idxBytes(idxImages, []uint32{1<<32 - 1, 1<<32 - 1, 2}, []byte{7}), testLabels, false)
	// A few kilobytes of gzip can claim and hold megabytes: keep each run
	// fast.
	defer func(m uint64) { maxIDXBytes = m }(maxIDXBytes)
	maxIDXBytes = 1 << 20
	f.Fuzz(func(t *testing.T, images, labels []byte, sized bool) {
		size := func(b []byte) int64 {
			if sized {
				return int64(len(b))
			}
			return -1
		}
		img, err := readIDX("images", bytes.NewReader(images), size(images), idxImages)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "images") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if !bytes.HasPrefix(images, []byte{0x1f, 0x8b}) && len(img.body) > len(images) {
			t.Fatalf("%d bytes of pixels from a file of %d", len(img.body), len(images))
		}
		lbl, err := readIDX("labels", bytes.NewReader(labels), size(labels), idxLabels)
		if err != nil {
			return
		}
		ds, err := idxDataset(img, lbl)
		if err != nil {
			return
		}
		checkDataset(t, ds)
		for _, v := range features(ds) {
			if v < 0 || v > 1 {
				t.Fatalf("pixel %v outside [0, 1]", v)
			}
		}
	})
}
