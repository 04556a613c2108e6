package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/user"
	"time"

	"github.com/fob-project/fob/api"
	"github.com/fob-project/fob/scheduler"
	"github.com/fob-project/fob/server"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// frameworkOptions are what `fob local` and `fob serve` share.
type frameworkOptions struct {
	listen      string
	dataDir     string
	callWait    time.Duration
	warmPool    int
	logLevel    string
	advertise   string // base URL executors use to reach the API
	masterURL   string
	codec       string
	role        string
	principal   string
	secret      string // the principal's, already read
	apiToken    string
	execCommand string
	execURIs    []mesos.CommandInfo_URI
	execEnv     map[string]string
	failover    time.Duration
	name        string
}

// runFramework serves the API on ln and runs the scheduler against
// opts.masterURL until ctx ends.
func runFramework(ctx context.Context, opts frameworkOptions, ln net.Listener, log *slog.Logger) error {
	u, err := user.Current()
	if err != nil {
		return fmt.Errorf("current user: %w", err)
	}
	host, _ := os.Hostname()
	srv, err := server.Start(ctx, server.Config{
		DataDir: opts.dataDir,
		API:     api.Config{CallWait: opts.callWait, Token: opts.apiToken},
		Scheduler: scheduler.Config{
			MasterURL:       opts.masterURL,
			Codec:           opts.codec,
			FrameworkName:   opts.name,
			User:            u.Username,
			Role:            opts.role,
			Principal:       opts.principal,
			Secret:          opts.secret,
			Hostname:        host,
			FailoverTimeout: opts.failover,
			Checkpoint:      true,
			APIURL:          opts.advertise,
			ExecutorCommand: opts.execCommand,
			ExecutorURIs:    opts.execURIs,
			ExecutorEnv:     opts.execEnv,
			WarmPool:        opts.warmPool,
		},
	}, ln, log)
	if err != nil {
		return err
	}
	return srv.Wait()
}
