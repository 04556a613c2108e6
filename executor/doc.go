// Package executor is fob's custom Mesos executor. The agent starts it
// (`fob executor`) for one task, one instance of one function; it speaks
// the v1 executor HTTP API to the agent with mesos-go's client and runs
// the function through a pool of language workers.
//
// Life of a task:
//
//	SUBSCRIBE ─▶ SUBSCRIBED ─▶ LAUNCH(task.data = FunctionSpec)
//	  TASK_STARTING
//	  fetch the code (Bearer secret, retried, SHA-256 checked)
//	  write the driver's shim and function<ext> into the sandbox
//	  start the worker pool and wait until the code has loaded
//	  serve POST /call on Bind:spec.port
//	  TASK_RUNNING                     (load error ⇒ TASK_FAILED "SyntaxError: …")
//	KILL / SHUTDOWN / stop signal ─▶ refuse new calls, drain, kill workers
//	  TASK_KILLED ─▶ exit once the agent acknowledges it (bounded by the grace period)
//
// Every UPDATE carries a fresh uuid and SOURCE_EXECUTOR and stays in the
// unacknowledged set until the agent's ACKNOWLEDGED; a resubscription
// hands the set back to the agent. A broken stream is resubscribed with
// backoff, within MESOS_RECOVERY_TIMEOUT, only when the framework
// checkpoints; otherwise Run returns ErrAgentLost.
//
// Subpackages: worker (processes, framing, pool) and callserver (HTTP).
package executor
