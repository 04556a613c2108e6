package agent

import (
	"os/exec"
	"runtime"
	"sync"
)

// Containers are started with a parent-death signal (Pdeathsig, see
// dieWithAgent) so that they do not outlive the agent's process, however it
// ends. Linux sends that signal when the *thread* that forked the child
// exits, not the process, and the Go runtime ends threads now and then (a
// goroutine that exits while locked to its thread takes the thread with
// it). Forking from an arbitrary goroutine could therefore kill a healthy
// container at a random moment. Every container process is forked by one
// goroutine locked to its thread for the life of the process instead: that
// thread ends only with the process.

type forkRequest struct {
	cmd  *exec.Cmd
	done chan error
}

var forker struct {
	once     sync.Once
	requests chan forkRequest
}

// startContainerProcess starts cmd on the forker thread.
func startContainerProcess(cmd *exec.Cmd) error {
	forker.once.Do(func() {
		forker.requests = make(chan forkRequest)
		go runForker(forker.requests)
	})
	req := forkRequest{cmd: cmd, done: make(chan error, 1)}
	forker.requests <- req
	return <-req.done
}

func runForker(requests <-chan forkRequest) {
	// Never unlocked, and the goroutine never returns: the thread must live
	// as long as any child it forked.
	runtime.LockOSThread()
	for req := range requests {
		req.done <- req.cmd.Start()
	}
}
