package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
)

// launchPlan is a copy of what a launch needs, taken under the lock so
// that the slow part (fetching, starting) runs without it.
type launchPlan struct {
	framework   mesos.FrameworkInfo
	info        mesos.ExecutorInfo
	tasks       []mesos.TaskInfo
	containerID string
	sandbox     string
	grace       time.Duration
	command     bool
}

// launch prepares the sandbox and starts the container of a new executor
// run. It runs on its own goroutine.
func (a *Agent) launch(ex *executorRun, first mesos.TaskInfo) {
	defer a.wg.Done()
	a.mu.Lock()
	plan := launchPlan{
		framework:   ex.fw.info,
		info:        ex.info,
		tasks:       append([]mesos.TaskInfo(nil), ex.queued...),
		containerID: ex.containerID,
		sandbox:     ex.sandbox,
		grace:       ex.shutdownGrace(a.cfg.ShutdownGracePeriod),
		command:     ex.command,
	}
	a.mu.Unlock()

	spec, err := a.prepare(a.ctx, plan)

	a.mu.Lock()
	if err == nil && ex.state == executorTerminating {
		err = errors.New("executor shut down while launching")
		if ex.termination == nil {
			ex.termination = &termination{state: mesos.TASK_FAILED, reason: mesos.REASON_EXECUTOR_TERMINATED, message: err.Error()}
		}
	}
	if err != nil {
		a.launchFailedLocked(ex, err)
		a.mu.Unlock()
		return
	}
	if ex.command {
		a.commandStartingLocked(ex)
	}
	a.mu.Unlock()

	c, err := a.containerizer.Launch(a.ctx, spec)

	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.launchFailedLocked(ex, err)
		return
	}
	ex.container = c
	a.wg.Add(1)
	ip, inProcess := c.(inProcessContainer)
	if inProcess {
		ip.onExit(func() { a.inProcessExited(ex, c) })
	} else {
		go a.watch(ex, c)
	}
	if ex.state == executorTerminating || a.closing {
		_ = c.Destroy()
		return
	}
	if ex.command {
		a.commandRunningLocked(ex)
		return
	}
	if inProcess {
		a.connectInProcessLocked(ex, ip)
		return
	}
	ex.regTimer = time.AfterFunc(a.cfg.RegistrationTimeout, func() { a.registrationTimedOut(ex) })
}

// prepare creates the sandbox, checks the container, fetches the URIs and
// builds the container's command line and environment. A containerizer
// that runs nothing on the host gets no sandbox and no fetched URIs.
func (a *Agent) prepare(ctx context.Context, p launchPlan) (LaunchSpec, error) {
	_, noSandbox := a.containerizer.(sandboxless)
	if !noSandbox {
		if err := os.MkdirAll(p.sandbox, 0o755); err != nil {
			return LaunchSpec{}, fmt.Errorf("create sandbox: %w", err)
		}
	}
	resources := append(mesos.Resources(nil), p.info.Resources...)
	for _, t := range p.tasks {
		resources = append(resources, t.Resources...)
	}
	container := p.info.Container
	if p.command && len(p.tasks) > 0 {
		container = p.tasks[0].Container
	}
	if err := checkPortMappings(container, resources); err != nil {
		return LaunchSpec{}, err
	}
	cmd := p.info.Command
	if cmd == nil {
		return LaunchSpec{}, errors.New("executor has no command")
	}
	if !noSandbox {
		if err := a.fetcher.fetchAll(ctx, p.sandbox, cmd.URIs); err != nil {
			return LaunchSpec{}, err
		}
	}
	path, argv, err := commandLine(cmd)
	if err != nil && !imageDefaultCommand(container, cmd) {
		return LaunchSpec{}, err
	}
	es := envSpec{
		framework:  p.framework,
		executorID: p.info.ExecutorID,
		sandbox:    p.sandbox,
		grace:      p.grace,
		commandEnv: cmd.Environment,
	}
	env := a.executorEnv(es)
	es.forImage = true
	return LaunchSpec{
		ContainerID: p.containerID,
		FrameworkID: *p.info.FrameworkID,
		ExecutorID:  p.info.ExecutorID,
		Sandbox:     p.sandbox,
		WorkDir:     a.cfg.WorkDir,
		Path:        path,
		Argv:        argv,
		Env:         env,
		ImageEnv:    a.executorEnv(es),
		Resources:   resources,
		Container:   container,
		Command:     cmd,
		User:        cmd.GetUser(),
	}, nil
}

