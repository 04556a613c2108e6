// Package faults holds fob's fault-injection tests: the framework process
// (server.Start) runs in the test process against the embedded Mesos
// stand-in (mesoslocal.Start), with real executors and language workers,
// and every test breaks one thing the way production breaks it (a dropped
// or frozen subscription, a master that restarts or is not the leader, a
// lost or partitioned agent, a killed executor, late or repeated status
// updates, a failed-over or restarted scheduler) and then checks the same
// end state: every acknowledged function answers, no function runs more
// instances than it asked for, and fob and the master agree on the tasks.
package faults
