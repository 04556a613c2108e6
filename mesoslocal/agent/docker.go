package agent

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Names and paths of the Mesos docker containerizer.
const (
	DockerNamePrefix     = "mesos-"
	DockerSandboxPath    = "/mnt/mesos/sandbox"
	dockerProbeTimeout   = 10 * time.Second
	dockerCommandTimeout = time.Minute
)

// DockerContainerizer runs containers whose ContainerInfo is DOCKER
// through the docker CLI, as the Mesos docker containerizer does: docker
// run -d (argv from dockerRunArgs), docker logs --follow into the
// sandbox's stdout and stderr, docker wait and docker inspect for the exit
// status and OOM kill, docker kill for signals and docker rm -f to
// destroy.
//
// It needs a reachable docker engine. Without one, every launch fails with
// "docker engine not reachable: …" and the task with
// REASON_CONTAINER_LAUNCH_FAILED; nothing falls back to running the
// command on the host. (The machines fob is developed on have the CLI but
// no engine, so tests cover the argument vector, the error, and the
// lifecycle against a stand-in CLI, not a real engine.)
//
// Containers live in the engine, not under the agent's process: unlike
// the process containerizer's, they outlive an agent that dies. They are
// named DockerNamePrefix + container id, so they can be found and removed.
//
// The executor inside reaches the agent at MESOS_AGENT_ENDPOINT, so with
// bridge networking the agent must listen on an address the container
// can route to (not 127.0.0.1).
type DockerContainerizer struct {
	// Binary is the docker CLI; "docker" (looked up in PATH) when empty.
	Binary string
	// Host is the engine address passed as -H (unix:///var/run/docker.sock,
	// tcp://…); empty leaves it to the CLI (DOCKER_HOST or its default).
	Host string
	// Fallback launches containers that are not DOCKER, as
	// --containerizers=docker,mesos does; nil makes them fail.
	Fallback Containerizer
	Log      *slog.Logger
}

// Launch starts spec's container detached and returns once the engine has
// it running.
func (d *DockerContainerizer) Launch(ctx context.Context, spec LaunchSpec) (Container, error) {
	if spec.Container.GetType() != mesosDocker {
		if d.Fallback == nil {
			return nil, fmt.Errorf("launch container %s: the docker containerizer runs only DOCKER containers", spec.ContainerID)
		}
		return d.Fallback.Launch(ctx, spec)
	}
	name := DockerNamePrefix + spec.ContainerID
	args, err := dockerRunArgs(spec, name)
	if err != nil {
		return nil, fmt.Errorf("launch container %s: %w", spec.ContainerID, err)
	}
	probeCtx, cancel := context.WithTimeout(ctx, dockerProbeTimeout)
	defer cancel()
	if _, err := d.cli(probeCtx, "version", "--format", "{{.Server.Version}}"); err != nil {
		return nil, fmt.Errorf("launch container %s: docker engine not reachable: %w", spec.ContainerID, err)
	}
	if _, err := d.cli(ctx, args...); err != nil {
		// A half-created container would keep the name taken.
		_, _ = d.cli(context.Background(), "rm", "-f", name)
		return nil, fmt.Errorf("launch container %s: docker run: %w", spec.ContainerID, err)
	}
	c := &dockerContainer{d: d, name: name, sandbox: spec.Sandbox, done: make(chan struct{}), status: -1}
	go c.wait()
	return c, nil
}

