package worker

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fob-project/fob/sandbox"
)

// waitingCommand writes the driver's shim into a fresh sandbox and returns
// the command that starts a worker there without code, and the sandbox.
func waitingCommand(t testing.TB, d sandbox.Driver) (Command, string) {
	t.Helper()
	if _, err := exec.LookPath(d.WaitCommand[0]); err != nil {
		t.Skipf("%s not installed", d.WaitCommand[0])
	}
	dir := t.TempDir()
	shim := filepath.Join(dir, d.ShimName)
	if err := os.WriteFile(shim, d.Shim, 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.OpenFile(filepath.Join(dir, "function.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	argv := make([]string, len(d.WaitCommand))
	for i, a := range d.WaitCommand {
		argv[i] = strings.ReplaceAll(a, "{shim}", shim)
	}
	return Command{Argv: argv, Dir: dir, Log: log}, dir
}

// writeCode writes code where a load request can name it.
func writeCode(t testing.TB, dir string, d sandbox.Driver, code string) string {
	t.Helper()
	path := filepath.Join(dir, "function"+d.Extension)
	if err := os.WriteFile(path, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func startWaitingPool(t testing.TB, d sandbox.Driver, size int) (*Pool, string) {
	t.Helper()
	cmd, dir := waitingCommand(t, d)
	p, err := Start(context.Background(), Config{Command: cmd, Size: size, CallTimeout: 5 * time.Second, Waiting: true}, nil)
	if err != nil {
		t.Fatalf("start a waiting pool: %v", err)
	}
	t.Cleanup(p.Close)
	return p, dir
}

const (
	pythonWho = "import os, time\n\ndef callme(op='who', a=0):\n    if op == 'sleep':\n        time.sleep(a)\n    if op == 'crash':\n        os._exit(7)\n    return os.environ.get('FOB_FUNCTION_ID')\n"
	nodeWho   = "exports.callme = async ({op = 'who', a = 0}) => {\n  if (op === 'sleep') await new Promise((r) => setTimeout(r, a * 1000));\n  if (op === 'crash') process.exit(7);\n  return process.env.FOB_FUNCTION_ID;\n};\n"
)

func TestWaitingPoolLoads(t *testing.T) {
	codes := map[string]string{"python": pythonWho, "node": nodeWho}
	for name, d := range drivers() {
		t.Run(name, func(t *testing.T) {
			p, dir := startWaitingPool(t, d, 1)
			if _, _, err := p.Call(context.Background(), callFrame(`{}`)); !errors.Is(err, ErrNotLoaded) {
				t.Fatalf("call before the load: %v, want ErrNotLoaded", err)
			}
			req := LoadRequest{Code: writeCode(t, dir, d, codes[name]), Env: map[string]string{"FOB_FUNCTION_ID": "fn-7"}}
			if err := p.Load(context.Background(), req, LoadConfig{Size: 3, CallTimeout: 4 * time.Second}); err != nil {
				t.Fatalf("load: %v", err)
			}
			if p.Size() != 3 {
				t.Errorf("size after the load = %d, want 3", p.Size())
			}
			kind, payload, err := p.Call(context.Background(), callFrame(`{}`))
			if err != nil || kind != KindResult || string(payload) != `"fn-7"` {
				t.Fatalf("call = %c %s %v, want the function's id from its environment", kind, payload, err)
			}

			// The pool grew: three slow calls run side by side.
			start := time.Now()
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() {
					if kind, payload, err := p.Call(context.Background(), callFrame(`{"op":"sleep","a":0.5}`)); err != nil || kind != KindResult {
						t.Errorf("sleep call = %c %s %v", kind, payload, err)
					}
				})
			}
			wg.Wait()
			if took := time.Since(start); took > 1400*time.Millisecond {
				t.Errorf("three 0.5 s calls took %v on three workers", took)
			}

			// A worker that dies is replaced by one that has the code too.
			if _, _, err := p.Call(context.Background(), callFrame(`{"op":"crash"}`)); !errors.Is(err, ErrWorkerLost) {
				t.Fatalf("crash call: %v, want ErrWorkerLost", err)
			}
			for range 6 {
				if kind, payload, err := p.Call(context.Background(), callFrame(`{}`)); err != nil || string(payload) != `"fn-7"` {
					t.Fatalf("call after a crash = %c %s %v", kind, payload, err)
				}
			}
			if err := p.Load(context.Background(), req, LoadConfig{}); err == nil {
				t.Error("a second load succeeded")
			}
		})
	}
}

func TestWaitingPoolLoadErrors(t *testing.T) {
	broken := map[string]string{
		"python": "def callme(:\n",
		"node":   "exports.callme = ({a}) => {\n  return a +;\n};\n",
	}
	for name, d := range drivers() {
		t.Run(name, func(t *testing.T) {
			p, dir := startWaitingPool(t, d, 2)
			err := p.Load(context.Background(), LoadRequest{Code: writeCode(t, dir, d, broken[name])}, LoadConfig{Size: 2})
			var le *LoadError
			if !errors.As(err, &le) || le.Exception.Type != "SyntaxError" {
				t.Fatalf("load = %v, want a SyntaxError LoadError", err)
			}
			if _, _, err := p.Call(context.Background(), callFrame(`{}`)); !errors.Is(err, ErrNotLoaded) {
				t.Errorf("call after a failed load: %v, want ErrNotLoaded", err)
			}
		})
	}
}

// TestWaitingWorkerDiedBeforeLoad: a stem's worker that died while it
// waited is started again by Load.
func TestWaitingWorkerDiedBeforeLoad(t *testing.T) {
	d := drivers()["python"]
	p, dir := startWaitingPool(t, d, 1)
	p.slots[0].get().kill()
	if err := p.Load(context.Background(), LoadRequest{Code: writeCode(t, dir, d, pythonWho)}, LoadConfig{Size: 1}); err != nil {
		t.Fatalf("load: %v", err)
	}
	if kind, _, err := p.Call(context.Background(), callFrame(`{}`)); err != nil || kind != KindResult {
		t.Fatalf("call = %c %v", kind, err)
	}
}

func TestWaitingModeMismatch(t *testing.T) {
	d := drivers()["python"]
	t.Run("waiting command in an ordinary pool", func(t *testing.T) {
		cmd, _ := waitingCommand(t, d)
		if p, err := Start(context.Background(), Config{Command: cmd}, nil); err == nil {
			p.Close()
			t.Fatal("a pool whose workers wait for code started as a loaded one")
		}
	})
	t.Run("code on the command line of a waiting pool", func(t *testing.T) {
		cmd, _ := testCommand(t, d, pythonWho)
		if p, err := Start(context.Background(), Config{Command: cmd, Waiting: true}, nil); err == nil {
			p.Close()
			t.Fatal("a waiting pool started with workers that loaded code")
		}
	})
	t.Run("load into an ordinary pool", func(t *testing.T) {
		p, _, err := startTestPool(t, d, pythonWho, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Load(context.Background(), LoadRequest{Code: "x"}, LoadConfig{}); err == nil {
			t.Fatal("loaded code into a pool started with its code")
		}
	})
}