// imageDefaultCommand reports a docker container that runs its image's
// own command: no value and shell=false.
func imageDefaultCommand(c *mesos.ContainerInfo, cmd *mesos.CommandInfo) bool {
	return c.GetType() == mesosDocker && cmd.GetValue() == "" && cmd.Shell != nil && !cmd.GetShell()
}

// commandLine turns a CommandInfo into a program and argv: shell (the
// default) runs value through /bin/sh -c; otherwise value is the program
// and arguments its argv, argv[0] included.
func commandLine(c *mesos.CommandInfo) (string, []string, error) {
	if c.Value == nil || c.GetValue() == "" {
		return "", nil, errors.New("command has no value")
	}
	if c.Shell == nil || c.GetShell() {
		return "/bin/sh", []string{"sh", "-c", c.GetValue()}, nil
	}
	argv := append([]string(nil), c.Arguments...)
	if len(argv) == 0 {
		argv = []string{c.GetValue()}
	}
	return c.GetValue(), argv, nil
}

// checkPortMappings applies the docker containerizer's checks: port
// mappings only on BRIDGE or USER networks, each host port inside the
// container's ports resources.
func checkPortMappings(c *mesos.ContainerInfo, res mesos.Resources) error {
	if c == nil || c.GetType() != mesosDocker || c.Docker == nil || len(c.Docker.PortMappings) == 0 {
		return nil
	}
	switch n := c.Docker.GetNetwork(); n {
	case mesos.ContainerInfo_DockerInfo_BRIDGE, mesos.ContainerInfo_DockerInfo_USER:
	default:
		return fmt.Errorf("port mappings are only supported for bridge and user networks, not %s", n)
	}
	for _, pm := range c.Docker.PortMappings {
		if !portInResources(pm.HostPort, res) {
			return fmt.Errorf("port [%d] not included in resources", pm.HostPort)
		}
	}
	return nil
}

func portInResources(port uint32, res mesos.Resources) bool {
	for _, r := range res {
		if r.Name != "ports" || r.Ranges == nil {
			continue
		}
		for _, rg := range r.Ranges.Range {
			if uint64(port) >= rg.Begin && uint64(port) <= rg.End {
				return true
			}
		}
	}
	return false
}

func (a *Agent) launchFailedLocked(ex *executorRun, err error) {
	a.log.Warn("executor launch failed", "framework_id", ex.fw.id().Value,
		"executor_id", ex.info.ExecutorID.Value, "error", err)
	if ex.termination == nil {
		ex.termination = &termination{
			state:   mesos.TASK_FAILED,
			reason:  mesos.REASON_CONTAINER_LAUNCH_FAILED,
			message: "Failed to launch container: " + err.Error(),
		}
	}
	a.executorTerminatedLocked(ex, -1)
}

func (a *Agent) watch(ex *executorRun, c Container) {
	defer a.wg.Done()
	<-c.Done()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.containerEndedLocked(ex, c)
}

// containerEndedLocked ends the executor run of a container that is gone.
// A resource limit that ended it names the failure of its tasks, unless
// the agent or a kill had already ended it.
func (a *Agent) containerEndedLocked(ex *executorRun, c Container) {
	if r, ok := c.(LimitationReporter); ok && ex.termination == nil && !ex.killRequested {
		if lim := r.Limitation(); lim != nil {
			a.log.Warn("container ended by a resource limit", "framework_id", ex.fw.id().Value,
				"executor_id", ex.info.ExecutorID.Value, "reason", lim.Reason.String(), "message", lim.Message)
			ex.termination = &termination{state: mesos.TASK_FAILED, reason: lim.Reason, message: lim.Message}
		}
	}
	a.executorTerminatedLocked(ex, c.WaitStatus())
}

func (a *Agent) registrationTimedOut(ex *executorRun) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ex.state != executorRegistering {
		return
	}
	a.log.Warn("executor did not subscribe in time", "framework_id", ex.fw.id().Value,
		"executor_id", ex.info.ExecutorID.Value, "timeout", a.cfg.RegistrationTimeout)
	ex.termination = &termination{
		state:   mesos.TASK_FAILED,
		reason:  mesos.REASON_EXECUTOR_REGISTRATION_TIMEOUT,
		message: "Executor did not register within " + formatMesosDuration(a.cfg.RegistrationTimeout),
	}
	ex.state = executorTerminating
	if ex.container != nil {
		_ = ex.container.Destroy()
	}
}

