package master

import (
	"errors"
	"fmt"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// accept handles ACCEPT (scheduler-api.md §8, tasks-and-executors.md §3).
// Every outcome is reported through events; the HTTP answer is always 202.
// Must hold m.mu.
func (m *Master) accept(fw *framework, acc *scheduler.Call_Accept, now time.Time) {
	offers, err := m.takeOffers(fw, acc.OfferIDs)
	if err != nil {
		m.log.Info("accept with invalid offers", "framework_id", fw.id.Value, "error", err)
		state := mesos.TASK_LOST
		if fw.partitionAware() {
			state = mesos.TASK_DROPPED
		}
		m.failLaunches(fw, acc.Operations, "", state, mesos.REASON_INVALID_OFFERS,
			"Task launched with invalid offers: "+err.Error())
		return
	}
	first := offers[0]
	a := m.agent(first.agent)
	if a == nil {
		state := mesos.TASK_LOST
		if fw.partitionAware() {
			state = mesos.TASK_DROPPED
		}
		m.failLaunches(fw, acc.Operations, first.agent, state, mesos.REASON_AGENT_REMOVED,
			"Agent "+first.agent+" is removed")
		return
	}
	var available mesos.Resources
	for _, o := range offers {
		available = add(available, o.resources)
	}
	lc := &launchContext{fw: fw, agent: a, available: available, pending: map[string]*mesos.ExecutorInfo{}}
	for i := range acc.Operations {
		op := &acc.Operations[i]
		switch op.Type {
		case mesos.Offer_Operation_LAUNCH:
			m.launch(lc, op)
		case mesos.Offer_Operation_LAUNCH_GROUP:
			// The Agent contract has no task-group launch; fail the group
			// the way Mesos fails an invalid one rather than half-run it.
			m.failLaunches(fw, []mesos.Offer_Operation{*op}, a.id, mesos.TASK_ERROR,
				mesos.REASON_TASK_GROUP_INVALID, "LAUNCH_GROUP is not supported by this master")
		default:
			m.log.Info("offer operation not supported, dropped", "framework_id", fw.id.Value,
				"operation", op.Type.String())
		}
	}
	// Whatever the operations did not use is implicitly declined with the
	// ACCEPT's filters.
	m.decline(fw, a.id, first.role, lc.available, acc.Filters, now)
}

// launch validates and starts the tasks of one LAUNCH operation in order;
// a failing task does not stop the ones after it. Must hold m.mu.
func (m *Master) launch(lc *launchContext, op *mesos.Offer_Operation) {
	fw := lc.fw
	if op.Launch == nil {
		return
	}
	for i := range op.Launch.TaskInfos {
		t := op.Launch.TaskInfos[i] // copy: the master fills fields in
		if op.ID != nil {
			m.taskError(fw, t, lc.agent.id, mesos.REASON_TASK_INVALID,
				"An offer operation ID cannot be set for LAUNCH operations")
			continue
		}
		need, err := m.validateTask(lc, &t)
		if err != nil {
			m.taskError(fw, t, lc.agent.id, mesos.REASON_TASK_INVALID, "Task is invalid: "+err.Error())
			continue
		}
		lc.available = subtract(lc.available, need)
		m.startTask(lc, t)
	}
}

// startTask records a valid task as TASK_STAGING, accounts its resources
// and hands it to the agent. Must hold m.mu.
func (m *Master) startTask(lc *launchContext, t mesos.TaskInfo) {
	fw, a := lc.fw, lc.agent
	staging := mesos.TASK_STAGING
	tk := &task{
		framework: fw.id.Value,
		agent:     a.id,
		info:      t,
		resources: normalize(t.Resources),
		status: mesos.TaskStatus{
			TaskID:  t.TaskID,
			State:   &staging,
			AgentID: &mesos.AgentID{Value: a.id},
		},
	}
	if t.Executor != nil {
		eid := t.Executor.ExecutorID.Value
		tk.executor = eid
		tk.status.ExecutorID = &mesos.ExecutorID{Value: eid}
		key := execKey{a.id, fw.id.Value, eid}
		if m.executors[key] == nil {
			m.putExecutor(key, &executor{info: *t.Executor, resources: normalize(t.Executor.Resources)})
			lc.pending[eid] = t.Executor
		}
	}
	m.putTask(taskKey{fw.id.Value, t.TaskID.Value}, tk)
	m.log.Info("launching task", "framework_id", fw.id.Value, "task_id", t.TaskID.Value,
		"agent_id", a.id, "resources", tk.resources.String())
	info := fw.info
	a.do(func(ag Agent) { ag.LaunchTask(info, t) })
}

// taskError reports a task the master refused to launch.
func (m *Master) taskError(fw *framework, t mesos.TaskInfo, agent string, reason mesos.TaskStatus_Reason, msg string) {
	m.log.Info("task refused", "framework_id", fw.id.Value, "task_id", t.TaskID.Value, "reason", msg)
	fw.send(updateEvent(masterStatus(t.TaskID, agent, mesos.TASK_ERROR, reason, msg)))
}

// failLaunches sends one master update per task of every LAUNCH and
// LAUNCH_GROUP operation.
func (m *Master) failLaunches(fw *framework, ops []mesos.Offer_Operation, agent string,
	state mesos.TaskState, reason mesos.TaskStatus_Reason, msg string) {
	for _, op := range ops {
		var tasks []mesos.TaskInfo
		switch {
		case op.Type == mesos.Offer_Operation_LAUNCH && op.Launch != nil:
			tasks = op.Launch.TaskInfos
		case op.Type == mesos.Offer_Operation_LAUNCH_GROUP && op.LaunchGroup != nil:
			tasks = op.LaunchGroup.TaskGroup.Tasks
		}
		for _, t := range tasks {
			ag := agent
			if ag == "" {
				ag = t.AgentID.Value
			}
			fw.send(updateEvent(masterStatus(t.TaskID, ag, state, reason, msg)))
		}
	}
}

// takeOffers validates the offer ids of an ACCEPT or DECLINE and removes
// the offers. On error the still-valid offers are discarded without a
// filter, as Mesos does. Must hold m.mu.
func (m *Master) takeOffers(fw *framework, ids []mesos.OfferID) ([]*offer, error) {
	err := m.checkOffers(fw, ids)
	var out []*offer
	for _, id := range ids {
		o := m.offers[id.Value]
		if o == nil || o.framework != fw.id.Value {
			continue
		}
		m.dropOffer(id.Value)
		out = append(out, o)
	}
	if err != nil {
		m.kickAllocator()
		return nil, err
	}
	return out, nil
}

func (m *Master) checkOffers(fw *framework, ids []mesos.OfferID) error {
	if len(ids) == 0 {
		return errors.New("no offer ids given")
	}
	seen := map[string]bool{}
	var agent, role string
	for i, id := range ids {
		if seen[id.Value] {
			return fmt.Errorf("duplicate offer %s", id.Value)
		}
		seen[id.Value] = true
		o := m.offers[id.Value]
		if o == nil {
			return fmt.Errorf("offer %s is no longer valid", id.Value)
		}
		if o.framework != fw.id.Value {
			return fmt.Errorf("offer %s has invalid framework %s", id.Value, o.framework)
		}
		if i == 0 {
			agent, role = o.agent, o.role
			continue
		}
		if o.agent != agent {
			return fmt.Errorf("aggregated offers must belong to one single agent; offer %s is on %s, not %s",
				id.Value, o.agent, agent)
		}
		if o.role != role {
			return fmt.Errorf("aggregated offers must be allocated to the same role; offer %s has %s, not %s",
				id.Value, o.role, role)
		}
	}
	return nil
}

// declineOffers handles DECLINE: unknown ids are ignored, known ones are
// returned to the pool with the call's filters. Must hold m.mu.
func (m *Master) declineOffers(fw *framework, d *scheduler.Call_Decline, now time.Time) {
	for _, id := range d.OfferIDs {
		o := m.offers[id.Value]
		if o == nil || o.framework != fw.id.Value {
			continue
		}
		m.dropOffer(id.Value)
		m.decline(fw, o.agent, o.role, o.resources, d.Filters, now)
	}
}
