//go:build linux

package worker

import (
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr puts a worker in its own process group, so that a kill reaches
// everything the function started, and has the kernel kill it should the
// executor die first: a worker must never outlive its executor. The
// signal is tied to the forking thread, hence the forker (forker.go).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// workerOOMScoreAdj makes the OOM killer take workers (and all they
// fork) before their executor: in a container they share its memory
// cgroup, and the executor, the largest single process beside a small
// worker, would otherwise be a likely victim and take the whole instance
// with it. On a shared host it makes functions the first to go, too.
const workerOOMScoreAdj = "1000"

// setThreadNice gives the calling thread, a forker's, nice value n: on
// Linux nice belongs to a thread and a child starts with its forking
// thread's, so every worker starts with it and there is no moment at
// which one runs at the executor's priority.
func setThreadNice(n int) {
	// who 0 is the calling thread on Linux, not the process.
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, 0, n)
}

// started runs right after a worker's exec. oom_score_adj and rlimits
// belong to the process, so they are set here, not inherited from the
// executor; the worker is still starting its interpreter, long before it
// loads the function's code. nproc > 0 is its RLIMIT_NPROC.
func started(pid int, nproc int64) {
	if nproc > 0 {
		lim := unix.Rlimit{Cur: uint64(nproc), Max: uint64(nproc)}
		_ = unix.Prlimit(pid, unix.RLIMIT_NPROC, &lim, nil)
	}
	f, err := os.OpenFile("/proc/"+strconv.Itoa(pid)+"/oom_score_adj", os.O_WRONLY, 0)
	if err != nil {
		return
	}
	_, _ = f.WriteString(workerOOMScoreAdj)
	_ = f.Close()
}
