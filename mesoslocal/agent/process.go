package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
)

// Environment variables an isolated container's executor finds its cgroup
// directories in: the memory one holds the OOM kill count (oom_kill in
// memory.oom_control on cgroup v1, memory.events on v2), so an executor
// can tell a worker the kernel killed for memory from one that crashed.
const (
	EnvCgroupMemory = "FOB_CGROUP_MEMORY"
	EnvCgroupPids   = "FOB_CGROUP_PIDS"
)

// Defaults of the isolation limits that do not come from resources.
const (
	DefaultPidsMax    = 4096
	DefaultTmpfsBytes = 64 << 20 // per private /tmp, /var/tmp, /dev/shm
)

// Without a PidsMax, an isolated container with a memory limit may have
// pidsPerMB processes and threads per MB of it, between minPidsMax and
// DefaultPidsMax. Every process costs its memory cgroup something (page
// tables, a kernel stack, the pages it dirties; about 170 KB for a forked
// python3), so a pids limit above what the memory can hold never binds:
// a fork bomb then presses on the memory limit instead, where every fork
// drives reclaim and the OOM killer, and the whole container, executor
// included, crawls at its CPU quota. A python3 fork bomb in a 160 MB
// container under a 4096 limit reached 940 processes and took minutes to
// die even after SIGKILL. At 2 per MB the pids limit binds first, at a
// third of the memory.
const (
	pidsPerMB  = 2
	minPidsMax = 64
)

// ProcessContainerizer runs each container as a child process of the agent
// in its own process group, so that signals and kills reach every process
// the executor starts (a worker it forks, say). The first process of every
// container gets SIGKILL from the kernel when the agent's process dies,
// however it dies. With Isolation enabled and the agent running as root it
// also gives each container its own namespaces, filesystem view, user and
// cgroup limits (see isolation_linux.go).
type ProcessContainerizer struct {
	// Isolation turns on namespaces, an unprivileged user and cgroup
	// limits where the agent has the privileges for them.
	Isolation bool
	// PidsMax caps the processes and threads of an isolated container: a
	// fork bomb stops there. Zero derives it from the container's memory
	// limit (pidsPerMB), or DefaultPidsMax without one.
	PidsMax int
	// TmpfsBytes is the size of each private tmpfs of an isolated
	// container (DefaultTmpfsBytes when zero). Its pages also count
	// against the container's memory limit.
	TmpfsBytes int64
	Log        *slog.Logger

	dockerOnce sync.Once
	isoOnce    sync.Once
	iso        *isolator
}

// NewProcessContainerizer returns a process containerizer.
func NewProcessContainerizer(isolation bool, log *slog.Logger) *ProcessContainerizer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ProcessContainerizer{Isolation: isolation, Log: log}
}

// Launch starts spec.Argv in spec.Sandbox with stdout and stderr redirected
// to files of those names in the sandbox.
func (p *ProcessContainerizer) Launch(ctx context.Context, spec LaunchSpec) (Container, error) {
	if spec.Path == "" || len(spec.Argv) == 0 {
		return nil, errors.New("launch container: empty command")
	}
	log := p.logger()
	if spec.Container != nil && spec.Container.GetType() == mesosDocker {
		// The image is not used: there is no docker engine; the command runs
		// on the host. Say so once, not per container.
		p.dockerOnce.Do(func() {
			log.Debug("process containerizer ignores docker images", "image", spec.Container.GetDocker().GetImage())
		})
	}
	stdout, err := os.OpenFile(filepath.Join(spec.Sandbox, "stdout"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("launch container %s: open stdout: %w", spec.ContainerID, err)
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(filepath.Join(spec.Sandbox, "stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("launch container %s: open stderr: %w", spec.ContainerID, err)
	}
	defer stderr.Close()

	cmd := exec.Command(spec.Path)
	cmd.Args = spec.Argv
	cmd.Dir = spec.Sandbox
	cmd.Env = spec.Env
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithAgent(cmd.SysProcAttr)

	var iso *isolation
	if p.Isolation {
		p.isoOnce.Do(func() {
			p.iso = newIsolator(log, p.PidsMax, cmp.Or(p.TmpfsBytes, DefaultTmpfsBytes))
		})
		if iso, err = p.iso.prepare(spec, cmd); err != nil {
			return nil, fmt.Errorf("launch container %s: isolate: %w", spec.ContainerID, err)
		}
	}
	if err := startContainerProcess(cmd); err != nil {
		iso.release()
		return nil, fmt.Errorf("launch container %s: start %q: %w", spec.ContainerID, spec.Path, err)
	}
	if err := iso.started(cmd.Process.Pid); err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		iso.release()
		return nil, fmt.Errorf("launch container %s: isolate: %w", spec.ContainerID, err)
	}
	c := &processContainer{pid: cmd.Process.Pid, iso: iso, done: make(chan struct{}), status: -1}
	go c.wait(cmd, iso)
	return c, nil
}

func (p *ProcessContainerizer) logger() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

type processContainer struct {
	pid  int
	iso  *isolation // nil without isolation
	done chan struct{}

	mu         sync.Mutex
	status     int
	exited     bool
	limitation *Limitation
}

func (c *processContainer) wait(cmd *exec.Cmd, iso *isolation) {
	_ = cmd.Wait()
	status := -1
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		status = int(ws)
	}
	// The container ends with its main process, as it does in Mesos: kill
	// whatever it left behind in its process group (or namespace).
	_ = syscall.Kill(-c.pid, syscall.SIGKILL)
	lim := iso.limitation(status)
	iso.release()
	c.mu.Lock()
	c.status = status
	c.exited = true
	c.limitation = lim
	c.mu.Unlock()
	close(c.done)
}

func (c *processContainer) Signal(sig syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exited {
		return nil
	}
	// Negative pid: the whole process group. The group id is the pid
	// because the child was started with Setpgid.
	if err := syscall.Kill(-c.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal container process group %d: %w", c.pid, err)
	}
	if sig == syscall.SIGKILL {
		// Isolated, the first process is pid 1 of the container's
		// namespace: its death kills the rest.
		c.iso.killed()
	}
	return nil
}

func (c *processContainer) Destroy() error { return c.Signal(syscall.SIGKILL) }

func (c *processContainer) Done() <-chan struct{} { return c.done }

func (c *processContainer) WaitStatus() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

func (c *processContainer) Limitation() *Limitation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limitation
}
