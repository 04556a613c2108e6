package master

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/resources"
)

// launchContext is what task validation needs to know about one ACCEPT.
type launchContext struct {
	fw        *framework
	agent     *agentEntry
	available mesos.Resources // what is left of the accepted offers
	// pending holds executors launched earlier in the same ACCEPT: they
	// count as running for the tasks that follow.
	pending map[string]*mesos.ExecutorInfo
}

// validateTask applies the Mesos master's launch checks in its order
// (tasks-and-executors.md §3.5) and returns the resources the launch
// consumes (task plus executor when the executor is new on the agent).
// It fills executor.framework_id and infers health check types in place.
func (m *Master) validateTask(lc *launchContext, t *mesos.TaskInfo) (mesos.Resources, error) {
	if err := validateID(t.TaskID.Value); err != nil {
		return nil, fmt.Errorf("task id: %w", err)
	}
	if _, ok := m.tasks[taskKey{lc.fw.id.Value, t.TaskID.Value}]; ok {
		return nil, fmt.Errorf("task %s already exists", t.TaskID.Value)
	}
	if t.AgentID.Value != lc.agent.id {
		return nil, fmt.Errorf("task uses agent %s but the offer is for agent %s", t.AgentID.Value, lc.agent.id)
	}
	if gp := t.KillPolicy.GetGracePeriod(); gp != nil && gp.Nanoseconds < 0 {
		return nil, errors.New("task's kill policy grace period must be non-negative")
	}
	if mct := t.MaxCompletionTime; mct != nil && mct.Nanoseconds < 0 {
		return nil, errors.New("task's max completion time must be non-negative")
	}
	if t.HealthCheck != nil {
		if err := validateHealthCheck(t.HealthCheck); err != nil {
			return nil, fmt.Errorf("task uses invalid health check: %w", err)
		}
	}
	if len(t.Resources) == 0 {
		return nil, errors.New("task uses no resources")
	}
	if err := resources.Validate(t.Resources...); err != nil {
		return nil, fmt.Errorf("task uses invalid resources: %w", err)
	}
	if err := validateContainer(t.Container); err != nil {
		return nil, err
	}
	if (t.Command == nil) == (t.Executor == nil) {
		return nil, errors.New("task should have at least one (but not both) of CommandInfo or ExecutorInfo present")
	}
	need := normalize(t.Resources)
	if t.Executor != nil {
		execNeed, err := m.validateExecutor(lc, t.Executor)
		if err != nil {
			return nil, err
		}
		need = add(need, execNeed)
	}
	if !containsAll(lc.available, need) {
		return nil, fmt.Errorf("task uses more resources %s than available %s", need, lc.available)
	}
	return need, nil
}

// validateExecutor checks a LAUNCH executor and returns the resources it
// needs if it is not yet running on the agent.
func (m *Master) validateExecutor(lc *launchContext, e *mesos.ExecutorInfo) (mesos.Resources, error) {
	if err := validateID(e.ExecutorID.Value); err != nil {
		return nil, fmt.Errorf("executor id: %w", err)
	}
	if e.FrameworkID == nil {
		fid := lc.fw.id
		e.FrameworkID = &fid
	} else if e.FrameworkID.Value != lc.fw.id.Value {
		return nil, fmt.Errorf("executor has invalid framework id %s (expected %s)",
			e.FrameworkID.Value, lc.fw.id.Value)
	}
	switch e.Type {
	case mesos.ExecutorInfo_UNKNOWN, mesos.ExecutorInfo_CUSTOM:
		if e.Command == nil {
			return nil, errors.New("'ExecutorInfo.command' must be set for 'CUSTOM' executor")
		}
	default:
		return nil, fmt.Errorf("'ExecutorInfo.type' must be 'CUSTOM' for LAUNCH, got %s", e.Type)
	}
	if gp := e.ShutdownGracePeriod; gp != nil && gp.Nanoseconds < 0 {
		return nil, errors.New("executor's shutdown grace period must be non-negative")
	}
	if err := resources.Validate(e.Resources...); err != nil {
		return nil, fmt.Errorf("executor uses invalid resources: %w", err)
	}
	if err := validateContainer(e.Container); err != nil {
		return nil, fmt.Errorf("executor: %w", err)
	}
	running := lc.pending[e.ExecutorID.Value]
	if ex := m.executors[execKey{lc.agent.id, lc.fw.id.Value, e.ExecutorID.Value}]; ex != nil {
		running = &ex.info
	}
	if running != nil {
		if !running.Equal(e) {
			return nil, fmt.Errorf("executor %s on agent %s has a different ExecutorInfo",
				e.ExecutorID.Value, lc.agent.id)
		}
		return nil, nil
	}
	return normalize(e.Resources), nil
}

