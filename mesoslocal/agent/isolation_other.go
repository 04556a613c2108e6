//go:build !linux

package agent

import (
	"log/slog"
	"os/exec"
	"sync"
	"syscall"
)

// isolator is a no-op outside Linux: namespaces and cgroups do not exist.
type isolator struct {
	log  *slog.Logger
	once sync.Once
}

type isolation struct{}

func newIsolator(log *slog.Logger, _ int, _ int64) *isolator { return &isolator{log: log} }

func (i *isolator) prepare(LaunchSpec, *exec.Cmd) (*isolation, error) {
	i.once.Do(func() { i.log.Warn("isolation is only supported on Linux; nothing is enforced") })
	return nil, nil
}

func (s *isolation) started(int) error { return nil }

func (s *isolation) limitation(int) *Limitation { return nil }

func (s *isolation) killed() {}

func (s *isolation) release() {}

// dieWithAgent does nothing: only Linux has a parent-death signal.
func dieWithAgent(*syscall.SysProcAttr) {}
