//go:build linux

package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fob-project/fob/executor/memcg"
	"github.com/fob-project/fob/sandbox/python"
)

// realMemoryCgroup makes a memory cgroup limited to limitMB, or skips the
// test where that takes privileges the test does not have.
func realMemoryCgroup(t *testing.T, limitMB int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating a memory cgroup needs root")
	}
	dir, limitFile := "/sys/fs/cgroup/memory", "memory.limit_in_bytes"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		dir, limitFile = "/sys/fs/cgroup", "memory.max"
	}
	dir = filepath.Join(dir, fmt.Sprintf("fob-worker-test-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("no writable memory cgroup hierarchy: %v", err)
	}
	t.Cleanup(func() {
		// The kernel refuses while a process is still inside; the pool's
		// cleanup has killed them by now, give the reaping a moment.
		for range 50 {
			if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("could not remove %s", dir)
	})
	if err := os.WriteFile(filepath.Join(dir, limitFile), []byte(fmt.Sprint(limitMB<<20)), 0o644); err != nil {
		t.Skipf("cannot set a memory limit: %v", err)
	}
	return dir
}

// TestPoolRealOOMKill runs a worker inside a memory cgroup of its own and
// makes it allocate past the limit: the kernel's OOM killer takes it, the
// cgroup's counter says so, and the call fails with a MemoryLimitError
// while the next call gets a fresh worker.
func TestPoolRealOOMKill(t *testing.T) {
	dir := realMemoryCgroup(t, 48)
	cg, err := memcg.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cg.OOMKills(); err != nil {
		t.Skipf("this kernel keeps no oom_kill counter: %v", err)
	}
	code := "def callme(mb):\n    s = 'x' * (mb << 20)\n    return len(s)\n"
	cmd, _ := testCommand(t, python.Driver(), code)
	// The worker joins the cgroup itself before it becomes python, as a
	// worker of an isolated executor starts inside the executor's cgroup.
	cmd.Argv = append([]string{"sh", "-c", `echo $$ > "$0/cgroup.procs" && exec "$@"`, dir}, cmd.Argv...)
	p, err := Start(context.Background(), Config{Command: cmd, Size: 1, CallTimeout: 30 * time.Second, OOMKills: cg.OOMKills, MemoryLimitMB: 48}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	if kind, payload, err := p.Call(context.Background(), callFrame(`{"mb": 1}`)); err != nil || kind != KindResult {
		t.Fatalf("small call: %q %s %v", kind, payload, err)
	}
	_, _, err = p.Call(context.Background(), callFrame(`{"mb": 512}`))
	var mle *MemoryLimitError
	if !errors.As(err, &mle) || mle.LimitMB != 48 || !strings.Contains(err.Error(), "memory limit of 48 MB") {
		t.Fatalf("err = %v, want a MemoryLimitError naming 48 MB", err)
	}
	if kind, payload, err := p.Call(context.Background(), callFrame(`{"mb": 1}`)); err != nil || kind != KindResult || string(payload) != "1048576" {
		t.Fatalf("call after the OOM kill: %q %s %v", kind, payload, err)
	}
}