// dockerRunArgs is the docker CLI argument vector that starts spec's
// container detached, after the rules of Mesos' Docker::run
// (src/docker/docker.cpp):
//
//   - cpus become --cpu-shares (1024 per cpu) and --cpus, mem --memory;
//   - the sandbox is mounted at DockerSandboxPath, which MESOS_SANDBOX
//     names inside; ContainerInfo volumes with a host path are mounted too,
//     relative paths taken from the sandbox;
//   - network HOST (the default), BRIDGE, NONE, or USER (the network named
//     in network_infos), port mappings as -p host:container/protocol;
//   - a shell command runs with /bin/sh as the entrypoint and "-c value"
//     as arguments, so an image's own ENTRYPOINT cannot swallow it;
//     otherwise the value (if any) and the arguments follow the image,
//     which keeps its entrypoint;
//   - the environment is ImageEnv, passed with -e as Mesos does (values
//     show in the host's process table while docker run runs): the
//     host's own environment would break the image (PATH, HOME).
func dockerRunArgs(spec LaunchSpec, name string) ([]string, error) {
	c := spec.Container
	di := c.GetDocker()
	if di == nil || di.Image == "" {
		return nil, errors.New("docker container without an image")
	}
	args := []string{"run", "-d", "--name", name}
	lim := limitsFor(spec.Resources, 0)
	if lim.cpus > 0 {
		args = append(args, "--cpu-shares", strconv.Itoa(max(2, int(lim.cpus*1024))),
			"--cpus", strconv.FormatFloat(lim.cpus, 'f', -1, 64))
	}
	if lim.memBytes > 0 {
		args = append(args, "--memory", strconv.FormatInt(lim.memBytes, 10))
	}
	env := newEnvList()
	env.add(spec.ImageEnv...)
	env.set("MESOS_SANDBOX", DockerSandboxPath)
	env.set("MESOS_CONTAINER_NAME", name)
	for _, kv := range env.list() {
		args = append(args, "-e", kv)
	}
	args = append(args, "-v", spec.Sandbox+":"+DockerSandboxPath)
	for _, v := range c.Volumes {
		if v.HostPath == nil {
			return nil, fmt.Errorf("volume %s: only host path volumes are supported", v.ContainerPath)
		}
		host, inside := v.GetHostPath(), v.ContainerPath
		if !filepath.IsAbs(host) {
			host = filepath.Join(spec.Sandbox, host)
		}
		if !filepath.IsAbs(inside) {
			inside = filepath.Join(DockerSandboxPath, inside)
		}
		mode := "rw"
		if v.GetMode() == mesos.RO {
			mode = "ro"
		}
		args = append(args, "-v", host+":"+inside+":"+mode)
	}
	network := di.GetNetwork()
	switch network {
	case mesos.ContainerInfo_DockerInfo_HOST:
		args = append(args, "--network", "host")
	case mesos.ContainerInfo_DockerInfo_BRIDGE:
		args = append(args, "--network", "bridge")
	case mesos.ContainerInfo_DockerInfo_NONE:
		args = append(args, "--network", "none")
	case mesos.ContainerInfo_DockerInfo_USER:
		if len(c.NetworkInfos) != 1 || c.NetworkInfos[0].GetName() == "" {
			return nil, errors.New("a USER network needs exactly one network_infos entry with a name")
		}
		args = append(args, "--network", c.NetworkInfos[0].GetName())
	}
	if h := c.GetHostname(); h != "" {
		if network == mesos.ContainerInfo_DockerInfo_HOST {
			return nil, errors.New("hostname is not allowed with the HOST network")
		}
		args = append(args, "--hostname", h)
	}
	for _, pm := range di.PortMappings {
		proto := pm.GetProtocol()
		if proto == "" {
			proto = "tcp"
		}
		args = append(args, "-p", fmt.Sprintf("%d:%d/%s", pm.HostPort, pm.ContainerPort, proto))
	}
	if di.GetPrivileged() {
		args = append(args, "--privileged")
	}
	for _, p := range di.Parameters {
		args = append(args, "--"+p.Key+"="+p.Value)
	}
	if di.GetForcePullImage() {
		args = append(args, "--pull", "always")
	}
	cmd := spec.Command
	if cmd == nil || cmd.Shell == nil || cmd.GetShell() {
		if cmd.GetValue() == "" {
			return nil, errors.New("shell command without a value")
		}
		return append(args, "--entrypoint", "/bin/sh", di.Image, "-c", cmd.GetValue()), nil
	}
	args = append(args, di.Image)
	if cmd.GetValue() != "" {
		args = append(args, cmd.GetValue())
	}
	return append(args, cmd.Arguments...), nil
}

