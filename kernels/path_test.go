package kernels

import "testing"

// TestPath checks that Path names the kernels the flags select.
func TestPath(t *testing.T) {
	avx, avx2 := hasAVX512, hasAVX2
	defer func() { hasAVX512, hasAVX2 = avx, avx2 }()
	for _, c := range []struct {
		avx512, avx2 bool
		want         string
	}{{true, true, "avx512"}, {false, true, "avx2"}, {false, false, "portable"}} {
		hasAVX512, hasAVX2 = c.avx512, c.avx2
		if got := Path(); got != c.want {
			t.Errorf("avx512=%v avx2=%v: Path() = %q, want %q", c.avx512, c.avx2, got, c.want)
		}
	}
}
