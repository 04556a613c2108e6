package main

import (
	"context"
	"flag"
	"os"

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
	worker.SetNice(cfg.WorkerNice)
	procs, err := cfg.WorkerProcesses()
	if err != nil {
		return err
	}
	worker.SetProcessLimit(procs)
	log = log.With("executor_id", os.Getenv("MESOS_EXECUTOR_ID"))
	return executor.Run(ctx, cfg, log)
}
