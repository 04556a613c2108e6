package agent

import (
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
)

// This file holds the methods the master calls. None of them blocks on
// executors or the master; the work they start continues on goroutines.

// LaunchTask runs a task: on its custom executor (task.Executor), starting
// the executor if it is not running yet, or as a command task
// (task.Command) run by the agent's built-in command executor.
func (a *Agent) LaunchTask(fwInfo mesos.FrameworkInfo, task mesos.TaskInfo) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return
	}
	fw := a.frameworkLocked(fwInfo)
	log := a.log.With("framework_id", fw.id().Value, "task_id", task.TaskID.Value)

	info, command := executorFor(fw, task)
	if info == nil {
		a.sendUpdateLocked(fw, nil, a.agentStatus(task.TaskID, nil, mesos.TASK_ERROR, mesos.REASON_TASK_INVALID,
			"Task must set exactly one of 'executor' and 'command'"))
		return
	}
	log = log.With("executor_id", info.ExecutorID.Value)
	if ex := fw.executors[info.ExecutorID.Value]; ex != nil {
		switch ex.state {
		case executorRegistering:
			ex.queued = append(ex.queued, task)
			log.Debug("task queued until the executor subscribes")
		case executorRunning:
			a.deliverLocked(ex, task)
		default:
			a.sendUpdateLocked(fw, nil, a.agentStatus(task.TaskID, &info.ExecutorID, lostState(fw),
				mesos.REASON_EXECUTOR_TERMINATED, "Executor is terminating"))
		}
		return
	}
	ex := &executorRun{
		fw:          fw,
		info:        *info,
		containerID: newContainerID(),
		command:     command,
		launched:    map[string]*taskRecord{},
		queued:      []mesos.TaskInfo{task},
	}
	ex.sandbox = a.sandboxDir(fw.id(), info.ExecutorID, ex.containerID)
	fw.executors[info.ExecutorID.Value] = ex
	log.Info("launching executor", "container_id", ex.containerID, "command_task", command)
	a.wg.Add(1)
	go a.launch(ex, task)
}

// KillTask kills a task: one not yet delivered to its executor is answered
// by the agent with TASK_KILLED; otherwise the executor gets a KILL event
// (command tasks: the agent signals the command).
func (a *Agent) KillTask(fwID mesos.FrameworkID, taskID mesos.TaskID, policy *mesos.KillPolicy) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fw := a.frameworks[fwID.Value]
	if fw == nil {
		a.log.Warn("kill for unknown framework ignored", "framework_id", fwID.Value, "task_id", taskID.Value)
		return
	}
	log := a.log.With("framework_id", fwID.Value, "task_id", taskID.Value)
	for _, ex := range fw.executors {
		rec, idx := ex.task(taskID)
		switch {
		case idx >= 0:
			ex.queued = append(ex.queued[:idx], ex.queued[idx+1:]...)
			a.sendUpdateLocked(fw, ex, a.agentStatus(taskID, &ex.info.ExecutorID, mesos.TASK_KILLED,
				mesos.REASON_TASK_KILLED_DURING_LAUNCH, "Task killed before it was delivered to the executor"))
			if ex.command {
				// Nothing else would ever run in this container.
				a.shutdownExecutorLocked(ex)
			}
			log.Info("task killed during launch", "executor_id", ex.info.ExecutorID.Value)
			return
		case rec != nil:
			if isTerminal(rec.state) {
				log.Debug("kill for a terminated task ignored", "state", rec.state.String())
				return
			}
			if ex.command {
				a.killCommandLocked(ex, policy)
				return
			}
			ev := &executor.Event{Type: executor.Event_KILL, Kill: &executor.Event_Kill{TaskID: taskID, KillPolicy: policy}}
			if !ex.send(ev) {
				log.Warn("kill not delivered: executor not connected", "executor_id", ex.info.ExecutorID.Value)
			}
			return
		}
	}
	if a.updates.hasPending(fwID, taskID) {
		// Finished but not yet acknowledged; the pending update says it all.
		return
	}
	log.Warn("kill for a task without executor")
	a.sendUpdateLocked(fw, nil, a.agentStatus(taskID, nil, lostState(fw), mesos.REASON_EXECUTOR_TERMINATED,
		"Cannot find executor"))
}

