package scheduler

import (
	"errors"

	"github.com/fob-project/fob/state"
)

// updateWrites collects the writes of a batch of status updates, to be
// committed as one, and serves reads of what earlier updates of the same
// batch wrote: a task can get STARTING and RUNNING in one batch, and a
// function's status can count two failures.
type updateWrites struct {
	store    *state.Store
	batch    state.Batch
	tasks    map[string]*state.Task
	statuses map[string]*state.FunctionStatus
}

func newUpdateWrites(store *state.Store) *updateWrites {
	return &updateWrites{store: store, tasks: map[string]*state.Task{}, statuses: map[string]*state.FunctionStatus{}}
}

// task returns the task as the batch leaves it so far.
func (w *updateWrites) task(id string) (*state.Task, error) {
	if t, ok := w.tasks[id]; ok {
		return t, nil
	}
	return w.store.Task(nil, id)
}

// status returns a function's status as the batch leaves it so far, nil
// if it has none.
func (w *updateWrites) status(functionID string) (*state.FunctionStatus, error) {
	if st, ok := w.statuses[functionID]; ok {
		return st, nil
	}
	st, err := w.store.Status(nil, functionID)
	if errors.Is(err, state.ErrNotFound) {
		return nil, nil
	}
	return st, err
}

func (w *updateWrites) putTask(t *state.Task) {
	w.tasks[t.ID] = t
	w.batch.PutTask(t)
}

func (w *updateWrites) putStatus(st *state.FunctionStatus) {
	w.statuses[st.FunctionID] = st
	w.batch.PutStatus(st)
}
