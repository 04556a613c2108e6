// Package node is fob's Node.js 20 language driver.
//
// A Node function is a CommonJS module that exports callme (exports.callme
// or module.exports.callme). JavaScript has no keyword arguments, so callme
// receives all parameters as ONE object and names them by destructuring:
//
//	exports.callme = ({a, b = 0}) => a + b;
//
// A callme declaring more than one parameter is refused at load time with
// a TypeError, because positional parameters cannot be matched to named
// ones reliably. callme may be async or return a promise; the worker awaits
// it. The result is encoded with JSON.stringify (undefined becomes null); a
// result it cannot encode (a cycle, a BigInt) is a TypeError (HTTP 500).
//
// The worker (worker.js, written into the sandbox as fob_worker.js) loads
// the code once and serves calls one at a time on fds 3 and 4. Errors and
// stack traces name the code function.js, and a syntax error's message
// carries its line: "SyntaxError: Unexpected token ';' (function.js, line 2)".
// An exception thrown from a timer or an unhandled rejection during a call
// fails that call instead of the worker. console.log goes to the function's
// log. process.exit() ends the worker: that call answers 502 and the
// executor starts a replacement.
//
// Started without a code path (WaitCommand, for stems of the warm pool)
// the worker says it waits and loads the code a load frame names, with
// the function's environment, when a registration claims the stem.
//
// Dockerfile builds the runtime image: node:20-slim plus the fob binary.
package node
