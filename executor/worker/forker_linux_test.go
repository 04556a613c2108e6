//go:build linux

package worker

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fob-project/fob/sandbox/python"
)

// A worker started from a goroutine whose thread then ends (the runtime
// ends a thread whose goroutine exits while locked to it) lives on: the
// parent-death signal waits for the executor's process.
func TestWorkerSurvivesStartingThread(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = sysProcAttr()
	var err error
	tid := onDisposableThread(func() { err = startOnForker(cmd) })
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	waitThreadGone(t, tid)
	select {
	case <-exited:
		t.Fatalf("worker died with the starting thread: %v", cmd.ProcessState)
	case <-time.After(300 * time.Millisecond):
	}
}

// The same through startProcess, which starts the worker on its caller's
// goroutine: the worker still answers after that goroutine's thread ended.
func TestProcessSurvivesStartingThread(t *testing.T) {
	cmd, _ := testCommand(t, python.Driver(), "def callme(x):\n    return x\n")
	var p *process
	var err error
	tid := onDisposableThread(func() { p, err = startProcess(context.Background(), cmd) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.kill)
	waitThreadGone(t, tid)
	time.Sleep(200 * time.Millisecond)
	kind, payload, err := p.call(callFrame(`{"x": 1}`), time.Now().Add(10*time.Second))
	if err != nil || kind != KindResult {
		t.Fatalf("call after the starting thread ended: %c %s %v", kind, payload, err)
	}
}

func waitThreadGone(t *testing.T, tid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid)); err != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the starting thread did not end")
		}
	}
}

// onDisposableThread runs f on a thread that ends when f returns and
// reports the thread's id. The main thread never ends, so a goroutine
// that lands on it holds it and hands f to another goroutine.
func onDisposableThread(f func()) int {
	done := make(chan struct{})
	var tid int
	var run func()
	run = func() {
		runtime.LockOSThread() // not undone: the thread ends with the goroutine
		if syscall.Gettid() == syscall.Getpid() {
			go run()
			<-done
			runtime.UnlockOSThread()
			return
		}
		defer close(done)
		tid = syscall.Gettid()
		f()
	}
	go run()
	<-done
	return tid
}

// Workers start at the nice value set (behind their executor), with the
// process limit set, and as the OOM killer's first choice; the executor's
// own threads keep their priority.
func TestWorkerPriority(t *testing.T) {
	t.Cleanup(func() { SetNice(0) })
	for _, nice := range []int{19, 0} {
		SetNice(nice)
		cmd := exec.Command("sleep", "30")
		cmd.SysProcAttr = sysProcAttr()
		if err := startOnForker(cmd); err != nil {
			t.Fatal(err)
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if err != nil {
			t.Fatal(err)
		}
		// The fields after the command name in parentheses; nice is the
		// 19th field of the line, the 17th after the name.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if fields[16] != fmt.Sprint(nice) {
			t.Errorf("worker nice %s, want %d", fields[16], nice)
		}
	}
	SetProcessLimit(50)
	t.Cleanup(func() { SetProcessLimit(0) })
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = sysProcAttr()
	if err := startOnForker(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(limits), "\n") {
		if strings.HasPrefix(line, "Max processes") {
			if f := strings.Fields(line); len(f) < 4 || f[2] != "50" || f[3] != "50" {
				t.Errorf("worker %q, want 50 processes", line)
			}
		}
	}
	adj, err := os.ReadFile(fmt.Sprintf("/proc/%d/oom_score_adj", cmd.Process.Pid))
	if err != nil || strings.TrimSpace(string(adj)) != workerOOMScoreAdj {
		t.Errorf("worker oom_score_adj %q (%v), want %s", adj, err, workerOOMScoreAdj)
	}
	if prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0); err != nil || 20-prio != 0 {
		t.Errorf("the caller's thread has nice %d (%v), want 0", 20-prio, err)
	}
}
