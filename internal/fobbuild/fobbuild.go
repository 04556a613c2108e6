// Package fobbuild builds the real fob binary once for a package's
// end-to-end tests, which run it (or its executor) as separate processes.
package fobbuild

import (
	"fmt"
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