// validateID applies Mesos' common id rules (src/common/validation.cpp).
func validateID(id string) error {
	switch {
	case id == "":
		return errors.New("ID must not be empty")
	case len(id) > 255:
		return errors.New("ID must not be greater than 255 characters")
	case id == "." || id == "..":
		return errors.New("'.' and '..' are not allowed")
	case strings.ContainsAny(id, "/\\"):
		return errors.New("'/' and '\\' are not allowed")
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return errors.New("control characters are not allowed")
		}
	}
	return nil
}

// validateHealthCheck infers a missing type from the one check given and
// rejects negative durations and HTTP paths not starting with "/".
func validateHealthCheck(hc *mesos.HealthCheck) error {
	if hc.Type == mesos.HealthCheck_UNKNOWN {
		switch {
		case hc.Command != nil && hc.HTTP == nil && hc.TCP == nil:
			hc.Type = mesos.HealthCheck_COMMAND
		case hc.HTTP != nil && hc.Command == nil && hc.TCP == nil:
			hc.Type = mesos.HealthCheck_HTTP
		default:
			return errors.New("HealthCheck must specify 'type'")
		}
	}
	switch hc.Type {
	case mesos.HealthCheck_COMMAND:
		if hc.Command == nil {
			return errors.New("expecting 'command' to be set for COMMAND health check")
		}
		if hc.Command.GetShell() && hc.Command.GetValue() == "" {
			return errors.New("command health check must contain 'shell command'")
		}
	case mesos.HealthCheck_HTTP:
		if hc.HTTP == nil {
			return errors.New("expecting 'http' to be set for HTTP health check")
		}
		if p := hc.HTTP.Path; p != nil && !strings.HasPrefix(*p, "/") {
			return fmt.Errorf("the path '%s' of HTTP health check must start with '/'", *p)
		}
	case mesos.HealthCheck_TCP:
		if hc.TCP == nil {
			return errors.New("expecting 'tcp' to be set for TCP health check")
		}
	default:
		return fmt.Errorf("unsupported health check type %s", hc.Type)
	}
	for name, v := range map[string]*float64{
		"delay_seconds": hc.DelaySeconds, "interval_seconds": hc.IntervalSeconds,
		"timeout_seconds": hc.TimeoutSeconds, "grace_period_seconds": hc.GracePeriodSeconds,
	} {
		if v != nil && *v < 0 {
			return fmt.Errorf("expecting '%s' to be non-negative", name)
		}
	}
	return nil
}

// validateContainer applies the ContainerInfo checks Mesos runs at launch.
func validateContainer(c *mesos.ContainerInfo) error {
	if c == nil {
		return nil
	}
	if c.GetType() == mesos.ContainerInfo_DOCKER {
		if c.Docker == nil {
			return errors.New("DockerInfo 'docker' is not set for DOCKER typed ContainerInfo")
		}
		for _, p := range c.Docker.Parameters {
			if p.Key == "name" {
				return errors.New("parameter in DockerInfo must not be 'name'")
			}
		}
	}
	for _, v := range c.Volumes {
		n := 0
		if v.HostPath != nil {
			n++
		}
		if v.Image != nil {
			n++
		}
		if v.Source != nil {
			n++
		}
		if n > 1 {
			return errors.New("only one of them should be set: 'host_path', 'image' and 'source' in Volume")
		}
	}
	return nil
}
