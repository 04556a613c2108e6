//go:build linux

package agent

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// The thread that forked a container may end (the runtime ends a thread
// whose goroutine exits while locked to it) without taking the container
// with it: the parent-death signal must wait for the agent's process.
func TestContainerSurvivesLaunchingThread(t *testing.T) {
	pc := NewProcessContainerizer(false, nil)
	sandbox := t.TempDir()
	var c Container
	var err error
	tid := onDisposableThread(func() {
		c, err = pc.Launch(context.Background(), LaunchSpec{
			ContainerID: "c1", Sandbox: sandbox, Path: "/bin/sh", Argv: []string{"sh", "-c", "exec sleep 30"},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Destroy(); <-c.Done() })
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid)); err != nil {
			break // the launching thread is gone
		}
		if time.Now().After(deadline) {
			t.Fatal("the launching thread did not end")
		}
	}
	select {
	case <-c.Done():
		t.Fatalf("container died with the launching thread; wait status %d", c.WaitStatus())
	case <-time.After(300 * time.Millisecond):
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
