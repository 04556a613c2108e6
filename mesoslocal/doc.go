// Package mesoslocal runs an embedded single-process Mesos cluster: one
// master (package master) and local agents (package agent) wired together
// in process, speaking the real v1 scheduler and executor HTTP APIs, so an
// unmodified mesos-go scheduler or executor can run against it. It plays
// the role of the mesos-local binary for fob's embedded mode and tests.
//
// A Cluster is used like net/http/httptest.Server:
//
//	c, err := mesoslocal.Start(ctx, mesoslocal.Config{})
//	if err != nil { ... }
//	defer c.Close()
//	endpoint := c.SchedulerEndpoint() // http://127.0.0.1:NNNNN/api/v1/scheduler
//
// Fault-injection hooks for tests live on c.Master (see package master).
package mesoslocal
