package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestClientVerbs drives `fob gen`, `fob call`, `fob ls` and `fob rm`
// against a running `fob local`.
func TestClientVerbs(t *testing.T) {
	f := startFob(t)
	run := func(args ...string) (string, error) {
		cmd := exec.Command(fobBinary, args...)
		cmd.Env = append(os.Environ(), "FOB_API="+f.URL)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	file := filepath.Join(t.TempDir(), "add.py")
	if err := os.WriteFile(file, []byte(addCode), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run("gen", "--name", "adder", "--wait", file)
	if err != nil || !strings.Contains(out, `"state":"running"`) {
		t.Fatalf("fob gen: %v\n%s", err, out)
	}
	out, err = run("call", "adder", "param1=2", "param2=3")
	if err != nil || !strings.Contains(out, `"result":5`) {
		t.Fatalf("fob call: %v\n%s", err, out)
	}
	out, err = run("call", "--json", `{"param1": 4, "param2": 4}`, "adder")
	if err != nil || !strings.Contains(out, `"result":8`) {
		t.Fatalf("fob call --json: %v\n%s", err, out)
	}
	out, err = run("ls")
	if err != nil || !strings.Contains(out, "adder") || !strings.Contains(out, "running") {
		t.Fatalf("fob ls: %v\n%s", err, out)
	}
	if out, err = run("rm", "adder"); err != nil {
		t.Fatalf("fob rm: %v\n%s", err, out)
	}
	out, err = run("call", "adder")
	if err == nil || !strings.Contains(out, "404") {
		t.Fatalf("fob call after rm: %v\n%s", err, out)
	}
}
