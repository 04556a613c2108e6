package agent

import (
	"context"
	"fmt"
	"log/slog"
	"syscall"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Containerizer starts containers: an executor, or the command of a command
// task. The agent prepares the sandbox (directories, fetched URIs) before it
// calls Launch, so a containerizer only has to run the process and report
// its end.
type Containerizer interface {
	Launch(ctx context.Context, spec LaunchSpec) (Container, error)
}

// Containerizer kinds: the values of a --containerizer option.
const (
	ContainerizerProcess   = "process"
	ContainerizerSimulated = "simulated"
	ContainerizerDocker    = "docker"
)

// NewContainerizer returns a containerizer of the named kind: "process"
// (the default for an empty kind; isolation as given), "simulated", or
// "docker", which runs DOCKER containers through the docker CLI and the
// others as processes, like Mesos' --containerizers=docker,mesos.
func NewContainerizer(kind string, isolation bool, log *slog.Logger) (Containerizer, error) {
	switch kind {
	case "", ContainerizerProcess:
		return NewProcessContainerizer(isolation, log), nil
	case ContainerizerSimulated:
		return NewSimulatedContainerizer(), nil
	case ContainerizerDocker:
		return &DockerContainerizer{Fallback: NewProcessContainerizer(isolation, log), Log: log}, nil
	}
	return nil, fmt.Errorf("unknown containerizer %q (want %s, %s or %s)", kind,
		ContainerizerProcess, ContainerizerSimulated, ContainerizerDocker)
}

// LaunchSpec is everything a containerizer needs to start one container.
type LaunchSpec struct {
	ContainerID string
	FrameworkID mesos.FrameworkID
	ExecutorID  mesos.ExecutorID
	// Sandbox is the host directory the process runs in; it exists and
	// already holds the fetched URIs (except for the simulated
	// containerizer, which runs nothing).
	Sandbox string
	// WorkDir is the agent's work directory, which holds every sandbox;
	// an isolated container sees nothing of it but its own sandbox.
	WorkDir string
	// Path is the program to run (looked up in the agent's PATH when it has
	// no slash); Argv is its full argument vector including argv[0].
	// Shell commands arrive as /bin/sh, [sh -c <value>].
	Path string
	Argv []string
	// Env is the complete environment, KEY=VALUE.
	Env []string
	// ImageEnv is Env without the agent process's own environment: what
	// a container running an image of its own gets.
	ImageEnv []string
	// Resources are the executor's plus its tasks' resources, the basis
	// for limits.
	Resources mesos.Resources
	// Container is the ContainerInfo of the executor (or command task),
	// if any.
	Container *mesos.ContainerInfo
	// Command is the CommandInfo Path and Argv come from; a docker
	// container reads it the way the Mesos docker containerizer does.
	// Path is empty when a docker container runs its image's command.
	Command *mesos.CommandInfo
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

// Limitation says that a resource limit ended a container, as the Mesos
// containerizer reports it: the agent fails the container's unfinished
// tasks with this reason and message instead of REASON_EXECUTOR_TERMINATED.
type Limitation struct {
	Reason  mesos.TaskStatus_Reason
	Message string
}

// LimitationReporter is implemented by containers that can tell that a
// resource limit ended them. Limitation is read after Done; nil means no
// limit was involved.
type LimitationReporter interface {
	Limitation() *Limitation
}

// minMemoryBytes is Mesos' MIN_MEMORY: no container gets less.
const minMemoryBytes = 32 << 20

// limits are what a container may use, from its resources.
type limits struct {
	memBytes int64
	cpus     float64
	pidsMax  int
}

// limitsFor derives a container's limits from its resources; pidsMax 0
// means the default (see pidsPerMB).
func limitsFor(res mesos.Resources, pidsMax int) limits {
	l := limits{pidsMax: pidsMax}
	for _, r := range res {
		if r.Scalar == nil {
			continue
		}
		switch r.Name {
		case "mem":
			l.memBytes += int64(r.Scalar.Value * (1 << 20))
		case "cpus":
			l.cpus += r.Scalar.Value
		}
	}
	if l.memBytes > 0 && l.memBytes < minMemoryBytes {
		l.memBytes = minMemoryBytes
	}
	if l.pidsMax <= 0 {
		l.pidsMax = DefaultPidsMax
		if l.memBytes > 0 {
			l.pidsMax = min(max(int(l.memBytes>>20)*pidsPerMB, minPidsMax), DefaultPidsMax)
		}
	}
	return l
}
