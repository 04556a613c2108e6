package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/fob-project/fob/api"
	"github.com/fob-project/fob/scheduler"
	"github.com/fob-project/fob/state"
)

// frameworkOptions are what `fob local` and `fob serve` share.
type frameworkOptions struct {
	listen      string
	dataDir     string
	callWait    time.Duration
	logLevel    string
	advertise   string // base URL executors use to reach the API
	masterURL   string
	codec       string
	role        string
	principal   string
	secretFile  string
	execCommand string
	execEnv     map[string]string
	failover    time.Duration
	name        string
}

// runFramework serves the API on ln and runs the scheduler against
// opts.masterURL until ctx ends.
func runFramework(ctx context.Context, opts frameworkOptions, ln net.Listener, log *slog.Logger) error {
	if err := os.MkdirAll(opts.dataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	store, err := state.Open(filepath.Join(opts.dataDir, "fob.db"))
	if err != nil {
		return err
	}
	defer store.Close()

	secret := ""
	if opts.secretFile != "" {
		b, err := os.ReadFile(opts.secretFile)
		if err != nil {
			return fmt.Errorf("read secret file: %w", err)
		}
		secret = string(trimNewline(b))
	}
	u, err := user.Current()
	if err != nil {
		return fmt.Errorf("current user: %w", err)
	}
	host, _ := os.Hostname()
	sched, err := scheduler.New(scheduler.Config{
		MasterURL:       opts.masterURL,
		Codec:           opts.codec,
		FrameworkName:   opts.name,
		User:            u.Username,
		Role:            opts.role,
		Principal:       opts.principal,
		Secret:          secret,
		Hostname:        host,
		WebUIURL:        opts.advertise + "/",
		FailoverTimeout: opts.failover,
		Checkpoint:      true,
		APIURL:          opts.advertise,
		ExecutorCommand: opts.execCommand,
		ExecutorEnv:     opts.execEnv,
	}, store, log.With("component", "scheduler"))
	if err != nil {
		return err
	}
	srv := api.New(api.Config{CallWait: opts.callWait}, store, log.With("component", "api"))
	httpSrv := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go srv.Run(ctx)
	go func() {
		if err := sched.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			cancel(fmt.Errorf("scheduler: %w", err))
		}
	}()
	go func() {
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cancel(fmt.Errorf("api: %w", err))
		}
	}()
	log.Info("fob is serving", "api", "http://"+ln.Addr().String(), "master", opts.masterURL)
	<-ctx.Done()
	shutdownCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	httpSrv.Shutdown(shutdownCtx)
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
