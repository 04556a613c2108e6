package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/fob-project/fob/mesoslocal"
)

// runMesosLocal runs only the embedded Mesos stand-in, so any v1 framework
// can be tried against it.
func runMesosLocal(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("mesoslocal", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:5050", "address of the master")
	agents := fs.Int("agents", 1, "number of agents")
	resources := fs.String("agent-resources", "cpus:4;mem:8192;disk:10240;ports:[31000-32000]", "resources each agent offers")
	workDir := fs.String("work-dir", filepath.Join(defaultDataDir(), "mesoslocal"), "where agents keep sandboxes")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	isolationMode := addIsolationFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(*logLevel)
	if err != nil {
		return err
	}
	isolated, err := isolationFor(*isolationMode, log)
	if err != nil {
		return err
	}
	cluster, err := mesoslocal.Start(ctx, mesoslocal.Config{
		Listen: *listen, Agents: *agents, AgentResources: *resources, WorkDir: *workDir, Logger: log,
		Isolation: isolated,
	})
	if err != nil {
		return err
	}
	defer cluster.Close()
	fmt.Printf("mesos master at %s (scheduler API: %s)\n", cluster.URL(), cluster.SchedulerEndpoint())
	<-ctx.Done()
	return nil
}
