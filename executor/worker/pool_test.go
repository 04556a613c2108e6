package worker

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

const pythonFunctions = `
import os, sys, time

def callme(op, a=0, b=0):
    if op == "echo":
        return {"a": a, "b": b}
    if op == "add":
        return a + b
    if op == "noise":
        print("noise on stdout")
        print("noise on stderr", file=sys.stderr)
        return "quiet"
    if op == "raise":
        return a / 0
    if op == "exit":
        sys.exit(3)
    if op == "loop":
        while True:
            pass
    if op == "crash":
        os._exit(7)
    if op == "set":
        return {1, 2}
    if op == "nan":
        return float("nan")
    if op == "sleep":
        time.sleep(a)
        return "slept"
    return None
`

const nodeFunctions = `
exports.callme = async ({op, a = 0, b = 0}) => {
  switch (op) {
    case "echo": return {a, b};
    case "add": return a + b;
    case "noise": console.log("noise on stdout"); console.error("noise on stderr"); return "quiet";
    case "raise": throw new RangeError("a is out of range");
    case "exit": process.exit(3);
    case "loop": for (;;) {}
    case "crash": process.kill(process.pid, "SIGKILL"); break;
    case "set": { const o = {}; o.self = o; return o; }
    case "big": return 10n;
    case "timer": setTimeout(() => { throw new TypeError("late"); }, 1); return new Promise(() => {});
    case "sleep": await new Promise((r) => setTimeout(r, a * 1000)); return "slept";
    case "undef": return undefined;
  }
  return null;
};
`

