package master

import (
	"sort"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// reconcile answers RECONCILE (reconciliation-and-ha.md §1). Answers are
// master updates: SOURCE_MASTER, REASON_RECONCILIATION, no uuid. Must hold
// m.mu.
func (m *Master) reconcile(fw *framework, r *scheduler.Call_Reconcile) {
	if len(r.Tasks) > 0 {
		for _, rt := range r.Tasks {
			m.reconcileTask(fw, rt)
		}
		return
	}
	// Implicit: the latest state of every task the master tracks, except
	// tasks whose terminal update was already acknowledged (forgotten) and
	// tasks on agents that are recovering or unreachable.
	var ts []*task
	for key, t := range m.tasks {
		if key.framework == fw.id.Value && m.agent(t.agent) != nil {
			ts = append(ts, t)
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].info.TaskID.Value < ts[j].info.TaskID.Value })
	for _, t := range ts {
		fw.send(updateEvent(reconciledStatus(t)))
	}
}

// reconciledStatus is a known task's latest state as a reconciliation
// answer: without data, message or labels, but with health, check and
// container status.
func reconciledStatus(t *task) mesos.TaskStatus {
	st := masterStatus(t.info.TaskID, t.agent, t.status.GetState(), mesos.REASON_RECONCILIATION,
		"Reconciliation: Latest task state")
	if t.executor != "" {
		st.ExecutorID = &mesos.ExecutorID{Value: t.executor}
	}
	st.Healthy = t.status.Healthy
	st.CheckStatus = t.status.CheckStatus
	st.ContainerStatus = t.status.ContainerStatus
	st.UnreachableTime = t.status.UnreachableTime
	return st
}

// reconcileTask answers one explicit reconciliation entry. Must hold m.mu.
func (m *Master) reconcileTask(fw *framework, rt scheduler.Call_Reconcile_Task) {
	agentID := rt.AgentID.GetValue()
	if t := m.tasks[taskKey{fw.id.Value, rt.TaskID.Value}]; t != nil && m.agent(t.agent) != nil {
		if agentID == "" || agentID == t.agent {
			fw.send(updateEvent(reconciledStatus(t)))
			return
		}
	}
	// Unknown task. An agent that has not re-registered after a master
	// restart might still have it: stay silent so the scheduler retries.
	if agentID != "" {
		if a := m.agents[agentID]; a != nil && a.recovering {
			return
		}
	} else {
		for _, a := range m.agents {
			if a.recovering {
				return
			}
		}
	}
	pa := fw.partitionAware()
	state, msg := mesos.TASK_UNKNOWN, "Reconciliation: Task is unknown"
	var st mesos.TaskStatus
	switch {
	case agentID != "" && m.agents[agentID] != nil:
		state, msg = mesos.TASK_GONE, "Reconciliation: Task is unknown to the agent"
	case agentID != "" && !m.unreachable[agentID].IsZero():
		state, msg = mesos.TASK_UNREACHABLE, "Reconciliation: Task is unreachable"
	}
	if !pa {
		state = mesos.TASK_LOST
	}
	st = masterStatus(rt.TaskID, agentID, state, mesos.REASON_RECONCILIATION, msg)
	if pa && state == mesos.TASK_UNREACHABLE {
		st.UnreachableTime = &mesos.TimeInfo{Nanoseconds: m.unreachable[agentID].UnixNano()}
	}
	fw.send(updateEvent(st))
}

// reconcileOperations answers RECONCILE_OPERATIONS as Mesos has since 1.8:
// the call is accepted and the answers arrive as UPDATE_OPERATION_STATUS
// events without uuid (they need no acknowledgement). This master never
// tracks an operation (LAUNCH refuses operation ids, other operations are
// dropped), so implicit reconciliation has nothing to report and every
// explicitly named operation is unknown; the state then says what the
// master knows about the agent named with it. Must hold m.mu.
func (m *Master) reconcileOperations(fw *framework, r *scheduler.Call_ReconcileOperations) {
	for _, op := range r.Operations {
		agentID := op.AgentID.GetValue()
		state, msg := mesos.OPERATION_UNKNOWN, "Reconciliation: Operation is unknown and no 'agent_id' was provided"
		switch a := m.agents[agentID]; {
		case op.AgentID == nil:
		case a != nil && a.recovering:
			state, msg = mesos.OPERATION_RECOVERING, "Reconciliation: Agent is recovered but has not re-registered"
		case a != nil:
			msg = "Reconciliation: Operation is unknown"
		case !m.unreachable[agentID].IsZero():
			state, msg = mesos.OPERATION_UNREACHABLE, "Reconciliation: Agent is unreachable"
		default:
			msg = "Reconciliation: Both operation and agent are unknown"
		}
		opID := op.OperationID
		st := mesos.OperationStatus{
			OperationID:        &opID,
			State:              state,
			Message:            &msg,
			AgentID:            op.AgentID,
			ResourceProviderID: op.ResourceProviderID,
		}
		fw.send(&scheduler.Event{
			Type:                  scheduler.Event_UPDATE_OPERATION_STATUS,
			UpdateOperationStatus: &scheduler.Event_UpdateOperationStatus{Status: st},
		})
	}
}
