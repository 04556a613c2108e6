// Package scheduler is fob's Mesos framework: a mesos-go v1 HTTP scheduler
// that turns the functions the API stores (desired state) into running Mesos
// tasks, and records what Mesos reports about them (actual state).
//
// All scheduler state belongs to one event-loop goroutine (Run). The
// subscription runs in its own goroutine through mesos-go's controller, one
// controller.Run per subscription, and hands every event to the loop and
// waits for it to be handled, so an update is persisted before it is
// acknowledged and a failed handler drops the subscription. Store changes
// arrive through memdb watch channels; timers (re-subscription backoff,
// reconciliation rounds, relaunch backoff, REVIVE pacing, KILL retries, the
// heartbeat watchdog) are deadlines the loop keeps for itself.
//
// The durable truth lives in package state: tasks are written before the
// ACCEPT that launches them, status updates before their ACKNOWLEDGE, and the
// framework id as soon as SUBSCRIBED arrives. What the loop keeps in memory is
// transient by nature (the subscription, backoff deadlines, sent KILLs, the
// running reconciliation) and is rebuilt after a restart from state and from
// Mesos.
//
// Files:
//   - config.go: Config, validation and defaults
//   - scheduler.go: New and Run, the event loop's select
//   - session.go: one subscription (controller.Run) and FrameworkInfo
//   - loop.go: the loop's state, timers and heartbeat watchdog
//   - events.go: event dispatch, SUBSCRIBED and ERROR
//   - updates.go: status updates, acknowledgements, function statuses
//   - plan.go: desired versus actual, a pure function
//   - converge.go: acting on the plan
//   - offers.go, fit.go: offers and fitting instances into them
//   - taskinfo.go: the TaskInfo of an instance
//   - statemap.go: the Mesos TaskState table
//   - reconcile.go: task reconciliation
//   - calls.go: calls to the master, REVIVE/SUPPRESS pacing
//   - backoff.go: exponential backoff with jitter
//
// Unit tests feed built events to the loop and check the calls it makes
// through a recording calls.Caller; package scheduler/e2e runs Run against
// mesoslocal.
package scheduler
