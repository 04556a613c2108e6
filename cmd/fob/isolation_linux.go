//go:build linux

package main

import (
	"fmt"
	"os/exec"
	"syscall"
)

// probeNamespaces starts a shell (the agent's containers start with one)
// in the namespaces an isolated container gets: that it starts at all is
// the answer.
func probeNamespaces() error {
	cmd := exec.Command("/bin/sh", "-c", "exit 0")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS,
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start a process in new namespaces: %w", err)
	}
	_ = cmd.Wait()
	return nil
}
