//go:build linux

package worker

import "syscall"

// sysProcAttr puts a worker in its own process group, so that a kill reaches
// everything the function started, and has the kernel kill it should the
// executor die first: a worker must never outlive its executor.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
