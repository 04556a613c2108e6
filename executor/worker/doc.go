// Package worker runs a function's language workers and talks to them.
//
// A worker is a child process (the language driver's command, e.g.
// `python3 -u fob_worker.py function.py`) in the task sandbox and in its own
// process group. It loads the function once and then serves calls one at a
// time. The executor and the worker speak over two pipes that are not the
// worker's stdout: fd 3 carries requests to the worker, fd 4 carries its
// answers. The worker's stdout and stderr are the function's log, so
// whatever the function prints never corrupts a call.
//
// Framing: every message is a 4-byte big-endian length n, then n bytes: a
// kind byte and n-1 bytes of payload.
//
//	worker → executor, once:  L (loaded)  or  E {"type","message","traceback"}
//	                          W (waiting: started without code, see below)
//	executor → worker, once:  F {"code": path, "env": {…}}  ⇒  L or E
//	executor → worker:        C <parameters: a JSON object, as the client sent it>
//	worker → executor:        R <result: JSON>
//	                          X {"type","message","traceback"}  (the function raised)
//	                          B {"type","message","traceback"}  (parameters do not bind)
//
// Parameters and results pass through as bytes; neither side re-encodes
// them. A Pool keeps Size warm workers, serves each call on the caller's
// goroutine, enforces the per-call deadline by killing the worker's process
// group, and replaces workers that die or time out in the background.
//
// A pool started with Config.Waiting runs the driver's WaitCommand: its
// workers start without code and answer W. That is a stem of the warm
// pool: the interpreters are up before anyone registered a function. Load
// then sends every worker an F frame naming the code (and the function's
// environment), grows the pool if the function wants more workers, and
// opens it to calls; a worker that replaces a dead one later starts
// waiting and is handed the same F frame before it joins the pool.
package worker
