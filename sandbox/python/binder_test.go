package python

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// binderCheck compares the shim's plain_binder with inspect's
// Signature.bind on keyword arguments: the same calls must pass, and the
// same calls fail with the same message.
const binderCheck = `
import inspect, sys
sys.path.insert(0, sys.argv[1])
import fob_worker

def f0(): pass
def f1(a, b=2): pass
def f2(a, /, b, *, c, d=4): pass
def f3(*args, **kwargs): pass
def f4(a, *args, k, **kwargs): pass
def f5(a, b, c=1, *, d=2, e): pass
def f6(args=1): pass

cases = [{}, {"a": 1}, {"b": 1}, {"a": 1, "b": 2}, {"a": 1, "z": 1}, {"z": 1, "a": 1}, {"c": 1}, {"b": 1, "c": 1},
         {"a": 1, "b": 1, "c": 1}, {"k": 1}, {"a": 1, "k": 1}, {"args": 1}, {"kwargs": 1}, {"e": 1, "a": 1, "b": 1},
         {"a": 1, "b": 1, "e": 1, "z": 1}, {"d": 1, "e": 1}]
bad = 0
for fn in (f0, f1, f2, f3, f4, f5, f6):
    bind = fob_worker.plain_binder(fn)
    if bind is None:
        print("no plain binder for", fn.__name__); bad += 1; continue
    sig = inspect.signature(fn)
    for given in cases:
        try:
            sig.bind(**given); want = None
        except TypeError as exc:
            want = str(exc)
        try:
            bind(dict(given)); got = None
        except TypeError as exc:
            got = str(exc)
        if got != want:
            print("%s%s with %r: plain %r, inspect %r" % (fn.__name__, sig, given, got, want)); bad += 1

import functools
def deco(f):
    @functools.wraps(f)
    def wrapper(*a, **k): return f(*a, **k)
    return wrapper
for other in (deco(f1), functools.partial(f1, 1), int, type("C", (), {})):
    if fob_worker.plain_binder(other) is not None:
        print("plain binder for", other); bad += 1
sys.exit(1 if bad else 0)
`

func TestPlainBinderMatchesInspect(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fob_worker.py"), shim, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", binderCheck, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, strings.TrimSpace(string(out)))
	}
}
