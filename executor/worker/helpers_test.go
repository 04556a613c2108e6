package worker

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fob-project/fob/sandbox"
	"github.com/fob-project/fob/sandbox/node"
	"github.com/fob-project/fob/sandbox/python"
)

func drivers() map[string]sandbox.Driver {
	return map[string]sandbox.Driver{"python": python.Driver(), "node": node.Driver()}
}

// testCommand writes the driver's shim and code into a fresh sandbox and
// returns the command that runs a worker there, plus the log's path.
func testCommand(t testing.TB, d sandbox.Driver, code string) (Command, string) {
	t.Helper()
	if _, err := exec.LookPath(d.Command[0]); err != nil {
		t.Skipf("%s not installed", d.Command[0])
	}
	dir := t.TempDir()
	shim := filepath.Join(dir, d.ShimName)
	codePath := filepath.Join(dir, "function"+d.Extension)
	if err := os.WriteFile(shim, d.Shim, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(codePath, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "function.log")
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	argv := make([]string, len(d.Command))
	for i, a := range d.Command {
		a = strings.ReplaceAll(a, "{shim}", shim)
		argv[i] = strings.ReplaceAll(a, "{code}", codePath)
	}
	return Command{Argv: argv, Dir: dir, Log: log}, logPath
}

func startTestPool(t testing.TB, d sandbox.Driver, code string, cfg Config) (*Pool, string, error) {
	t.Helper()
	cmd, logPath := testCommand(t, d, code)
	cfg.Command = cmd
	p, err := Start(context.Background(), cfg, nil)
	if err == nil {
		t.Cleanup(p.Close)
	}
	return p, logPath, err
}

func callFrame(params string) []byte {
	buf := make([]byte, HeaderSize, HeaderSize+len(params))
	buf = append(buf, params...)
	SealFrame(buf, KindCall)
	return buf
}
