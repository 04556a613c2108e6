package worker

import (
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
)

// Workers are started with a parent-death signal (sysproc_linux.go) so
// that none outlives its executor. Linux sends that signal when the
// *thread* that forked the worker exits, not the executor's process, and
// the Go runtime ends threads now and then (a goroutine that exits while
// locked to its thread takes the thread with it, as a library may do).
// Forking from whatever thread a caller's goroutine runs on could thus
// kill a healthy worker mid-call. Every worker is forked by a goroutine
// locked to its thread for the life of the executor instead: that thread
// ends only with the process. (The embedded Mesos agent does the same
// for executors; the two packages share no code by design.)
//
// A thread's nice value passes to what it forks, so there is one forker
// per nice value workers have been started with (SetNice): in practice
// one, the executor's settings being fixed at its start.

type forkRequest struct {
	cmd  *exec.Cmd
	done chan error
}

var forkers struct {
	mu     sync.Mutex
	nice   int // of the workers started from now on
	byNice map[int]chan<- forkRequest
}

// processLimit is the RLIMIT_NPROC workers get, 0 for none.
var processLimit atomic.Int64

// SetProcessLimit limits workers started from now on to n processes and
// threads of their uid (RLIMIT_NPROC; 0 for no limit). An executor that
// runs as a uid of its own, in a pids cgroup it shares with its workers,
// sets it below the cgroup's limit: a fork bomb then stops at its own
// limit and leaves the executor the threads it needs, where the cgroup's
// limit would make the Go runtime end the executor, and with it the
// instance.
func SetProcessLimit(n int) { processLimit.Store(int64(max(n, 0))) }

// SetNice makes the workers started from now on run at nice value n (0
// to 19, lower priority the higher) relative to their executor. An
// executor that shares its cgroups with its workers, as in an isolated
// container, uses it to keep enough of their CPU quota to enforce
// deadlines on a function that forks hundreds of processes; on a shared
// host it would rank the workers below everything else, so it is 0 by
// default.
func SetNice(n int) {
	forkers.mu.Lock()
	forkers.nice = min(max(n, 0), 19)
	forkers.mu.Unlock()
}

// startOnForker starts cmd on the forker thread of the current nice
// value. Starts are serialised, which costs little: a fork and exec take
// about a millisecond.
func startOnForker(cmd *exec.Cmd) error {
	forkers.mu.Lock()
	requests, ok := forkers.byNice[forkers.nice]
	if !ok {
		ch := make(chan forkRequest)
		if forkers.byNice == nil {
			forkers.byNice = map[int]chan<- forkRequest{}
		}
		forkers.byNice[forkers.nice] = ch
		go runForker(ch, forkers.nice)
		requests = ch
	}
	forkers.mu.Unlock()
	req := forkRequest{cmd: cmd, done: make(chan error, 1)}
	requests <- req
	return <-req.done
}

func runForker(requests <-chan forkRequest, nice int) {
	// Never unlocked, and the goroutine never returns: the thread must live
	// as long as any worker it forked, and it keeps the workers' nice
	// value, which no other goroutine may run with.
	runtime.LockOSThread()
	if nice > 0 {
		setThreadNice(nice)
	}
	for req := range requests {
		err := req.cmd.Start()
		if err == nil {
			started(req.cmd.Process.Pid, processLimit.Load())
		}
		req.done <- err
	}
}
