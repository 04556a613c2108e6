package executor

import (
	"context"
	"crypto/rand"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
)

// newUUID returns a random (version 4) UUID's 16 raw bytes, the form Mesos
// wants in TaskStatus.uuid.
func newUUID() []byte {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b
}

// update sends a status update for taskID and keeps it until the agent
// acknowledges it. A failed send is not retried here: the update stays in
// the unacknowledged set, which the next SUBSCRIBE hands to the agent.
// Updates are sent one at a time so that the agent sees a task's states in
// the order they happened. It returns the update's uuid.
func (e *Executor) update(ctx context.Context, taskID string, state mesos.TaskState, message string, reason *mesos.TaskStatus_Reason, labels ...mesos.Label) []byte {
	status := mesos.TaskStatus{
		TaskID:     mesos.TaskID{Value: taskID},
		State:      state.Enum(),
		Source:     mesos.SOURCE_EXECUTOR.Enum(),
		Reason:     reason,
		ExecutorID: &mesos.ExecutorID{Value: e.cfg.ExecutorID},
		Timestamp:  float64Ptr(float64(time.Now().UnixNano()) / 1e9),
		UUID:       newUUID(),
	}
	if message != "" {
		status.Message = &message
	}
	if len(labels) > 0 {
		status.Labels = &mesos.Labels{Labels: labels}
	}
	e.sendMu.Lock()
	defer e.sendMu.Unlock()
	e.mu.Lock()
	e.unackedUpdates[string(status.UUID)] = executor.Call_Update{Status: status}
	e.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, e.cfg.AgentTimeout)
	defer cancel()
	log := e.log.With("task_id", taskID, "state", state.String())
	if err := calls.SendNoData(ctx, e.sender, calls.NonStreaming(calls.Update(status))); err != nil {
		log.Warn("send status update; it will be resent on resubscription", "error", err)
	} else {
		log.Info("sent status update", "message", message)
	}
	return status.UUID
}

func float64Ptr(f float64) *float64 { return &f }

// acknowledged drops an update, and the task it launched, from the
// unacknowledged sets, and wakes whoever waits for acknowledgements.
func (e *Executor) acknowledged(taskID mesos.TaskID, uuid []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.unackedUpdates, string(uuid))
	delete(e.unackedTasks, taskID.Value)
	close(e.ackSignal)
	e.ackSignal = make(chan struct{})
}

// waitAcked waits until the update with uuid is acknowledged, at most
// timeout. It reports whether it was.
func (e *Executor) waitAcked(uuid []byte, timeout time.Duration) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		e.mu.Lock()
		_, pending := e.unackedUpdates[string(uuid)]
		signal := e.ackSignal
		e.mu.Unlock()
		if !pending {
			return true
		}
		select {
		case <-signal:
		case <-timer.C:
			return false
		}
	}
}

// unacknowledged lists what a SUBSCRIBE must carry: tasks whose first
// update the agent has not acknowledged and every unacknowledged update,
// oldest first so that the agent replays them in order.
func (e *Executor) unacknowledged() ([]mesos.TaskInfo, []executor.Call_Update) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var tasks []mesos.TaskInfo
	for _, t := range e.unackedTasks {
		tasks = append(tasks, t)
	}
	var updates []executor.Call_Update
	for _, u := range e.unackedUpdates {
		updates = append(updates, u)
	}
	sortUpdates(updates)
	return tasks, updates
}

func sortUpdates(us []executor.Call_Update) {
	// Insertion sort: there are a handful of updates at most.
	for i := 1; i < len(us); i++ {
		for j := i; j > 0 && us[j].Status.GetTimestamp() < us[j-1].Status.GetTimestamp(); j-- {
			us[j], us[j-1] = us[j-1], us[j]
		}
	}
}
