// Package master is the master half of fob's embedded Mesos stand-in.
//
// It serves the real Mesos v1 scheduler HTTP API (/api/v1/scheduler): the
// SUBSCRIBE event stream in RecordIO framing with JSON or protobuf encoding,
// every scheduler call with the status codes and validation rules of the
// Mesos master, resource offers built from the agents it manages, offer
// filters, framework failover, task and operation reconciliation,
// UPDATE_FRAMEWORK and, when Config.Credentials is set, HTTP framework
// authentication with the Basic scheme. Unmodified mesos-go clients run
// against it.
//
// The master does not run tasks. It talks to agents through the Agent
// interface (in-process calls) and agents report back through the methods
// StatusUpdate, ExecutorMessage and ExecutorTerminated. The package
// mesoslocal wires a Master and its agents into one cluster.
//
// Concurrency: all master state is guarded by one mutex. Work that leaves the
// master (events to a scheduler stream, calls into an agent) is put on
// per-destination FIFO queues while the mutex is held and delivered by
// dedicated goroutines, so ordering is preserved and an agent may call back
// into the master from any of its methods without deadlocking.
//
// Methods documented as test hooks (DropStream, FreezeStream, Restart,
// RemoveAgent, RescindOffer, Offers, SetRedirect, SetUnavailable and
// SetUpdateFault) inject the faults a production scheduler must survive.
package master