func TestPoolCalls(t *testing.T) {
	type tc struct {
		name      string
		params    string
		kind      byte
		payload   string // exact result, or substring of an exception
		excType   string
		err       error
		logSubstr string
	}
	cases := map[string][]tc{
		"python": {
			{name: "echo", params: `{"op":"echo","a":[1,"x"],"b":{"k":null}}`, kind: KindResult, payload: `{"a":[1,"x"],"b":{"k":null}}`},
			{name: "add", params: `{"op":"add","a":1,"b":2}`, kind: KindResult, payload: `3`},
			{name: "add strings", params: `{"op":"add","a":"1","b":"2"}`, kind: KindResult, payload: `"12"`},
			{name: "print noise", params: `{"op":"noise"}`, kind: KindResult, payload: `"quiet"`, logSubstr: "noise on stderr"},
			{name: "raise", params: `{"op":"raise","a":1}`, kind: KindRaised, excType: "ZeroDivisionError", payload: "division by zero"},
			{name: "sys.exit", params: `{"op":"exit"}`, kind: KindRaised, excType: "SystemExit", payload: "sys.exit(3)"},
			{name: "not serialisable", params: `{"op":"set"}`, kind: KindRaised, excType: "TypeError", payload: "not JSON serializable"},
			{name: "nan", params: `{"op":"nan"}`, kind: KindRaised, excType: "TypeError", payload: "not JSON serializable"},
			{name: "unknown parameter", params: `{"op":"add","c":1}`, kind: KindBadParams, payload: "unexpected keyword argument 'c'"},
			{name: "missing parameter", params: `{"a":1}`, kind: KindBadParams, payload: "missing a required argument: 'op'"},
			{name: "endless loop", params: `{"op":"loop"}`, err: ErrDeadline},
			{name: "crash", params: `{"op":"crash"}`, err: ErrWorkerLost, payload: "exited with status 7"},
			{name: "after replacement", params: `{"op":"add","a":2,"b":2}`, kind: KindResult, payload: `4`},
		},
		"node": {
			{name: "echo", params: `{"op":"echo","a":[1,"x"],"b":{"k":null}}`, kind: KindResult, payload: `{"a":[1,"x"],"b":{"k":null}}`},
			{name: "add", params: `{"op":"add","a":1,"b":2}`, kind: KindResult, payload: `3`},
			{name: "print noise", params: `{"op":"noise"}`, kind: KindResult, payload: `"quiet"`, logSubstr: "noise on stderr"},
			{name: "raise", params: `{"op":"raise"}`, kind: KindRaised, excType: "RangeError", payload: "a is out of range"},
			{name: "cycle", params: `{"op":"set"}`, kind: KindRaised, excType: "TypeError", payload: "not JSON serializable"},
			{name: "bigint", params: `{"op":"big"}`, kind: KindRaised, excType: "TypeError", payload: "BigInt"},
			{name: "uncaught in timer", params: `{"op":"timer"}`, kind: KindRaised, excType: "TypeError", payload: "late"},
			{name: "undefined", params: `{"op":"undef"}`, kind: KindResult, payload: `null`},
			{name: "endless loop", params: `{"op":"loop"}`, err: ErrDeadline},
			{name: "process.exit", params: `{"op":"exit"}`, err: ErrWorkerLost, payload: "exited with status 3"},
			{name: "crash", params: `{"op":"crash"}`, err: ErrWorkerLost, payload: "killed"},
			{name: "after replacement", params: `{"op":"add","a":2,"b":2}`, kind: KindResult, payload: `4`},
		},
	}
	code := map[string]string{"python": pythonFunctions, "node": nodeFunctions}
	for lang, d := range drivers() {
		t.Run(lang, func(t *testing.T) {
			p, logPath, err := startTestPool(t, d, code[lang], Config{Size: 1, CallTimeout: time.Second})
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			for _, c := range cases[lang] {
				t.Run(c.name, func(t *testing.T) {
					kind, payload, err := p.Call(context.Background(), callFrame(c.params))
					if c.err != nil {
						if !errors.Is(err, c.err) {
							t.Fatalf("err = %v, want %v", err, c.err)
						}
						if !strings.Contains(err.Error(), c.payload) {
							t.Errorf("err = %q, want it to contain %q", err, c.payload)
						}
						return
					}
					if err != nil {
						t.Fatalf("call: %v", err)
					}
					if kind != c.kind {
						t.Fatalf("kind = %q (%s), want %q", kind, payload, c.kind)
					}
					switch kind {
					case KindResult:
						if string(payload) != c.payload {
							t.Errorf("result = %s, want %s", payload, c.payload)
						}
					default:
						exc := ParseException(payload)
						if c.excType != "" && exc.Type != c.excType {
							t.Errorf("type = %q, want %q", exc.Type, c.excType)
						}
						if !strings.Contains(exc.Message, c.payload) {
							t.Errorf("message = %q, want it to contain %q", exc.Message, c.payload)
						}
						if kind == KindRaised && c.excType != "TypeError" && !strings.Contains(exc.Traceback, "function") {
							t.Errorf("traceback does not name the function file: %q", exc.Traceback)
						}
					}
					if c.logSubstr != "" {
						b, _ := os.ReadFile(logPath)
						if !strings.Contains(string(b), c.logSubstr) {
							t.Errorf("log %q lacks %q", b, c.logSubstr)
						}
					}
				})
			}
		})
	}
}

func TestPoolLoadErrors(t *testing.T) {
	cases := []struct {
		lang, name, code, want string
	}{
		{"python", "syntax error", "def callme(a):\n    return a +\n", "SyntaxError: invalid syntax (function.py, line 2)"},
		{"python", "missing callme", "def call_me():\n    return 1\n", "AttributeError: function.py does not define callme"},
		{"python", "callme not callable", "callme = 3\n", "TypeError: callme is a int, not a function"},
		{"python", "import error", "import fob_no_such_module\n", "ModuleNotFoundError: No module named 'fob_no_such_module'"},
		{"python", "raises at import", "raise RuntimeError('boom')\n", "RuntimeError: boom"},
		{"python", "exit at import", "import sys\nsys.exit(1)\n", "SystemExit"},
		{"node", "syntax error", "exports.callme = ({a}) => {\n  return a +;\n};\n", "SyntaxError: Unexpected token ';' (function.js, line 2)"},
		{"node", "missing callme", "exports.other = () => 1;\n", "TypeError: function.js does not export callme"},
		{"node", "positional parameters", "exports.callme = (a, b) => a + b;\n", "TypeError: callme takes 2 parameters"},
		{"node", "require error", "require('fob-no-such-module');\n", "Cannot find module 'fob-no-such-module'"},
	}
	ds := drivers()
	for _, c := range cases {
		t.Run(c.lang+"/"+c.name, func(t *testing.T) {
			_, _, err := startTestPool(t, ds[c.lang], c.code, Config{Size: 2})
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v (%T), want a *LoadError", err, err)
			}
			if !strings.Contains(le.Error(), c.want) {
				t.Errorf("load error = %q, want it to contain %q", le.Error(), c.want)
			}
		})
	}
}

