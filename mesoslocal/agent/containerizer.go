package agent

import (
	"context"
	"syscall"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Containerizer starts containers: an executor, or the command of a command
// task. The agent prepares the sandbox (directories, fetched URIs) before it
// calls Launch, so a docker or a simulated containerizer only has to run the
// process and report its end.
type Containerizer interface {
	Launch(ctx context.Context, spec LaunchSpec) (Container, error)
}

// LaunchSpec is everything a containerizer needs to start one container.
type LaunchSpec struct {
	ContainerID string
	FrameworkID mesos.FrameworkID
	ExecutorID  mesos.ExecutorID
	// Sandbox is the host directory the process runs in; it exists and
	// already holds the fetched URIs.
	Sandbox string
	// Path is the program to run (looked up in the agent's PATH when it has
	// no slash); Argv is its full argument vector including argv[0].
	// Shell commands arrive as /bin/sh, [sh -c <value>].
	Path string
	Argv []string
	// Env is the complete environment, KEY=VALUE.
	Env []string
	// Resources are the executor's plus its tasks' resources, the basis
	// for limits.
	Resources mesos.Resources
	// Container is the ContainerInfo of the executor (or command task),
	// if any.
	Container *mesos.ContainerInfo
	// User is CommandInfo.user, if set.
	User string
}

// Container is one running container.
type Container interface {
	// Signal delivers sig to every process of the container.
	Signal(sig syscall.Signal) error
	// Destroy kills every process of the container; it is idempotent and
	// returns without waiting for Done.
	Destroy() error
	// Done is closed once the container's main process has exited and the
	// rest of the container has been killed.
	Done() <-chan struct{}
	// WaitStatus is the raw wait status of the main process, valid after
	// Done; -1 when unknown.
	WaitStatus() int
}
