// Package scheduler is fob's Mesos framework: a mesos-go v1 HTTP scheduler
// that turns the functions the API stores (desired state) into running Mesos
// tasks, and records what Mesos reports about them (actual state).
//
// All scheduler state belongs to one event-loop goroutine (Run). The
// subscription runs in its own goroutine through mesos-go's controller, one
// controller.Run per subscription, and queues events for the loop (bounded).
// The loop takes what is queued as one batch: its status updates are
// persisted in one write, then each is acknowledged; an event it cannot
// handle ends the subscription. Changes to functions arrive through a
// state.Watch; the loop plans only the functions that changed or whose
// tasks moved (convergeDirty), and every function once a minute. Timers
// (re-subscription backoff, reconciliation rounds, relaunch backoff, REVIVE
// pacing, KILL retries, the heartbeat watchdog) are deadlines the loop
// keeps for itself.
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
//   - converge.go: planning the functions that changed, acting on the plan
//   - wants.go: the instances functions want, for packing offers
//   - updatebatch.go: the writes of a batch of status updates
//   - offers.go, fit.go: offers and fitting instances into them
//   - taskinfo.go: the TaskInfo of an instance (or of a stem)
//   - warm_plan.go, warm.go: the warm pool's stems in the plan, and handing
//     a stem its function with a MESSAGE
//   - statemap.go: the Mesos TaskState table
//   - reconcile.go: task reconciliation
//   - calls.go: calls to the master, REVIVE/SUPPRESS pacing
//   - backoff.go: exponential backoff with jitter
//
// Unit tests feed built events to the loop and check the calls it makes
// through a recording calls.Caller; package scheduler/e2e runs Run against
// mesoslocal.
package scheduler
