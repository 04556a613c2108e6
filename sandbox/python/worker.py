"""fob's Python worker: loads one function and serves framed calls.

The executor starts this program as `python3 -u fob_worker.py <code path>`
with fd 3 carrying requests to us and fd 4 carrying our answers. stdout and
stderr are the function's log, so print() in user code never touches the
protocol.

A frame is a 4-byte big-endian length n, then n bytes: a kind byte and the
payload. Kinds: C call (payload: parameters, a JSON object); L loaded;
E load error, X raised, B bad parameters (payload: {"type", "message",
"traceback"}); R result (payload: the JSON-encoded result).
"""

import inspect
import json
import os
import struct
import sys
import traceback
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


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: fob_worker.py <code path>\n")
        return 2
    for fd in (REQUESTS_FD, ANSWERS_FD):
        # User code that starts subprocesses must not hand them our pipes.
        os.set_inheritable(fd, False)

    try:
        module = load(sys.argv[1])
    except BaseException as exc:  # noqa: B902 - every failure is a load error
        # Skip the frames of load() itself; the user's frames remain.
        write_frame(ANSWERS_FD, b"E", describe(exc, skip_frames=2))
        return 0
    callme = getattr(module, "callme", None)
    if callme is None:
        write_frame(ANSWERS_FD, b"E", plain_error(
            "AttributeError", "%s does not define callme" % os.path.basename(sys.argv[1])))
        return 0
    if not callable(callme):
        write_frame(ANSWERS_FD, b"E", plain_error(
            "TypeError", "callme is a %s, not a function" % type(callme).__name__))
        return 0
    try:
        signature = inspect.signature(callme)
    except (TypeError, ValueError):
        signature = None  # some callables (builtins) have no signature
    write_frame(ANSWERS_FD, b"L")

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
        if signature is not None:
            try:
                signature.bind(**params)
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
