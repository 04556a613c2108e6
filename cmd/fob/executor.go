package main

import (
	"context"
	"flag"
	"os"
	"runtime"

	"github.com/fob-project/fob/executor"
	"github.com/fob-project/fob/executor/worker"
)

// runExecutor is what a Mesos agent starts: fob's executor, configured by
// the MESOS_* environment the agent provides.
func runExecutor(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("executor", flag.ContinueOnError)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(*logLevel)
	if err != nil {
		return err
	}
	cfg, err := executor.ConfigFromEnv()
	if err != nil {
		return err
	}
	if os.Getenv("GOMAXPROCS") == "" {
		// The executor only relays: calls between its channel and the
		// workers' pipes, status updates to the agent. The functions run
		// in the workers. One P saves a cross-thread wakeup on nearly
		// every goroutine handoff, which on a busy instance cost more than
		// the executor's own work (BENCHMARKS.md).
		runtime.GOMAXPROCS(1)
	}
	worker.SetNice(cfg.WorkerNice)
	procs, err := cfg.WorkerProcesses()
	if err != nil {
		return err
	}
	worker.SetProcessLimit(procs)
	log = log.With("executor_id", os.Getenv("MESOS_EXECUTOR_ID"))
	return executor.Run(ctx, cfg, log)
}
