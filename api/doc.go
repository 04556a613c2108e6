// Package api is fob's HTTP front end. It registers functions (the desired
// state, written to state), lists and describes them, and proxies calls to
// the executors that host running instances.
//
// The call path never touches the Mesos master and never writes state: it
// resolves a function through an in-memory route index that the state
// store's published changes keep current, one function at a time, picks the instance with the fewest calls in
// flight, and passes the executor's answer through byte for byte.
package api
