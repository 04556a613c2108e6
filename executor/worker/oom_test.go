package worker

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fob-project/fob/sandbox/python"
)

// selfKill dies of SIGKILL on request, as a worker the OOM killer picks
// does; exit ends it with a status instead.
const selfKill = `
import os, signal
def callme(kill=False, exit=False):
    if kill:
        os.kill(os.getpid(), signal.SIGKILL)
    if exit:
        os._exit(1)
    return 1
`

// TestPoolOOMKills feeds the pool a fake cgroup counter: a SIGKILL while
// the count grows is a memory-limit kill; a SIGKILL without it, or an exit
// while it grows, is an ordinary lost worker; without a counter the error
// still names the limit as the likely cause.
func TestPoolOOMKills(t *testing.T) {
	var kills atomic.Int64
	counter := func() (int64, error) { return kills.Load(), nil }
	cases := []struct {
		name      string
		counter   func() (int64, error)
		params    string
		oomBefore bool
		oom       bool
		errHas    []string
		errLacks  string
	}{
		{"oom kill", counter, `{"kill": true}`, true, true, []string{"exceeded its memory limit of 64 MB"}, ""},
		{"sigkill without oom", counter, `{"kill": true}`, false, false, []string{"killed by SIGKILL"}, "memory"},
		{"exit while the count grows", counter, `{"exit": true}`, true, false, []string{"exited with status 1"}, "memory"},
		{"the grown count is not blamed twice", counter, `{"kill": true}`, false, false, []string{"killed by SIGKILL"}, "memory"},
		{"no counter", nil, `{"kill": true}`, false, false, []string{"killed by SIGKILL", "memory limit of 64 MB"}, ""},
		{"unreadable counter", func() (int64, error) { return 0, errors.New("gone") }, `{"kill": true}`, true, false,
			[]string{"killed by SIGKILL", "memory limit of 64 MB"}, ""},
	}
	p, _, err := startTestPool(t, python.Driver(), selfKill, Config{Size: 1, CallTimeout: 5 * time.Second, OOMKills: counter, MemoryLimitMB: 64})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pool := p
			if c.counter == nil || c.name == "unreadable counter" {
				pool, _, err = startTestPool(t, python.Driver(), selfKill, Config{Size: 1, CallTimeout: 5 * time.Second, OOMKills: c.counter, MemoryLimitMB: 64})
				if err != nil {
					t.Fatal(err)
				}
			}
			if c.oomBefore {
				kills.Add(1)
			}
			_, _, err := pool.Call(context.Background(), callFrame(c.params))
			var mle *MemoryLimitError
			if got := errors.As(err, &mle); got != c.oom {
				t.Fatalf("err = %v; memory-limit error = %v, want %v", err, got, c.oom)
			}
			if !errors.Is(err, ErrWorkerLost) {
				t.Errorf("err = %v, want it to wrap ErrWorkerLost", err)
			}
			for _, s := range c.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("err = %q, want it to mention %q", err, s)
				}
			}
			if c.errLacks != "" && strings.Contains(err.Error(), c.errLacks) {
				t.Errorf("err = %q, should not mention %q", err, c.errLacks)
			}
			// The worker is replaced either way.
			if kind, payload, err := pool.Call(context.Background(), callFrame(`{}`)); err != nil || kind != KindResult || string(payload) != "1" {
				t.Errorf("call after the kill: %q %s %v", kind, payload, err)
			}
		})
	}
}
