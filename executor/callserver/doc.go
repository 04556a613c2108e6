// Package callserver is the executor's HTTP endpoint for calls. fob's API
// proxies each call of a function to its instance here, over a pooled
// keep-alive connection; the body the server writes is passed through to the
// user unchanged.
//
//	POST /call   body: a JSON object of parameters (empty body: none)
//	  200 {"result": <the function's JSON result, spliced as the worker sent it>}
//	  400 {"error": "..."}  the body is not a JSON object, or the parameters
//	                        do not bind to callme's signature
//	  405 {"error": "..."}  not POST
//	  413 {"error": "..."}  the body exceeds the size limit
//	  429 {"error": "..."}  every worker busy and the queue full (Retry-After: 1)
//	  500 {"error": "ZeroDivisionError: division by zero",
//	       "exception": {"type": "...", "message": "...", "traceback": "..."}}
//	                        the function raised (a result that is not JSON
//	                        serialisable is a TypeError here), or the kernel
//	                        killed the worker for exceeding the memory limit:
//	                        exception type "MemoryLimitExceeded", message
//	                        "the function exceeded its memory limit of N MB …"
//	  502 {"error": "..."}  the worker died during the call for another
//	                        reason ("was killed by SIGKILL", "exited with
//	                        status 1"); it is being replaced
//	  503 {"error": "..."}  not ready yet, or shutting down
//	  504 {"error": "call exceeded the 30s deadline"}  the worker was killed
//	                        and is being replaced
//	GET /logs?tail=N  the last N lines (default 100, at most 10000 lines and
//	              1 MiB) of the function's stdout and stderr, text/plain.
//	              Needs "Authorization: Bearer <task secret>" (401 without):
//	              fob's API fetches it for GET /api/logs/{id}
//	GET /healthz  200 {"status":"ok"} once ready, else 503
//
// Requests are bounded: bodies by MaxBody (413), headers by MaxHeaderBytes
// (431, from net/http).
//
// The call path reads the body straight into the frame sent to the worker
// and writes the result into the same pooled buffer: one allocation-light
// pass, no JSON decoding of parameters or results.
package callserver
