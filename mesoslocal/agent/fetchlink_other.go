//go:build !linux

package agent

import "os"

// linkExecutable always copies outside Linux: the safe link needs
// /proc/self/fd (see fetchlink_linux.go).
func linkExecutable(*os.Root, *os.File, string) bool { return false }