// ShutdownExecutor sends the executor SHUTDOWN and destroys its container
// after the grace period.
func (a *Agent) ShutdownExecutor(fwID mesos.FrameworkID, execID mesos.ExecutorID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fw := a.frameworks[fwID.Value]
	if fw == nil || fw.executors[execID.Value] == nil {
		a.log.Warn("shutdown of unknown executor ignored", "framework_id", fwID.Value, "executor_id", execID.Value)
		return
	}
	a.shutdownExecutorLocked(fw.executors[execID.Value])
}

// ShutdownFramework shuts down every executor of the framework and forgets
// its pending status updates.
func (a *Agent) ShutdownFramework(fwID mesos.FrameworkID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fw := a.frameworks[fwID.Value]
	if fw == nil {
		return
	}
	a.log.Info("shutting down framework", "framework_id", fwID.Value)
	fw.removing = true
	for _, ex := range fw.executors {
		a.shutdownExecutorLocked(ex)
	}
	a.updates.removeFramework(fwID)
	if len(fw.executors) == 0 {
		delete(a.frameworks, fwID.Value)
	}
}

// Acknowledge passes on the scheduler's acknowledgement of a status
// update. Only the uuid of the update in flight counts; others are ignored.
func (a *Agent) Acknowledge(fwID mesos.FrameworkID, taskID mesos.TaskID, uuid []byte) {
	ok, terminal := a.updates.ack(fwID, taskID, uuid)
	if !ok {
		a.log.Debug("acknowledgement ignored: not the update in flight", "framework_id", fwID.Value, "task_id", taskID.Value)
		return
	}
	if !terminal {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if fw := a.frameworks[fwID.Value]; fw != nil {
		for _, ex := range fw.executors {
			if rec := ex.launched[taskID.Value]; rec != nil && isTerminal(rec.state) {
				delete(ex.launched, taskID.Value)
			}
		}
	}
}

// SendFrameworkMessage delivers a scheduler MESSAGE to the executor, best
// effort: without a connected executor it is dropped, as in Mesos.
func (a *Agent) SendFrameworkMessage(fwID mesos.FrameworkID, execID mesos.ExecutorID, data []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	log := a.log.With("framework_id", fwID.Value, "executor_id", execID.Value)
	fw := a.frameworks[fwID.Value]
	if fw == nil || fw.executors[execID.Value] == nil {
		log.Warn("framework message for unknown executor dropped")
		return
	}
	ex := fw.executors[execID.Value]
	if ex.state != executorRunning && ex.state != executorTerminating {
		log.Warn("framework message dropped: executor not subscribed", "executor_state", ex.state.String())
		return
	}
	if !ex.send(&executor.Event{Type: executor.Event_MESSAGE, Message: &executor.Event_Message{Data: nonNil(data)}}) {
		log.Warn("framework message dropped: executor not connected")
	}
}

// FrameworkReconnected resends the framework's pending updates at once.
func (a *Agent) FrameworkReconnected(fwID mesos.FrameworkID) {
	a.updates.resend(fwID)
}

func (a *Agent) frameworkLocked(info mesos.FrameworkInfo) *framework {
	id := ""
	if info.ID != nil {
		id = info.ID.Value
	}
	fw := a.frameworks[id]
	if fw == nil {
		fw = &framework{executors: map[string]*executorRun{}}
		a.frameworks[id] = fw
	}
	fw.info = info
	fw.removing = false
	return fw
}

// executorFor returns the executor a task runs on. Command tasks get an
// ExecutorInfo of their own whose id is the task id, as Mesos gives the
// built-in command executor.
func executorFor(fw *framework, task mesos.TaskInfo) (*mesos.ExecutorInfo, bool) {
	switch {
	case task.Executor != nil && task.Command == nil:
		info := *task.Executor
		if info.FrameworkID == nil {
			id := fw.id()
			info.FrameworkID = &id
		}
		return &info, false
	case task.Command != nil && task.Executor == nil:
		id := fw.id()
		name := "Command Executor (Task: " + task.TaskID.Value + ")"
		source := task.TaskID.Value
		return &mesos.ExecutorInfo{
			Type:        mesos.ExecutorInfo_CUSTOM,
			ExecutorID:  mesos.ExecutorID{Value: task.TaskID.Value},
			FrameworkID: &id,
			Command:     task.Command,
			Container:   task.Container,
			Name:        &name,
			Source:      &source,
		}, true
	}
	return nil, false
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
