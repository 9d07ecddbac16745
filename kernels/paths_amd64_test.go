//go:build amd64 && !purego

package kernels

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/cpu"
)

// pathMissing says why the kernels of level ("avx512", "avx2") cannot be
// tested here, and whether CI must test them: it must unless NNC_KERNELS
// turns them off on purpose.
func pathMissing(level string) (why error, ciMust bool) {
	if !kernelsAllowed(level) {
		return errors.New("NNC_KERNELS=" + os.Getenv("NNC_KERNELS") + " turns them off"), false
	}
	switch {
	case level == "avx512" && !(cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL):
		return errors.New("this CPU has no AVX-512 F and VL"), true
	case level == "avx2" && !(cpu.X86.HasAVX2 && cpu.X86.HasFMA):
		return errors.New("this CPU has no AVX2 and FMA"), true
	}
	return nil, false
}

// TestTransposeRows checks the transposition of sgemmNNt (8×8 blocks in
// registers, the rest element by element) against its definition, on
// sizes with and without whole blocks and rows with gaps between them.
func TestTransposeRows(t *testing.T) {
	if !cpu.X86.HasAVX {
		t.Skip("this CPU has no AVX")
	}
	rng := newRNG()
	for _, s := range [][3]int{{8, 8, 8}, {64, 64, 64}, {256, 64, 64}, {80, 64, 70}, {13, 21, 21}, {16, 9, 12}, {7, 30, 30}} {
		n, k, ldb := s[0], s[1], s[2]
		b := randSlice[float32](rng, (n-1)*ldb+k, -1, 1)
		bt := make([]float32, n*k)
		transposeRows(bt, b, n, k, ldb)
		for j := range n {
			for p := range k {
				if bt[p*n+j] != b[j*ldb+p] {
					t.Fatalf("n=%d k=%d ldb=%d: bt[%d][%d] = %v, want %v", n, k, ldb, p, j, bt[p*n+j], b[j*ldb+p])
				}
			}
		}
	}
}
