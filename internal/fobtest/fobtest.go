// Package fobtest holds what the end-to-end test packages share: the real
// fob binary, built once per test binary (the tests run it, or its
// executor, as separate processes), and free loopback addresses.
package fobtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Main builds the fob command in cmdDir (relative to the test's package)
// into a temporary directory, stores its path in *bin, runs the tests and
// exits with their code. Call it from TestMain.
func Main(m *testing.M, cmdDir string, bin *string) {
	dir, err := os.MkdirTemp("", "fob-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*bin = filepath.Join(dir, "fob")
	build := exec.Command("go", "build", "-o", *bin, cmdDir)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build fob:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// FreeAddr returns a loopback address that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