// cli runs the docker CLI and returns its trimmed output; an error
// carries what the CLI printed on stderr.
func (d *DockerContainerizer) cli(ctx context.Context, args ...string) (string, error) {
	bin := cmp.Or(d.Binary, "docker")
	if d.Host != "" {
		args = append([]string{"-H", d.Host}, args...)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	dieWithAgent(cmd.SysProcAttr) // docker wait, docker logs -f: clients that could otherwise linger
	err := startContainerProcess(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("%s: %w", msg, err)
		}
		return "", err
	}
	return strings.TrimSpace(stdout.String()), nil
}

func (d *DockerContainerizer) logger() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

type dockerContainer struct {
	d       *DockerContainerizer
	name    string
	sandbox string
	done    chan struct{}

	mu         sync.Mutex
	status     int
	exited     bool
	limitation *Limitation
}

// wait follows the container to its end: output into the sandbox, exit
// code, OOM kill, removal.
func (c *dockerContainer) wait() {
	logsDone := c.followLogs()
	status := -1
	if out, err := c.d.cli(context.Background(), "wait", c.name); err == nil {
		if code, err := strconv.Atoi(out); err == nil {
			status = code << 8 // an exit status in wait(2) form
		}
	} else {
		c.d.logger().Warn("docker wait", "container", c.name, "error", err)
	}
	var lim *Limitation
	if out, _ := c.cli("inspect", "--format", "{{.State.OOMKilled}}", c.name); out == "true" {
		lim = &Limitation{Reason: mesos.REASON_CONTAINER_LIMITATION_MEMORY,
			Message: "Memory limit exceeded: the docker engine reports the container OOM-killed"}
	}
	_, _ = c.cli("rm", "-f", c.name)
	<-logsDone
	c.mu.Lock()
	c.status, c.exited, c.limitation = status, true, lim
	c.mu.Unlock()
	close(c.done)
}

// followLogs copies the container's output into the sandbox, as the Mesos
// docker executor does, so both containerizers leave it in one place.
func (c *dockerContainer) followLogs() <-chan struct{} {
	done := make(chan struct{})
	stdout, err1 := os.OpenFile(filepath.Join(c.sandbox, "stdout"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	stderr, err2 := os.OpenFile(filepath.Join(c.sandbox, "stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err := errors.Join(err1, err2); err != nil {
		c.d.logger().Warn("docker logs not kept", "container", c.name, "error", err)
		close(done)
		return done
	}
	args := []string{"logs", "--follow", c.name}
	if c.d.Host != "" {
		args = append([]string{"-H", c.d.Host}, args...)
	}
	cmd := exec.Command(cmp.Or(c.d.Binary, "docker"), args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	dieWithAgent(cmd.SysProcAttr)
	err := startContainerProcess(cmd)
	go func() {
		defer close(done)
		if err == nil {
			_ = cmd.Wait()
		}
		stdout.Close()
		stderr.Close()
	}()
	return done
}

func (c *dockerContainer) cli(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerCommandTimeout)
	defer cancel()
	return c.d.cli(ctx, args...)
}

// Signal runs docker kill in the background: the agent calls it under its
// lock, and the CLI can take a while.
func (c *dockerContainer) Signal(sig syscall.Signal) error {
	c.background("kill", "--signal", strconv.Itoa(int(sig)), c.name)
	return nil
}

// Destroy removes the container (killing it first); docker wait then
// returns and the container is done.
func (c *dockerContainer) Destroy() error {
	c.background("rm", "-f", c.name)
	return nil
}

func (c *dockerContainer) background(args ...string) {
	c.mu.Lock()
	exited := c.exited
	c.mu.Unlock()
	if exited {
		return
	}
	go func() {
		if _, err := c.cli(args...); err != nil {
			c.d.logger().Warn("docker "+args[0], "container", c.name, "error", err)
		}
	}()
}

func (c *dockerContainer) Done() <-chan struct{} { return c.done }

func (c *dockerContainer) WaitStatus() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

func (c *dockerContainer) Limitation() *Limitation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limitation
}
