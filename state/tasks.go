package state

import (
	memdb "github.com/hashicorp/go-memdb"
)

// PutTask stores t durably. Only the scheduler writes tasks.
func (s *Store) PutTask(t *Task) error {
	return s.upsert(tableTasks, t.ID, t, nil)
}

// DeleteTask forgets the task with id.
func (s *Store) DeleteTask(id string) error {
	return s.remove(tableTasks, id)
}

// Task returns the task with id, or ErrNotFound.
func (s *Store) Task(ws memdb.WatchSet, id string) (*Task, error) {
	obj, err := s.first(ws, tableTasks, indexID, id)
	if err != nil {
		return nil, err
	}
	return obj.(*Task), nil
}

// Tasks returns every task, ordered by id.
func (s *Store) Tasks(ws memdb.WatchSet) ([]*Task, error) {
	return s.tasks(ws, indexID)
}

// TasksOf returns the tasks of one function, ordered by id.
func (s *Store) TasksOf(ws memdb.WatchSet, functionID string) ([]*Task, error) {
	return s.tasks(ws, indexFunction, functionID)
}

// RunningTasksOf returns the tasks of one function that can serve calls.
func (s *Store) RunningTasksOf(ws memdb.WatchSet, functionID string) ([]*Task, error) {
	all, err := s.TasksOf(ws, functionID)
	if err != nil {
		return nil, err
	}
	out := all[:0:0]
	for _, t := range all {
		if t.State == TaskRunning {
			out = append(out, t)
		}
	}
	return out, nil
}

func (s *Store) tasks(ws memdb.WatchSet, index string, args ...any) ([]*Task, error) {
	objs, err := s.all(ws, tableTasks, index, args...)
	if err != nil {
		return nil, err
	}
	out := make([]*Task, len(objs))
	for i, o := range objs {
		out[i] = o.(*Task)
	}
	return out, nil
}
