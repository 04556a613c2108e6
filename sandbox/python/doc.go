// Package python is fob's Python 3 language driver.
//
// A Python function is a module that defines callme. Parameters arrive as
// keyword arguments, typed as the caller sent them (JSON values; the seed's
// ?a:1,b:2 form gives strings), and callme returns anything the json module
// can encode:
//
//	def callme(a, b=0):
//	    return a + b
//
// The worker (worker.py, written into the sandbox as fob_worker.py) loads
// the code once as module "function" under the file name function.py, so
// errors read "SyntaxError: invalid syntax (function.py, line 2)". Before
// each call it binds the parameters to callme's signature; a mismatch is the
// caller's error (HTTP 400), not an exception of the function. Any
// BaseException the function raises, SystemExit included, is reported with
// its type, message and traceback and leaves the worker serving. print()
// goes to the function's log; the protocol runs on fds 3 and 4. For a plain
// function the binding reads callme's code object, with inspect's rules and
// messages, rather than importing inspect: that import would be a third of
// a worker's start-up cpu, spent inside the instance's cpu quota.
//
// Started without a code path (WaitCommand, for stems of the warm pool)
// the worker says it waits and loads the code a load frame names, with
// the function's environment, when a registration claims the stem.
//
// Dockerfile builds the runtime image: python:3.11-slim plus the fob
// binary, which runs as the executor inside the container.
package python
