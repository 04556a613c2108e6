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
//	  open function.log (the workers' stdout/stderr pipe, rotated at LogMaxBytes)
//	  start the worker pool and wait until the code has loaded
//	  serve POST /call and GET /logs (task secret only) on Bind:spec.port
//	  TASK_RUNNING                     (load error ⇒ TASK_FAILED "SyntaxError: …")
//	KILL / SHUTDOWN / stop signal ─▶ refuse new calls, drain, kill workers
//	  TASK_KILLED ─▶ exit once the agent acknowledges it (bounded by the grace period)
//
// A stem of the warm pool (a FunctionSpec with no function) starts its
// workers without code and serves 503 until a scheduler MESSAGE hands it a
// function (stem.go):
//
//	LAUNCH(stem spec) ─▶ STARTING, start waiting workers, listen ─▶ TASK_RUNNING {fob.stem}
//	MESSAGE(FunctionSpec) ─▶ fetch, load frame to every worker, ready
//	  TASK_RUNNING {fob.function_id, fob.version}    (load error ⇒ TASK_FAILED)
//
// Every UPDATE carries a fresh uuid and SOURCE_EXECUTOR and stays in the
// unacknowledged set until the agent's ACKNOWLEDGED; a resubscription
// hands the set back to the agent. A broken stream is resubscribed with
// backoff, within MESOS_RECOVERY_TIMEOUT, only when the framework
// checkpoints; otherwise Run returns ErrAgentLost.
//
// A worker that dies of SIGKILL mid-call while the executor's memory
// cgroup (FOB_CGROUP_MEMORY, else /proc/self/cgroup) counts a new OOM kill
// was killed for exceeding the memory limit; the call says so.
//
// Subpackages: worker (processes, framing, pool), callserver (HTTP),
// funclog (the bounded function log) and memcg (the OOM-kill counter).
package executor
