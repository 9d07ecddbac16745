//go:build amd64 && !purego

package kernels

import (
	"errors"
	"os"

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
