package checkpoint

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecode checks that Decode never panics, and that whatever it accepts
// survives an Encode and Decode round trip unchanged.
func FuzzDecode(f *testing.F) {
	valid, err := Encode(sample())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	torch, err := os.ReadFile(filepath.Join("testdata", "torch_linear.safetensors"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(torch)
	for _, m := range malformed {
		f.Add(m.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Decode(b)
		if err != nil {
			if file != nil {
				t.Fatal("Decode returned both a File and an error")
			}
			return
		}
		enc, err := Encode(file)
		if err != nil {
			t.Fatalf("Encode of a decoded file: %v", err)
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode of an encoded file: %v", err)
		}
		if diff := cmp.Diff(file, again, exact); diff != "" {
			t.Fatalf("round trip changed the file (-first +second):\n%s", diff)
		}
		enc2, err := Encode(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatal("Encode is not deterministic")
		}
	})
}
