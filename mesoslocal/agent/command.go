package agent

import (
	"fmt"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// The agent plays Mesos' built-in command executor for command tasks: the
// container runs the task's command directly and the agent reports what
// mesos-executor would (STARTING, RUNNING, then FINISHED, FAILED or
// KILLED), with SOURCE_EXECUTOR.

// commandStartingLocked marks the command task delivered and reports
// TASK_STARTING; the sandbox is ready and the process is about to start.
func (a *Agent) commandStartingLocked(ex *executorRun) {
	if len(ex.queued) == 0 {
		return
	}
	task := ex.queued[0]
	ex.queued = ex.queued[1:]
	ex.launched[task.TaskID.Value] = &taskRecord{info: task, state: mesos.TASK_STAGING}
	ex.hadTasks = true
	a.sendUpdateLocked(ex.fw, ex, a.commandStatus(ex, task.TaskID, mesos.TASK_STARTING, nil, ""))
}

func (a *Agent) commandRunningLocked(ex *executorRun) {
	for _, t := range ex.launched {
		if t.state == mesos.TASK_STARTING {
			a.sendUpdateLocked(ex.fw, ex, a.commandStatus(ex, t.info.TaskID, mesos.TASK_RUNNING, nil, ""))
		}
	}
}

// commandExitedLocked reports how the command ended.
func (a *Agent) commandExitedLocked(ex *executorRun, waitStatus int) {
	ws := syscall.WaitStatus(waitStatus)
	var how string
	switch {
	case ws.Exited():
		how = fmt.Sprintf("Command exited with status %d", ws.ExitStatus())
	case ws.Signaled():
		how = "Command terminated with signal " + ws.Signal().String()
	default:
		how = fmt.Sprintf("Command ended with wait status %d", waitStatus)
	}
	for _, t := range ex.launched {
		if isTerminal(t.state) {
			continue
		}
		state := mesos.TASK_FAILED
		switch {
		case ex.killRequested:
			state = mesos.TASK_KILLED
		case ws.Exited() && ws.ExitStatus() == 0:
			state = mesos.TASK_FINISHED
		}
		a.sendUpdateLocked(ex.fw, ex, a.commandStatus(ex, t.info.TaskID, state, nil, how))
	}
}

// killCommandLocked sends SIGTERM to the command's process group and
// SIGKILL after the grace period: the kill policy of the call, else the
// task's, else 3 seconds like mesos-executor. A second kill may shorten it.
func (a *Agent) killCommandLocked(ex *executorRun, policy *mesos.KillPolicy) {
	if ex.state == executorTerminated {
		return
	}
	ex.killRequested = true
	ex.state = executorTerminating
	grace := DefaultCommandKillGrace
	for _, t := range ex.launched {
		if isTerminal(t.state) {
			continue
		}
		if p := t.info.GetKillPolicy().GetGracePeriod(); p != nil {
			grace = time.Duration(p.Nanoseconds)
		}
		if hasCapability(ex.fw.info, mesos.FrameworkInfo_Capability_TASK_KILLING_STATE) && t.state != mesos.TASK_KILLING {
			a.sendUpdateLocked(ex.fw, ex, a.commandStatus(ex, t.info.TaskID, mesos.TASK_KILLING, nil, ""))
		}
	}
	if p := policy.GetGracePeriod(); p != nil {
		grace = time.Duration(p.Nanoseconds)
	}
	if ex.container == nil {
		// Still launching; launch destroys the container once it exists.
		return
	}
	_ = ex.container.Signal(syscall.SIGTERM)
	if ex.killTimer != nil {
		ex.killTimer.Stop()
	}
	c := ex.container
	ex.killTimer = time.AfterFunc(max(grace, 0), func() { _ = c.Destroy() })
}

func (a *Agent) commandStatus(ex *executorRun, task mesos.TaskID, state mesos.TaskState,
	reason *mesos.TaskStatus_Reason, message string) mesos.TaskStatus {
	agentID := a.cfg.ID
	execID := ex.info.ExecutorID
	ts := nowSeconds()
	src := mesos.SOURCE_EXECUTOR
	st := mesos.TaskStatus{
		TaskID:     task,
		State:      &state,
		Source:     &src,
		Reason:     reason,
		AgentID:    &agentID,
		ExecutorID: &execID,
		Timestamp:  &ts,
		UUID:       newUUID(),
	}
	if message != "" {
		st.Message = &message
	}
	return st
}

func hasCapability(info mesos.FrameworkInfo, c mesos.FrameworkInfo_Capability_Type) bool {
	for _, have := range info.Capabilities {
		if have.Type == c {
			return true
		}
	}
	return false
}
