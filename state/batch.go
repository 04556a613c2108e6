package state

import (
	"fmt"
	"sort"
)

// Batch collects writes of the scheduler's tables (tasks and statuses)
// that Store.Commit makes durable together, in one bbolt transaction and
// one fsync, and then visible together, in one memdb transaction. An event
// loop that writes one object at a time waits for one disk sync per
// object; with a batch it waits for one per batch.
//
// Writes apply in the order they were added; a later write of a key wins.
// The zero value is an empty batch.
type Batch struct {
	ops []batchOp
}

// batchOp is one write: obj is nil for a delete.
type batchOp struct {
	table, key string
	obj        any
}

// PutTask adds a write of t.
func (b *Batch) PutTask(t *Task) { b.ops = append(b.ops, batchOp{tableTasks, t.ID, t}) }

// DeleteTask adds the removal of the task with id.
func (b *Batch) DeleteTask(id string) { b.ops = append(b.ops, batchOp{tableTasks, id, nil}) }

// PutStatus adds a write of a function's status.
func (b *Batch) PutStatus(st *FunctionStatus) {
	b.ops = append(b.ops, batchOp{tableStatuses, st.FunctionID, st})
}

// DeleteStatus adds the removal of a function's status.
func (b *Batch) DeleteStatus(functionID string) {
	b.ops = append(b.ops, batchOp{tableStatuses, functionID, nil})
}

// Len is the number of writes in the batch.
func (b *Batch) Len() int { return len(b.ops) }

// Commit makes every write of b durable and then visible, all or nothing:
// on error nothing of b was written. An empty batch is a no-op.
func (s *Store) Commit(b *Batch) error {
	if b == nil || len(b.ops) == 0 {
		return nil
	}
	defer s.lockKeys(b.ops)()
	if s.disk != nil {
		if err := s.disk.apply(b.ops); err != nil {
			return fmt.Errorf("persist %d writes: %w", len(b.ops), err)
		}
	}
	txn := s.db.Txn(true)
	defer txn.Abort()
	txn.TrackChanges()
	for _, op := range b.ops {
		if op.obj == nil {
			if _, err := txn.DeleteAll(op.table, indexID, op.key); err != nil {
				return fmt.Errorf("delete %s %s: %w", op.table, op.key, err)
			}
			continue
		}
		if err := txn.Insert(op.table, op.obj); err != nil {
			return fmt.Errorf("insert %s %s: %w", op.table, op.key, err)
		}
	}
	s.commit(txn)
	return nil
}

// lockKeys takes the locks of every key in ops, each once and in one
// global order (table order, then stripe), so two batches never deadlock.
func (s *Store) lockKeys(ops []batchOp) func() {
	type lock struct{ table, stripe int }
	tableIndex := make(map[string]int, len(tableOrder))
	for i, t := range tableOrder {
		tableIndex[t] = i
	}
	seen := map[lock]bool{}
	var locks []lock
	for _, op := range ops {
		l := lock{tableIndex[op.table], stripe(op.key)}
		if !seen[l] {
			seen[l] = true
			locks = append(locks, l)
		}
	}
	sort.Slice(locks, func(i, j int) bool {
		if locks[i].table != locks[j].table {
			return locks[i].table < locks[j].table
		}
		return locks[i].stripe < locks[j].stripe
	})
	for _, l := range locks {
		s.keyLocks[tableOrder[l.table]][l.stripe].Lock()
	}
	return func() {
		for i := len(locks) - 1; i >= 0; i-- {
			s.keyLocks[tableOrder[locks[i].table]][locks[i].stripe].Unlock()
		}
	}
}
