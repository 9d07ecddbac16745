package kernels

// Path returns the kernels this process runs, as the CPU and NNC_KERNELS
// select them: "avx512", "avx2" or "portable".
func Path() string {
	switch {
	case hasAVX512:
		return "avx512"
	case hasAVX2:
		return "avx2"
	}
	return "portable"
}
