//go:build amd64 && !purego

package kernels

import "unsafe"

//go:noescape
func sattnScores(q, k, p unsafe.Pointer, width, e int, scale float32)

//go:noescape
func sattnMix(p, v, out unsafe.Pointer, width, ev int)

// attentionStepAsm is AttentionStep for float32 with the AVX-512 kernels
// of kvcache_amd64.s, each head's scores and mix in one call over only
// the width rows up to the position (no product routed through Gemm for
// one row), and reports whether it ran: not without AVX-512. The sizes
// are checked.
func attentionStepAsm[T Float](out, p, q, k, v []T, count, s, e, ev, width int, scale T) bool {
	o32, ok := any(out).([]float32)
	if !ok || !hasAVX512 || count == 0 {
		return false
	}
	p32, q32, k32, v32 := any(p).([]float32), any(q).([]float32), any(k).([]float32), any(v).([]float32)
	for i := range count {
		pi := p32[i*s : (i+1)*s]
		sattnScores(unsafe.Pointer(&q32[i*e]), unsafe.Pointer(&k32[i*s*e]), unsafe.Pointer(&pi[0]), width, e, float32(scale))
		softmaxRow(pi, width)
		if ev > 0 {
			sattnMix(unsafe.Pointer(&pi[0]), unsafe.Pointer(&v32[i*s*ev]), unsafe.Pointer(&o32[i*ev]), width, ev)
		}
	}
	return true
}
