//go:build !amd64 || purego

package kernels

// attentionStepAsm reports that it did nothing: this build has no
// assembly kernels.
func attentionStepAsm[T Float](out, p, q, k, v []T, count, s, e, ev, width int, scale T) bool {
	return false
}
