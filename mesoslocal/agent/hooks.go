package agent

import (
	"fmt"
	"sort"
	"syscall"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// KillExecutor is a test hook: it kills every process of a running
// executor's container with SIGKILL, as a crash or the OOM killer would.
// The agent notices the exit like any other: the executor's unfinished
// tasks fail with REASON_EXECUTOR_TERMINATED and the master hears of it.
func (a *Agent) KillExecutor(fw mesos.FrameworkID, exec mesos.ExecutorID) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.frameworks[fw.Value]
	if f == nil || f.executors[exec.Value] == nil {
		return fmt.Errorf("kill executor: %s of framework %s is not running here", exec.Value, fw.Value)
	}
	ex := f.executors[exec.Value]
	if ex.container == nil || ex.state == executorTerminated {
		return fmt.Errorf("kill executor: %s has no running container", exec.Value)
	}
	return ex.container.Signal(syscall.SIGKILL)
}

// Executors is a test hook listing the ids of a framework's executors that
// have not terminated on this agent, sorted.
func (a *Agent) Executors(fw mesos.FrameworkID) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.frameworks[fw.Value]
	if f == nil {
		return nil
	}
	var ids []string
	for id, ex := range f.executors {
		if ex.state != executorTerminated {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}
