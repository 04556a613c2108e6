package master

import (
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// partitionedAgent is what the master keeps of an agent RemoveAgent marked
// unreachable: Mesos remembers the tasks of an unreachable agent and adds
// them back when the agent re-registers, because they may have run all
// along.
type partitionedAgent struct {
	tasks     map[taskKey]*task
	executors map[execKey]*executor
}

// stashPartitioned keeps a task or an executor of an agent that becomes
// unreachable. Must hold m.mu.
func (m *Master) stashPartitioned(agent string, t *task, key taskKey, e *executor, ekey execKey) {
	if m.faults.partitioned == nil {
		m.faults.partitioned = map[string]*partitionedAgent{}
	}
	p := m.faults.partitioned[agent]
	if p == nil {
		p = &partitionedAgent{tasks: map[taskKey]*task{}, executors: map[execKey]*executor{}}
		m.faults.partitioned[agent] = p
	}
	if t != nil {
		p.tasks[key] = t
	}
	if e != nil {
		p.executors[ekey] = e
	}
}

// restorePartitioned completes the re-registration of an agent that was
// unreachable, as Mesos does when a partition heals: its tasks are known
// again. A PARTITION_AWARE framework, which was told the tasks were
// unreachable, gets each task's latest state with REASON_AGENT_REREGISTERED
// (no uuid) and decides what to do with the copy it may have started
// meanwhile. Tasks of other frameworks, which were told the tasks were
// lost, are killed. Must hold m.mu.
func (m *Master) restorePartitioned(agent string) {
	p := m.faults.partitioned[agent]
	if p == nil {
		return
	}
	delete(m.faults.partitioned, agent)
	a := m.agents[agent]
	for key, e := range p.executors {
		m.putExecutor(key, e)
	}
	for key, t := range p.tasks {
		m.putTask(key, t)
		fw := m.frameworks[key.framework]
		if fw == nil {
			continue // it learns of the task when it reconciles
		}
		if !fw.partitionAware() {
			fid, tid := fw.id, t.info.TaskID
			a.do(func(ag Agent) { ag.KillTask(fid, tid, nil) })
			continue
		}
		st := masterStatus(t.info.TaskID, agent, t.status.GetState(), mesos.REASON_AGENT_REREGISTERED,
			"Agent "+agent+" reregistered")
		if t.executor != "" {
			st.ExecutorID = &mesos.ExecutorID{Value: t.executor}
		}
		fw.send(updateEvent(st))
	}
	m.log.Info("partitioned agent re-registered", "agent_id", agent, "tasks", len(p.tasks))
}