// deliverLocked hands a task to a subscribed executor.
func (a *Agent) deliverLocked(ex *executorRun, task mesos.TaskInfo) {
	ex.launched[task.TaskID.Value] = &taskRecord{info: task, state: mesos.TASK_STAGING}
	ex.hadTasks = true
	if !ex.send(&executor.Event{Type: executor.Event_LAUNCH, Launch: &executor.Event_Launch{Task: task}}) {
		// It stays STAGING; a re-subscribe without it in
		// unacknowledged_tasks turns it into TASK_LOST/TASK_DROPPED.
		a.log.Warn("launch not delivered: executor not connected", "framework_id", ex.fw.id().Value,
			"executor_id", ex.info.ExecutorID.Value, "task_id", task.TaskID.Value)
	}
}

// shutdownExecutorLocked asks an executor to shut down: SHUTDOWN event and
// destruction after the grace period when it is subscribed, destruction at
// once otherwise.
func (a *Agent) shutdownExecutorLocked(ex *executorRun) {
	if ex.state == executorTerminating || ex.state == executorTerminated {
		return
	}
	prev := ex.state
	log := a.log.With("framework_id", ex.fw.id().Value, "executor_id", ex.info.ExecutorID.Value)
	if ex.command {
		a.killCommandLocked(ex, nil)
		return
	}
	ex.state = executorTerminating
	if ex.regTimer != nil {
		ex.regTimer.Stop()
	}
	if prev == executorRunning && ex.send(&executor.Event{Type: executor.Event_SHUTDOWN}) {
		grace := ex.shutdownGrace(a.cfg.ShutdownGracePeriod)
		log.Info("executor shutting down", "grace_period", grace)
		ex.shutdownTimer = time.AfterFunc(grace, func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			if ex.container != nil && ex.state != executorTerminated {
				log.Info("destroying executor after shutdown grace period")
				_ = ex.container.Destroy()
			}
		})
		return
	}
	log.Info("destroying executor")
	if ex.container != nil {
		_ = ex.container.Destroy()
	}
	// Without a container the launch is still in progress and stops when
	// it sees the state.
}

// executorTerminatedLocked ends an executor run: every task it left
// unfinished gets an agent update (TASK_FAILED, REASON_EXECUTOR_TERMINATED
// unless the agent knows better), and the master hears of the exit.
func (a *Agent) executorTerminatedLocked(ex *executorRun, waitStatus int) {
	if ex.state == executorTerminated {
		return
	}
	ex.state = executorTerminated
	ex.stopTimers()
	if ex.sub != nil {
		ex.sub.close()
		ex.sub = nil
	}
	fw := ex.fw
	fwID := fw.id()
	execID := ex.info.ExecutorID
	if ex.command && ex.termination == nil && waitStatus != -1 {
		a.commandExitedLocked(ex, waitStatus)
	}
	term := ex.termination
	if term == nil {
		term = &termination{state: mesos.TASK_FAILED, reason: mesos.REASON_EXECUTOR_TERMINATED, message: "Executor terminated"}
	}
	for _, t := range ex.queued {
		a.sendUpdateLocked(fw, ex, a.agentStatus(t.TaskID, &execID, term.state, term.reason, term.message))
	}
	ex.queued = nil
	for _, t := range ex.launched {
		if !isTerminal(t.state) {
			a.sendUpdateLocked(fw, ex, a.agentStatus(t.info.TaskID, &execID, term.state, term.reason, term.message))
		}
	}
	if fw.executors[execID.Value] == ex {
		delete(fw.executors, execID.Value)
	}
	a.log.Info("executor terminated", "framework_id", fwID.Value, "executor_id", execID.Value,
		"wait_status", waitStatus)
	if !ex.command && !a.closing {
		a.out.push(func() { a.master.ExecutorTerminated(fwID, a.cfg.ID, execID, waitStatus) })
	}
	if fw.removing && len(fw.executors) == 0 && a.frameworks[fwID.Value] == fw {
		delete(a.frameworks, fwID.Value)
	}
}
