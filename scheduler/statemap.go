package scheduler

import (
	"github.com/fob-project/fob/state"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// taskStates is the one table from Mesos task states to fob's. Every Mesos
// TaskState has an entry; statemap_test.go checks that against the enum.
var taskStates = map[mesos.TaskState]state.TaskState{
	mesos.TASK_STAGING:     state.TaskStaging,
	mesos.TASK_STARTING:    state.TaskStarting,
	mesos.TASK_RUNNING:     state.TaskRunning,
	mesos.TASK_KILLING:     state.TaskKilling,
	mesos.TASK_FINISHED:    state.TaskFinished,
	mesos.TASK_FAILED:      state.TaskFailed,
	mesos.TASK_KILLED:      state.TaskKilled,
	mesos.TASK_ERROR:       state.TaskError,
	mesos.TASK_LOST:        state.TaskLost,
	mesos.TASK_DROPPED:     state.TaskDropped,
	mesos.TASK_UNREACHABLE: state.TaskUnreachable,
	mesos.TASK_GONE:        state.TaskGone,
	// The operator declared the agent gone: for fob the task is gone too.
	mesos.TASK_GONE_BY_OPERATOR: state.TaskGone,
	// The master sends UNKNOWN only for a task it has no record of on any
	// agent it knows (a reconciliation answer, or a KILL of such a task).
	// Nothing will report on that task again, so fob gives it up as lost:
	// a terminal state is what makes it replaced and eventually pruned.
	mesos.TASK_UNKNOWN: state.TaskLost,
}

// fobState maps a Mesos task state to fob's. A state this table does not
// know (a newer Mesos) counts as lost, which makes fob replace the task
// rather than trust it.
func fobState(s mesos.TaskState) state.TaskState {
	if fs, ok := taskStates[s]; ok {
		return fs
	}
	return state.TaskLost
}

// live reports whether a task in state s occupies one of its function's
// instance slots: it runs or is on its way to running. Killing,
// unreachable and terminal tasks do not, so they get replaced.
func live(s state.TaskState) bool {
	switch s {
	case state.TaskStaging, state.TaskStarting, state.TaskRunning:
		return true
	}
	return false
}

// failure reports whether a task ending in state s failed, as opposed to
// being killed on purpose.
func failure(s state.TaskState) bool {
	return s.Terminal() && s != state.TaskKilled
}
