// Command kernelgen writes interp/kernels_gen.go from package kernels:
// run `go generate ./interp` after adding or changing a kernel.
package main

import (
	"fmt"
	"os"

	"github.com/nnc-go/nnc/internal/kernelgen"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: kernelgen KERNELS_DIR OUT.go")
		os.Exit(2)
	}
	ks, err := kernelgen.Scan(os.Args[1])
	if err == nil {
		var src []byte
		if src, err = kernelgen.Generate(ks); err == nil {
			err = os.WriteFile(os.Args[2], src, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kernelgen:", err)
		os.Exit(1)
	}
}
