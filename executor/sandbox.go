package executor

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/fob-project/fob/executor/funclog"
	"github.com/fob-project/fob/executor/worker"
	"github.com/fob-project/fob/sandbox"
)

// LogFileName is the function's log in the sandbox: the workers' stdout
// and stderr. Past Config.LogMaxBytes it becomes LogFileName+".1".
const LogFileName = funclog.DefaultFileName

// codeBaseName is the code's file name without extension. Drivers make
// errors and tracebacks name it, so users see "function.py, line 2".
const codeBaseName = "function"

// prepareSandbox writes the driver's shim and the code into dir and opens
// the function's log. The caller closes the log after the workers exit.
// Without code (nil) it prepares a stem: the workers run the driver's
// WaitCommand and get their code later (writeCode, worker.Pool.Load).
func prepareSandbox(dir string, d sandbox.Driver, code []byte, env []string, logMax int64, log *slog.Logger) (worker.Command, *funclog.Log, error) {
	argvTmpl := d.Command
	if code == nil {
		argvTmpl = d.WaitCommand
	}
	if len(argvTmpl) == 0 {
		return worker.Command{}, nil, fmt.Errorf("prepare sandbox: driver %q has no command for this", d.Name)
	}
	shimPath := filepath.Join(dir, d.ShimName)
	if err := os.WriteFile(shimPath, d.Shim, 0o644); err != nil {
		return worker.Command{}, nil, fmt.Errorf("prepare sandbox: write shim: %w", err)
	}
	codePath := ""
	if code != nil {
		var err error
		if codePath, err = writeCode(dir, d, code); err != nil {
			return worker.Command{}, nil, fmt.Errorf("prepare sandbox: %w", err)
		}
	}
	flog, err := funclog.Open(funclog.Config{Dir: dir, FileName: LogFileName, MaxFileBytes: logMax}, log)
	if err != nil {
		return worker.Command{}, nil, fmt.Errorf("prepare sandbox: %w", err)
	}
	r := strings.NewReplacer("{shim}", shimPath, "{code}", codePath)
	argv := make([]string, len(argvTmpl))
	for i, a := range argvTmpl {
		argv[i] = r.Replace(a)
	}
	return worker.Command{Argv: argv, Dir: dir, Env: env, Log: flog.Writer()}, flog, nil
}

// writeCode writes the function's code into dir under the name drivers
// make errors show, and returns its path.
func writeCode(dir string, d sandbox.Driver, code []byte) (string, error) {
	path := filepath.Join(dir, codeBaseName+d.Extension)
	if err := os.WriteFile(path, code, 0o644); err != nil {
		return "", fmt.Errorf("write code: %w", err)
	}
	return path, nil
}

// workerEnv is the executor's environment without what a function must not
// see: the agent's executor token, the Mesos ids and fob's executor
// settings it has no use for. A stem's workers get it without the
// function's variables (functionEnv), which the load frame brings.
func workerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "MESOS_") || strings.HasPrefix(k, "FOB_EXECUTOR_") || strings.HasPrefix(k, "FOB_CGROUP_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// functionEnv is what tells a function which one it is.
func functionEnv(functionID, name string) map[string]string {
	return map[string]string{"FOB_FUNCTION_ID": functionID, "FOB_FUNCTION_NAME": name}
}
