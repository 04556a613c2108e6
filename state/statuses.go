package state

import (
	"errors"

	memdb "github.com/hashicorp/go-memdb"
)

// PutStatus stores a function's status durably. Only the scheduler writes
// statuses.
func (s *Store) PutStatus(st *FunctionStatus) error {
	return s.upsert(tableStatuses, st.FunctionID, st, nil)
}

// DeleteStatus forgets the status of a function.
func (s *Store) DeleteStatus(functionID string) error {
	return s.remove(tableStatuses, functionID)
}

// Status returns the status of a function, or ErrNotFound before the
// scheduler has looked at it.
func (s *Store) Status(ws memdb.WatchSet, functionID string) (*FunctionStatus, error) {
	obj, err := s.first(ws, tableStatuses, indexID, functionID)
	if err != nil {
		return nil, err
	}
	return obj.(*FunctionStatus), nil
}

// Statuses returns every function status.
func (s *Store) Statuses(ws memdb.WatchSet) ([]*FunctionStatus, error) {
	objs, err := s.all(ws, tableStatuses, indexID)
	if err != nil {
		return nil, err
	}
	out := make([]*FunctionStatus, len(objs))
	for i, o := range objs {
		out[i] = o.(*FunctionStatus)
	}
	return out, nil
}

const keyFrameworkID = "framework_id"

// SetFrameworkID records the id Mesos gave the framework, durably, so a
// restarted scheduler re-subscribes as the same framework.
func (s *Store) SetFrameworkID(id string) error {
	return s.upsert(tableMeta, keyFrameworkID, &meta{Key: keyFrameworkID, Value: id}, nil)
}

// FrameworkID returns the recorded framework id, or "" if none.
func (s *Store) FrameworkID() (string, error) {
	obj, err := s.first(nil, tableMeta, indexID, keyFrameworkID)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return obj.(*meta).Value, nil
}