func TestPoolStartFailure(t *testing.T) {
	_, err := Start(context.Background(), Config{Command: Command{Argv: []string{"/nonexistent/fob-worker"}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "start worker") {
		t.Fatalf("err = %v, want a start error", err)
	}
	_, err = Start(context.Background(), Config{Command: Command{Argv: []string{"true"}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "exited with status 0") {
		t.Fatalf("err = %v, want the worker's exit to be reported", err)
	}
}

// TestPoolBusy fills the only worker and the queue, then expects ErrBusy.
func TestPoolBusy(t *testing.T) {
	p, _, err := startTestPool(t, drivers()["python"], pythonFunctions, Config{Size: 1, QueueLimit: 1, CallTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			_, _, err := p.Call(context.Background(), callFrame(`{"op":"sleep","a":0.6}`))
			results <- err
		})
		time.Sleep(150 * time.Millisecond) // the first occupies the worker, the second the queue
	}
	if _, _, err := p.Call(context.Background(), callFrame(`{"op":"add"}`)); !errors.Is(err, ErrBusy) {
		t.Errorf("third call: err = %v, want ErrBusy", err)
	}
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Errorf("queued call: %v", err)
		}
	}
}

// TestPoolConcurrent runs calls on several workers at once; one worker
// being killed for its deadline must not disturb the others.
func TestPoolConcurrent(t *testing.T) {
	for lang, d := range drivers() {
		t.Run(lang, func(t *testing.T) {
			code := map[string]string{"python": pythonFunctions, "node": nodeFunctions}[lang]
			p, _, err := startTestPool(t, d, code, Config{Size: 3, CallTimeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Go(func() {
				if _, _, err := p.Call(context.Background(), callFrame(`{"op":"loop"}`)); !errors.Is(err, ErrDeadline) {
					t.Errorf("loop: err = %v, want ErrDeadline", err)
				}
			})
			for range 4 {
				wg.Go(func() {
					for range 20 {
						kind, payload, err := p.Call(context.Background(), callFrame(`{"op":"add","a":20,"b":22}`))
						if err != nil || kind != KindResult || string(payload) != "42" {
							t.Errorf("add: %q %s %v", kind, payload, err)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

func TestPoolClose(t *testing.T) {
	p, _, err := startTestPool(t, drivers()["python"], pythonFunctions, Config{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := p.Call(context.Background(), callFrame(`{"op":"sleep","a":30}`))
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	p.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("in-flight call: err = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the call in progress")
	}
	if _, _, err := p.Call(context.Background(), callFrame(`{"op":"add"}`)); !errors.Is(err, ErrClosed) {
		t.Errorf("call after Close: err = %v, want ErrClosed", err)
	}
}

// BenchmarkPoolCall measures one call through the pipes to a warm worker,
// without HTTP: the executor's share of a call's latency plus the shim's.
func BenchmarkPoolCall(b *testing.B) {
	for lang, d := range drivers() {
		b.Run(lang, func(b *testing.B) {
			code := map[string]string{"python": "def callme(a, b):\n    return a + b\n", "node": "exports.callme = ({a, b}) => a + b;\n"}[lang]
			p, _, err := startTestPool(b, d, code, Config{Size: 1})
			if err != nil {
				b.Fatal(err)
			}
			frame := callFrame(`{"a":1,"b":2}`)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := p.Call(context.Background(), frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
