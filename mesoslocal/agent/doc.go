// Package agent is the agent half of mesoslocal, the embedded single-process
// Mesos stand-in. An Agent runs what the master tells it to run and reports
// back through the Master interface:
//
//   - it serves the real v1 executor HTTP API (/api/v1/executor) so that
//     mesos-go executors, and fob's own executor, subscribe to it unchanged;
//   - it keeps a status update manager that forwards executor updates to the
//     master one at a time per task and retries them until acknowledged;
//   - it fetches CommandInfo.uris into a per-run sandbox and starts executors
//     (or, for command tasks, the command itself) through a Containerizer.
//
// The agent does no resource accounting; the master decides what fits.
//
// Three containerizers (NewContainerizer):
//
//   - ProcessContainerizer runs each container as a child process group of
//     the agent; the kernel kills its first process when the agent's
//     process dies. With Isolation, as root, it adds namespaces (the whole
//     container then dies with that process), a private filesystem view, a
//     uid per container and cgroup limits (isolation_linux.go);
//   - SimulatedContainerizer runs nothing and plays an in-process executor,
//     for scheduler measurements with thousands of tasks;
//   - DockerContainerizer runs DOCKER containers through the docker CLI
//     and needs a reachable engine.
//
// Sandboxes follow the Mesos layout:
//
//	<work_dir>/slaves/<agent_id>/frameworks/<framework_id>/executors/<executor_id>/runs/<container_id>
//
// with the executor's output in the files stdout and stderr inside it.
package agent
