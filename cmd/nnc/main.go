// Command nnc checks, trains and compiles neural-network models written in
// the nnc language. Run `nnc help` for the commands.
package main

import "os"

func main() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) }
