package state

import (
	memdb "github.com/hashicorp/go-memdb"
)

// Snapshot is a consistent read-only view of the whole store at one
// instant: reads through it see no write committed after it was taken,
// however long it is kept. Taking one is cheap (memdb is immutable).
type Snapshot struct {
	txn *memdb.Txn
}

// Snapshot returns a view of the store as it is now.
func (s *Store) Snapshot() *Snapshot {
	return &Snapshot{txn: s.db.Txn(false)}
}

// Function returns the function with id, or ErrNotFound.
func (sn *Snapshot) Function(id string) (*Function, error) {
	return firstAs[Function](sn.txn, tableFunctions, indexID, id)
}

// Functions returns every function, ordered by id.
func (sn *Snapshot) Functions() ([]*Function, error) {
	return allAs[Function](sn.txn, tableFunctions, indexID)
}

// Task returns the task with id, or ErrNotFound.
func (sn *Snapshot) Task(id string) (*Task, error) {
	return firstAs[Task](sn.txn, tableTasks, indexID, id)
}

// Tasks returns every task, ordered by id.
func (sn *Snapshot) Tasks() ([]*Task, error) {
	return allAs[Task](sn.txn, tableTasks, indexID)
}

// TasksOf returns the tasks of one function, ordered by id.
func (sn *Snapshot) TasksOf(functionID string) ([]*Task, error) {
	return allAs[Task](sn.txn, tableTasks, indexFunction, functionID)
}

// Status returns the status of a function, or ErrNotFound.
func (sn *Snapshot) Status(functionID string) (*FunctionStatus, error) {
	return firstAs[FunctionStatus](sn.txn, tableStatuses, indexID, functionID)
}

// Statuses returns every function status, ordered by function id.
func (sn *Snapshot) Statuses() ([]*FunctionStatus, error) {
	return allAs[FunctionStatus](sn.txn, tableStatuses, indexID)
}

func firstAs[T any](txn *memdb.Txn, table, index, arg string) (*T, error) {
	obj, err := first(txn, nil, table, index, arg)
	if err != nil {
		return nil, err
	}
	return obj.(*T), nil
}

func allAs[T any](txn *memdb.Txn, table, index string, args ...any) ([]*T, error) {
	objs, err := all(txn, nil, table, index, args...)
	if err != nil {
		return nil, err
	}
	out := make([]*T, len(objs))
	for i, o := range objs {
		out[i] = o.(*T)
	}
	return out, nil
}
