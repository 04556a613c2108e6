package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"
)

// taskFunctionIndex indexes tasks by function id, the empty id included:
// the warm pool's stems have none yet, and the scheduler plans them
// together with whichever functions it plans, so the tasks of the empty
// function id must be one lookup, not a scan of every task.
type taskFunctionIndex struct{}

var _ memdb.Indexer = taskFunctionIndex{}
var _ memdb.SingleIndexer = taskFunctionIndex{}

func (taskFunctionIndex) FromObject(obj any) (bool, []byte, error) {
	t, ok := obj.(*Task)
	if !ok {
		return false, nil, fmt.Errorf("function index: %T is not a *Task", obj)
	}
	return true, []byte(t.FunctionID + "\x00"), nil
}

func (taskFunctionIndex) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("function index: want one argument, got %d", len(args))
	}
	id, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("function index: argument %T is not a string", args[0])
	}
	return []byte(id + "\x00"), nil
}
