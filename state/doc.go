// Package state is the one place fob's state lives: functions (desired
// state, written by the API), tasks and function statuses (actual state,
// written by the scheduler) and the framework id.
//
// Reads are lock-free snapshots of go-memdb; every read can add watch
// channels to a memdb.WatchSet so a caller blocks until the data it read
// changes instead of polling. A Watch is the incremental way to follow a
// table: it hands over what changed, object by object, so a follower's cost
// grows with the changes, not with the table. Writes are durable before they
// are visible: each one is committed to a bbolt file (with group commit) and
// only then to memdb, so anything a client was told about survives a crash.
// A Batch makes several writes durable with one disk sync.
//
// Objects returned by the store are shared snapshots: never mutate them.
// Copy, change, and write the copy back.
package state
