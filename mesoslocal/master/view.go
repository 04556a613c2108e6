package master

import (
	"sort"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// TaskView is the master's record of one task, as tests compare it with a
// framework's own view of its tasks.
type TaskView struct {
	ID       string
	Agent    string
	Executor string
	State    mesos.TaskState
}

// Terminal reports whether the task's latest known state is terminal.
func (v TaskView) Terminal() bool { return isTerminal(v.State) }

// Tasks is a read-only view of the tasks the master tracks for a framework
// on registered agents, ordered by id. Tasks on agents that are still
// re-registering after Restart are left out, like the implicit
// reconciliation leaves them out; so are the tasks of a partitioned agent.
func (m *Master) Tasks(fw mesos.FrameworkID) []TaskView {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []TaskView
	for key, t := range m.tasks {
		if key.framework != fw.Value || m.agent(t.agent) == nil {
			continue
		}
		out = append(out, TaskView{
			ID:       key.task,
			Agent:    t.agent,
			Executor: t.executor,
			State:    t.status.GetState(),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// FrameworkView is the master's record of one framework.
type FrameworkView struct {
	Known     bool
	Connected bool
	// Removed is set once the framework was torn down or its failover
	// timeout expired; its id is refused from then on.
	Removed bool
	// StreamID is the current subscription's Mesos-Stream-Id, "" while
	// disconnected. A new value means the framework subscribed again.
	StreamID string
}

// Framework is a read-only view of what the master knows of a framework.
func (m *Master) Framework(fw mesos.FrameworkID) FrameworkView {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := FrameworkView{Removed: m.removed[fw.Value]}
	if f := m.frameworks[fw.Value]; f != nil {
		v.Known = true
		if f.stream != nil {
			v.Connected, v.StreamID = true, f.stream.id
		}
	}
	return v
}
