package state

import (
	"time"
)

// Limits bound one instance of a function.
type Limits struct {
	MemoryMB    int           `json:"memory_mb"`
	CPUs        float64       `json:"cpus"`
	Timeout     time.Duration `json:"timeout"`
	Concurrency int           `json:"concurrency"`
}

// Function is a registered function: the desired state the API writes.
type Function struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Language string `json:"language"`
	Code     []byte `json:"code"`
	// Digest is the hex SHA-256 of Code; executors verify fetched code with it.
	Digest string `json:"digest"`
	// Version grows by one each time the code or limits change; tasks carry
	// the version they run so a rollout can tell old instances from new.
	Version   uint64    `json:"version"`
	Limits    Limits    `json:"limits"`
	Instances int       `json:"instances"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Copy returns a copy that may be changed and written back.
func (f *Function) Copy() *Function {
	c := *f
	return &c
}

// TaskState is fob's view of a Mesos task's state.
type TaskState string

// Task states, one per Mesos TaskState fob can observe.
const (
	TaskStaging     TaskState = "staging"
	TaskStarting    TaskState = "starting"
	TaskRunning     TaskState = "running"
	TaskKilling     TaskState = "killing"
	TaskFinished    TaskState = "finished"
	TaskFailed      TaskState = "failed"
	TaskKilled      TaskState = "killed"
	TaskLost        TaskState = "lost"
	TaskError       TaskState = "error"
	TaskDropped     TaskState = "dropped"
	TaskUnreachable TaskState = "unreachable"
	TaskGone        TaskState = "gone"
	TaskUnknown     TaskState = "unknown"
)

// Terminal reports whether a task in this state will never run again.
// Unreachable and unknown are not terminal: such a task may come back.
func (s TaskState) Terminal() bool {
	switch s {
	case TaskFinished, TaskFailed, TaskKilled, TaskLost, TaskError, TaskDropped, TaskGone:
		return true
	}
	return false
}

// Task is one launched instance of a function: actual state the scheduler
// writes from Mesos status updates.
//
// A task may also be a stem of the warm pool: an executor launched with
// warm workers of a language and no function (FunctionID empty). When fob
// hands it a function, the same task becomes an instance of that function
// (FunctionID, Version and SpecialisedAt set) without a new launch.
type Task struct {
	ID         string `json:"id"`
	FunctionID string `json:"function_id"`
	Version    uint64 `json:"version"`
	// Language is the runtime the task's executor runs.
	Language   string    `json:"language,omitempty"`
	AgentID    string    `json:"agent_id,omitempty"`
	ExecutorID string    `json:"executor_id,omitempty"`
	Host       string    `json:"host,omitempty"`
	Port       uint32    `json:"port,omitempty"`
	State      TaskState `json:"state"`
	// Message and Reason are the last status update's, e.g. a load error.
	Message string `json:"message,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Secret authenticates this task's executor when it fetches the code.
	Secret     string    `json:"secret"`
	LaunchedAt time.Time `json:"launched_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// SpecialisedAt is when fob told this task, launched as a stem, to
	// load its function; zero for a task launched for its function and
	// for a stem not handed one yet.
	SpecialisedAt time.Time `json:"specialised_at,omitzero"`
}

// Copy returns a copy that may be changed and written back.
func (t *Task) Copy() *Task {
	c := *t
	return &c
}

// IsStem reports whether t is a stem of the warm pool that has no function
// yet.
func (t *Task) IsStem() bool {
	return t.FunctionID == ""
}

// Phase summarises a function's instances for users.
type Phase string

// Function phases.
const (
	PhasePending      Phase = "pending"
	PhaseRunning      Phase = "running"
	PhaseFailed       Phase = "failed"
	PhaseCrashLooping Phase = "crash-looping"
)

// FunctionStatus is the scheduler's verdict on a function: whether it is
// running, and why not when it is not.
type FunctionStatus struct {
	FunctionID string `json:"function_id"`
	Version    uint64 `json:"version"`
	Phase      Phase  `json:"phase"`
	// LastError is what made the last instance fail, e.g. a SyntaxError.
	LastError string `json:"last_error,omitempty"`
	// Failures counts consecutive failed launches of this version.
	Failures  int       `json:"failures"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Copy returns a copy that may be changed and written back.
func (s *FunctionStatus) Copy() *FunctionStatus {
	c := *s
	return &c
}
