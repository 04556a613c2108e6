package state

import (
	"sync"

	memdb "github.com/hashicorp/go-memdb"
)

// Tables selects the tables a Watch follows.
type Tables uint8

// Tables a Watch can follow; combine them with |.
const (
	WatchFunctions Tables = 1 << iota
	WatchTasks
	WatchStatuses
)

// Change is what happened to one object since a watcher last took its
// changes: Before is the object as it was then and After as it is now;
// nil is "absent". Both are shared snapshots: never mutate them.
type Change[T any] struct {
	Before, After *T
}

// Changes are the net changes to the watched tables since the last Take,
// by key (function id, task id, function id of a status). Several writes
// to one object fold into one Change, so what a Watch holds is bounded by
// the number of objects, however slowly it is read.
type Changes struct {
	Functions map[string]Change[Function]
	Tasks     map[string]Change[Task]
	Statuses  map[string]Change[FunctionStatus]
}

// Len is the number of changed objects.
func (c Changes) Len() int {
	return len(c.Functions) + len(c.Tasks) + len(c.Statuses)
}

// Watch follows committed writes to some tables. Ready wakes whenever
// changes are waiting; Take returns them. A Watch is the incremental
// alternative to re-reading whole tables after every memdb watch fires:
// its cost grows with what changed, not with what is stored.
type Watch struct {
	s      *Store
	tables Tables
	ready  chan struct{}

	mu      sync.Mutex
	pending Changes
}

// Watch starts following the given tables and returns, with the watch, a
// snapshot of the store that holds exactly the writes published before the
// watch began: snapshot plus every later Take is the whole history, with
// nothing missed and nothing seen twice. Close the watch when done.
func (s *Store) Watch(tables Tables) (*Watch, *Snapshot) {
	w := &Watch{s: s, tables: tables, ready: make(chan struct{}, 1)}
	w.pending = w.emptyChanges()
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	s.watches[w] = struct{}{}
	return w, &Snapshot{txn: s.db.Txn(false)}
}

// Ready receives a value when changes are waiting to be taken. One value
// may stand for many writes.
func (w *Watch) Ready() <-chan struct{} { return w.ready }

// Take returns the changes since the last Take and forgets them.
func (w *Watch) Take() Changes {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending.Len() == 0 {
		// Not the pending maps themselves: the store keeps writing them.
		return Changes{}
	}
	c := w.pending
	w.pending = w.emptyChanges()
	return c
}

// Close stops the watch; the store stops collecting changes for it.
func (w *Watch) Close() {
	w.s.pubMu.Lock()
	defer w.s.pubMu.Unlock()
	delete(w.s.watches, w)
}

func (w *Watch) emptyChanges() Changes {
	var c Changes
	if w.tables&WatchFunctions != 0 {
		c.Functions = map[string]Change[Function]{}
	}
	if w.tables&WatchTasks != 0 {
		c.Tasks = map[string]Change[Task]{}
	}
	if w.tables&WatchStatuses != 0 {
		c.Statuses = map[string]Change[FunctionStatus]{}
	}
	return c
}

// add folds one transaction's changes into the pending ones. Called with
// the store's pubMu held, in commit order.
func (w *Watch) add(changes memdb.Changes) {
	n := 0
	w.mu.Lock()
	for _, ch := range changes {
		switch ch.Table {
		case tableFunctions:
			if w.pending.Functions != nil {
				before, after := asPtr[Function](ch.Before), asPtr[Function](ch.After)
				fold(w.pending.Functions, keyOf(before, after, func(f *Function) string { return f.ID }), before, after)
				n++
			}
		case tableTasks:
			if w.pending.Tasks != nil {
				before, after := asPtr[Task](ch.Before), asPtr[Task](ch.After)
				fold(w.pending.Tasks, keyOf(before, after, func(t *Task) string { return t.ID }), before, after)
				n++
			}
		case tableStatuses:
			if w.pending.Statuses != nil {
				before, after := asPtr[FunctionStatus](ch.Before), asPtr[FunctionStatus](ch.After)
				fold(w.pending.Statuses, keyOf(before, after, func(s *FunctionStatus) string { return s.FunctionID }), before, after)
				n++
			}
		}
	}
	w.mu.Unlock()
	if n > 0 {
		select {
		case w.ready <- struct{}{}:
		default:
		}
	}
}

// fold records a change of key, keeping the oldest Before and the newest
// After. An object created and deleted again since the last Take is no
// change at all.
func fold[T any](m map[string]Change[T], key string, before, after *T) {
	if prev, ok := m[key]; ok {
		before = prev.Before
	}
	if before == nil && after == nil {
		delete(m, key)
		return
	}
	m[key] = Change[T]{Before: before, After: after}
}

func asPtr[T any](obj any) *T {
	if obj == nil {
		return nil
	}
	return obj.(*T)
}

func keyOf[T any](before, after *T, key func(*T) string) string {
	if after != nil {
		return key(after)
	}
	return key(before)
}
