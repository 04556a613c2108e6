//go:build unix && !linux

package worker

import "syscall"

// sysProcAttr puts a worker in its own process group, so that a kill reaches
// everything the function started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// setThreadNice and started do nothing: nice belongs to the process and
// there is no OOM score outside Linux.
func setThreadNice(int) {}

func started(int, int64) {}
