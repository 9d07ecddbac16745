//go:build nncdigits && !js

// The native twin of the page's model, for the browser test and for
// comparing latency: it reads inputs of 784 float32 values (little
// endian) from standard input, one after another, and prints each one's
// logits as the hexadecimal bits of their float32 values, and the class.
// With -bench N it times N forward passes of each input and prints the
// time per pass in nanoseconds.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

func main() {
	bench := flag.Int("bench", 0, "time this many forward passes of each input")
	flag.Parse()
	m, err := New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "digits:", err)
		os.Exit(1)
	}
	r := bufio.NewReader(os.Stdin)
	x := make([]float32, InputSize)
	out := make([]float32, OutputSize)
	buf := make([]byte, 4*InputSize)
	for {
		if _, err := io.ReadFull(r, buf); err == io.EOF {
			return
		} else if err != nil {
			fmt.Fprintln(os.Stderr, "digits: reading an input:", err)
			os.Exit(1)
		}
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		}
		if err := m.Forward(out, x, 1); err != nil {
			fmt.Fprintln(os.Stderr, "digits:", err)
			os.Exit(1)
		}
		best := 0
		for i := range out {
			fmt.Printf("%08x ", math.Float32bits(out[i]))
			if out[i] > out[best] {
				best = i
			}
		}
		fmt.Println(best)
		if *bench > 0 {
			t := time.Now()
			for range *bench {
				m.Forward(out, x, 1)
			}
			fmt.Println(time.Since(t).Nanoseconds() / int64(*bench))
		}
	}
}
