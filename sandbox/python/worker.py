"""fob's Python worker: loads one function and serves framed calls.

The executor starts this program as `python3 -u fob_worker.py <code path>`
with fd 3 carrying requests to us and fd 4 carrying our answers. stdout and
stderr are the function's log, so print() in user code never touches the
protocol.

Started without a code path (waiting mode, for stems of fob's warm pool),
it says W and waits for an F frame naming the code to load; from then on
it is the same worker as one started with the path.

A frame is a 4-byte big-endian length n, then n bytes: a kind byte and the
payload. Kinds: C call (payload: parameters, a JSON object); F load
(payload: {"code": path, "env": {name: value}}); W waiting; L loaded;
E load error, X raised, B bad parameters (payload: {"type", "message",
"traceback"}); R result (payload: the JSON-encoded result).
"""

import json
import os
import struct
import sys
import types

REQUESTS_FD = 3
ANSWERS_FD = 4
MODULE_NAME = "function"


def read_exact(fd, n):
    chunks = []
    while n > 0:
        chunk = os.read(fd, n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(fd):
    header = read_exact(fd, 4)
    if header is None:
        return None, None
    (n,) = struct.unpack(">I", header)
    if n == 0:
        raise ValueError("empty frame")
    body = read_exact(fd, n)
    if body is None:
        return None, None
    return body[:1], body[1:]


def write_frame(fd, kind, payload=b""):
    data = struct.pack(">I", len(payload) + 1) + kind + payload
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def describe(exc, skip_frames=0):
    """Returns the JSON payload describing exc, without our own frames."""
    # Imported when first needed: most workers never format a traceback,
    # and every millisecond of start-up counts against the instance's cpu
    # quota.
    import traceback

    tb = exc.__traceback__
    for _ in range(skip_frames):
        if tb is not None:
            tb = tb.tb_next
    if isinstance(exc, SystemExit):
        message = "the function called sys.exit(%r)" % (exc.code,)
    else:
        message = str(exc)
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    return json.dumps({
        "type": type(exc).__name__,
        "message": message,
        "traceback": text,
    }).encode("utf-8")


def plain_error(type_name, message):
    return json.dumps({"type": type_name, "message": message, "traceback": ""}).encode("utf-8")


def load(path):
    """Executes the code as module "function" and returns its callme.

    The code is compiled under its base name so that syntax errors and
    tracebacks say function.py rather than the sandbox's host path; the
    sandbox is sys.path[0], so linecache still finds the source lines.
    """
    with open(path, "rb") as f:
        source = f.read()
    module = types.ModuleType(MODULE_NAME)
    module.__file__ = path
    sys.modules[MODULE_NAME] = module
    code = compile(source, os.path.basename(path), "exec", dont_inherit=True)
    exec(code, module.__dict__)
    return module


def plain_binder(fn):
    """Returns a check of keyword arguments against a plain function's
    parameters that fails as inspect.Signature.bind does, or None when fn
    is something else (a class, a partial, a decorated function).

    It reads the code object instead of importing inspect, which would cost
    a worker's start about a third of its cpu time, paid inside the
    instance's cpu quota on every cold start.
    """
    if type(fn) is not types.FunctionType or hasattr(fn, "__wrapped__") or hasattr(fn, "__signature__"):
        return None
    code = fn.__code__
    npos, nposonly, nkw = code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount
    names = code.co_varnames
    first_default = npos - len(fn.__defaults__ or ())
    kwdefaults = fn.__kwdefaults__ or {}
    # (name, positional only, required), in the signature's order; *args
    # and **kwargs take no keyword of their own name.
    params = [(names[i], i < nposonly, i < first_default) for i in range(npos)]
    params += [(n, False, n not in kwdefaults) for n in names[npos:npos + nkw]]
    known = {name for name, _, _ in params}
    takes_any = bool(code.co_flags & 0x08)  # CO_VARKEYWORDS

    def bind(given):
        for name, posonly, required in params:
            if name in given:
                if posonly:
                    raise TypeError("%r parameter is positional only, but was passed as a keyword" % name)
            elif required:
                raise TypeError("missing a required argument: %r" % name)
        if not takes_any:
            for name in given:
                if name not in known:
                    raise TypeError("got an unexpected keyword argument %r" % name)

    return bind


def inspect_binder(fn):
    """Returns a check of keyword arguments by fn's signature, or None when
    it has none (some builtins)."""
    import inspect

    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    return lambda given: signature.bind(**given)


def load_callme(path):
    """Loads the code at path and answers L or E. Returns callme and a
    check of its parameters, or None when the code does not load."""
    try:
        module = load(path)
    except BaseException as exc:  # noqa: B902 - every failure is a load error
        # Skip the frames of load_callme and load; the user's frames remain.
        write_frame(ANSWERS_FD, b"E", describe(exc, skip_frames=2))
        return None
    callme = getattr(module, "callme", None)
    if callme is None:
        write_frame(ANSWERS_FD, b"E", plain_error(
            "AttributeError", "%s does not define callme" % os.path.basename(path)))
        return None
    if not callable(callme):
        write_frame(ANSWERS_FD, b"E", plain_error(
            "TypeError", "callme is a %s, not a function" % type(callme).__name__))
        return None
    bind = plain_binder(callme) or inspect_binder(callme)
    write_frame(ANSWERS_FD, b"L")
    return callme, bind


def wait_for_code():
    """Waiting mode: say W, then load the code of the first F frame.
    Returns what load_callme returns, or None when there is nothing to do."""
    write_frame(ANSWERS_FD, b"W")
    while True:
        kind, payload = read_frame(REQUESTS_FD)
        if kind is None:
            return None  # the executor closed the pipe before any code came
        if kind == b"C":
            write_frame(ANSWERS_FD, b"B", plain_error("RuntimeError", "no function is loaded yet"))
            continue
        if kind != b"F":
            write_frame(ANSWERS_FD, b"B", plain_error("ValueError", "unknown frame kind %r" % kind))
            continue
        try:
            request = json.loads(payload)
            path = request["code"]
            env = request.get("env") or {}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            write_frame(ANSWERS_FD, b"E", plain_error("ValueError", "bad load request: %s" % exc))
            return None
        os.environ.update({str(k): str(v) for k, v in env.items()})
        return load_callme(path)


def main():
    if len(sys.argv) > 2:
        sys.stderr.write("usage: fob_worker.py [<code path>]\n")
        return 2
    for fd in (REQUESTS_FD, ANSWERS_FD):
        # User code that starts subprocesses must not hand them our pipes.
        os.set_inheritable(fd, False)

    if len(sys.argv) == 2:
        loaded = load_callme(sys.argv[1])
    else:
        loaded = wait_for_code()
    if loaded is None:
        return 0
    callme, bind = loaded

    while True:
        kind, payload = read_frame(REQUESTS_FD)
        if kind is None:
            return 0  # the executor closed the pipe: we are done
        if kind != b"C":
            write_frame(ANSWERS_FD, b"B", plain_error("ValueError", "unknown frame kind %r" % kind))
            continue
        try:
            params = json.loads(payload)
        except ValueError as exc:
            write_frame(ANSWERS_FD, b"B", plain_error("ValueError", "parameters are not JSON: %s" % exc))
            continue
        if not isinstance(params, dict):
            write_frame(ANSWERS_FD, b"B", plain_error("TypeError", "parameters must be a JSON object"))
            continue
        if bind is not None:
            try:
                bind(params)
            except TypeError as exc:
                write_frame(ANSWERS_FD, b"B", plain_error("TypeError", str(exc)))
                continue
        try:
            result = callme(**params)
        except BaseException as exc:  # noqa: B902 - SystemExit too must not end the worker
            write_frame(ANSWERS_FD, b"X", describe(exc, skip_frames=1))
            continue
        try:
            encoded = json.dumps(result, allow_nan=False, separators=(",", ":")).encode("utf-8")
        except (TypeError, ValueError, RecursionError) as exc:
            write_frame(ANSWERS_FD, b"X", plain_error(
                "TypeError", "the result is not JSON serializable: %s" % exc))
            continue
        write_frame(ANSWERS_FD, b"R", encoded)


if __name__ == "__main__":
    sys.exit(main())
