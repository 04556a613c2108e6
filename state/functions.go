package state

import (
	"errors"

	memdb "github.com/hashicorp/go-memdb"
)

// PutFunction stores f durably. A name held by another function is
// ErrNameTaken. Only the API writes functions.
func (s *Store) PutFunction(f *Function) error {
	check := func(txn *memdb.Txn) error {
		if f.Name == "" {
			return nil
		}
		obj, err := txn.First(tableFunctions, indexName, f.Name)
		if err != nil {
			return err
		}
		if obj != nil && obj.(*Function).ID != f.ID {
			return ErrNameTaken
		}
		return nil
	}
	return s.upsert(tableFunctions, f.ID, f, check)
}

// DeleteFunction removes the function with id.
func (s *Store) DeleteFunction(id string) error {
	return s.remove(tableFunctions, id)
}

// Function returns the function with id, or ErrNotFound.
func (s *Store) Function(ws memdb.WatchSet, id string) (*Function, error) {
	obj, err := s.first(ws, tableFunctions, indexID, id)
	if err != nil {
		return nil, err
	}
	return obj.(*Function), nil
}

// FunctionByName returns the function called name, or ErrNotFound.
func (s *Store) FunctionByName(ws memdb.WatchSet, name string) (*Function, error) {
	obj, err := s.first(ws, tableFunctions, indexName, name)
	if err != nil {
		return nil, err
	}
	return obj.(*Function), nil
}

// FunctionByRef resolves ref as an id first and then as a name.
func (s *Store) FunctionByRef(ws memdb.WatchSet, ref string) (*Function, error) {
	f, err := s.Function(ws, ref)
	if errors.Is(err, ErrNotFound) {
		return s.FunctionByName(ws, ref)
	}
	return f, err
}

// Functions returns every function, ordered by id.
func (s *Store) Functions(ws memdb.WatchSet) ([]*Function, error) {
	objs, err := s.all(ws, tableFunctions, indexID)
	if err != nil {
		return nil, err
	}
	out := make([]*Function, len(objs))
	for i, o := range objs {
		out[i] = o.(*Function)
	}
	return out, nil
}
