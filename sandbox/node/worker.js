'use strict';
// fob's Node.js worker: loads one function and serves framed calls.
//
// The executor starts this program as `node fob_worker.js <code path>` with
// fd 3 carrying requests to us and fd 4 carrying our answers. stdout and
// stderr are the function's log, so console.log in user code never touches
// the protocol.
//
// Started without a code path (waiting mode, for stems of fob's warm pool),
// it says W and waits for an F frame naming the code to load; from then on
// it is the same worker as one started with the path.
//
// A frame is a 4-byte big-endian length n, then n bytes: a kind byte and the
// payload. Kinds: C call (payload: parameters, a JSON object); F load
// (payload: {"code": path, "env": {name: value}}); W waiting; L loaded;
// E load error, X raised, B bad parameters (payload: {type, message,
// traceback}); R result (payload: the JSON-encoded result).
//
// Convention: callme receives the parameters as one object, so functions
// name them by destructuring: `exports.callme = ({a, b}) => a + b`.

const fs = require('fs');
const net = require('net');
const path = require('path');

const REQUESTS_FD = 3;
const ANSWERS_FD = 4;

// The code's path: from argv, or from the load frame in waiting mode.
let codePath = process.argv[2];
let codeName = codePath ? path.basename(codePath) : 'function.js';

function writeFrame(kind, payload) {
  const body = payload === undefined ? Buffer.alloc(0) : Buffer.from(payload, 'utf8');
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame.writeUInt32BE(body.length + 1, 0);
  frame.write(kind, 4, 'latin1');
  body.copy(frame, 5);
  let off = 0;
  while (off < frame.length) {
    off += fs.writeSync(ANSWERS_FD, frame, off, frame.length - off);
  }
}

// Stack traces name the code by its sandbox path; users know it as function.js.
function tidy(text) {
  return codePath ? String(text).split(codePath).join(codeName) : String(text);
}

function describe(err) {
  if (err instanceof Error) {
    return JSON.stringify({type: err.name || 'Error', message: tidy(err.message), traceback: tidy(err.stack || '')});
  }
  return JSON.stringify({type: typeof err, message: tidy(String(err)), traceback: ''});
}

function plainError(type, message) {
  return JSON.stringify({type, message, traceback: ''});
}

// describeLoadError adds the position of a syntax error to its message, as
// Node prints it only on the first line of the stack ("<path>:<line>").
function describeLoadError(err) {
  if (err instanceof SyntaxError && typeof err.stack === 'string') {
    const first = err.stack.split('\n', 1)[0];
    const m = /:(\d+)$/.exec(first);
    if (m && first.startsWith(codePath)) {
      return JSON.stringify({
        type: 'SyntaxError',
        message: `${err.message} (${codeName}, line ${m[1]})`,
        traceback: tidy(err.stack),
      });
    }
  }
  return describe(err);
}

function load() {
  let exported;
  try {
    exported = require(path.resolve(codePath));
  } catch (err) {
    writeFrame('E', describeLoadError(err));
    return null;
  }
  const callme = exported && exported.callme;
  if (callme === undefined) {
    writeFrame('E', plainError('TypeError', `${codeName} does not export callme`));
    return null;
  }
  if (typeof callme !== 'function') {
    writeFrame('E', plainError('TypeError', `callme is a ${typeof callme}, not a function`));
    return null;
  }
  if (callme.length > 1) {
    writeFrame('E', plainError('TypeError',
      `callme takes ${callme.length} parameters; it must take one object, e.g. callme({a, b})`));
    return null;
  }
  return callme;
}

// pending is the call in progress, so that an exception thrown later from a
// timer or a rejected promise nobody awaited is still charged to that call
// instead of killing the worker.
let pending = null;

function settle(kind, payload) {
  if (pending === null) {
    return;
  }
  pending = null;
  writeFrame(kind, payload);
}

process.on('uncaughtException', (err) => {
  if (pending !== null) {
    settle('X', describe(err));
  } else {
    console.error('fob: uncaught exception outside a call:', err);
  }
});
process.on('unhandledRejection', (err) => {
  if (pending !== null) {
    settle('X', describe(err));
  } else {
    console.error('fob: unhandled rejection outside a call:', err);
  }
});

async function serve(callme, payload) {
  let params;
  try {
    params = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    writeFrame('B', plainError('SyntaxError', `parameters are not JSON: ${err.message}`));
    return;
  }
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    writeFrame('B', plainError('TypeError', 'parameters must be a JSON object'));
    return;
  }
  const call = {};
  pending = call;
  let result;
  try {
    result = await callme(params);
  } catch (err) {
    if (pending === call) {
      settle('X', describe(err));
    }
    return;
  }
  if (pending !== call) {
    return; // already answered by an uncaught exception
  }
  let encoded;
  try {
    encoded = JSON.stringify(result === undefined ? null : result);
    if (encoded === undefined) {
      encoded = 'null'; // functions and symbols have no JSON form
    }
  } catch (err) {
    settle('X', plainError('TypeError', `the result is not JSON serializable: ${err.message}`));
    return;
  }
  settle('R', encoded);
}

// onFrames calls handle(kind, payload) for every frame that arrives on the
// request pipe.
function onFrames(handle) {
  const input = new net.Socket({fd: REQUESTS_FD, readable: true, writable: false});
  let buffered = Buffer.alloc(0);
  input.on('data', (chunk) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4) {
      const n = buffered.readUInt32BE(0);
      if (buffered.length < 4 + n) {
        break;
      }
      const kind = n === 0 ? '' : String.fromCharCode(buffered[4]);
      const payload = buffered.subarray(5, 4 + n);
      buffered = buffered.subarray(4 + n);
      handle(kind, payload);
    }
  });
  input.on('end', () => process.exit(0));
  input.on('error', (err) => {
    console.error('fob: request pipe failed:', err);
    process.exit(1);
  });
}

// loadRequest applies a load frame: the code's path and the function's
// environment. It returns false (having answered E) when the frame is bad.
function loadRequest(payload) {
  let req;
  try {
    req = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    writeFrame('E', plainError('SyntaxError', `bad load request: ${err.message}`));
    return false;
  }
  if (req === null || typeof req !== 'object' || typeof req.code !== 'string' || req.code === '') {
    writeFrame('E', plainError('TypeError', 'bad load request: no code path'));
    return false;
  }
  codePath = req.code;
  codeName = path.basename(codePath);
  for (const [k, v] of Object.entries(req.env || {})) {
    process.env[k] = String(v);
  }
  return true;
}

function main() {
  if (process.argv.length > 3) {
    console.error('usage: fob_worker.js [<code path>]');
    process.exit(2);
  }
  let callme = null;
  if (codePath) {
    callme = load();
    if (callme === null) {
      return;
    }
    writeFrame('L');
  } else {
    writeFrame('W');
  }
  onFrames((kind, payload) => {
    if (callme === null && kind === 'F') {
      if (!loadRequest(payload) || (callme = load()) === null) {
        process.exit(0); // the executor fails the instance; E says why
      }
      writeFrame('L');
      return;
    }
    if (kind !== 'C') {
      writeFrame('B', plainError('TypeError', `unknown frame kind ${JSON.stringify(kind)}`));
      return;
    }
    if (callme === null) {
      writeFrame('B', plainError('Error', 'no function is loaded yet'));
      return;
    }
    // The executor sends the next call only after our answer, so calls
    // never overlap. They are not chained on each other's promises: a
    // call answered by an uncaught exception may never settle.
    serve(callme, payload);
  });
}

main();
