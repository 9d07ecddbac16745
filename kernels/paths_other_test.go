//go:build !amd64 || purego

package kernels

import "errors"

// pathMissing says why the kernels of level cannot be tested here: this
// build has no assembly, on purpose (-tags purego, or not amd64).
func pathMissing(level string) (why error, ciMust bool) {
	return errors.New("this build has no assembly kernels (purego, or not amd64)"), false
}
