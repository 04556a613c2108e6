// Package server runs fob's framework process: the HTTP API and the Mesos
// scheduler over one durable state store. `fob serve` points it at a real
// Mesos master; `fob local` and the end-to-end tests at the embedded one.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/fob-project/fob/api"
	"github.com/fob-project/fob/dashboard"
	"github.com/fob-project/fob/scheduler"
	"github.com/fob-project/fob/state"
)

// Config is what the framework process needs.
type Config struct {
	// DataDir holds the state file (fob.db).
	DataDir   string
	API       api.Config
	Scheduler scheduler.Config
}

// Server is a running framework process.
type Server struct {
	Store *state.Store
	URL   string

	http   *http.Server
	cancel context.CancelCauseFunc
	done   chan struct{}
	err    error
}

// Start opens the store, serves the API on ln and runs the scheduler until
// ctx ends or Close is called. The scheduler's APIURL defaults to ln's
// address.
func Start(ctx context.Context, cfg Config, ln net.Listener, log *slog.Logger) (*Server, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	store, err := state.Open(filepath.Join(cfg.DataDir, "fob.db"))
	if err != nil {
		return nil, err
	}
	url := "http://" + ln.Addr().String()
	if cfg.Scheduler.APIURL == "" {
		cfg.Scheduler.APIURL = url
	}
	if cfg.Scheduler.WebUIURL == "" {
		cfg.Scheduler.WebUIURL = cfg.Scheduler.APIURL + "/"
	}
	sched, err := scheduler.New(cfg.Scheduler, store, log.With("component", "scheduler"))
	if err != nil {
		store.Close()
		return nil, err
	}
	a := api.New(cfg.API, store, log.With("component", "api"))
	// The API's http.Server carries its request bounds (header size, read
	// timeouts); the dashboard rides on it.
	hs := a.HTTPServer(slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	hs.Handler = withDashboard(hs.Handler)
	ctx, cancel := context.WithCancelCause(ctx)
	s := &Server{
		Store:  store,
		URL:    url,
		http:   hs,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go a.Run(ctx)
	schedDone := make(chan struct{})
	go func() {
		defer close(schedDone)
		if err := sched.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			cancel(fmt.Errorf("scheduler: %w", err))
		}
	}()
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cancel(fmt.Errorf("api: %w", err))
		}
	}()
	go func() {
		<-ctx.Done()
		shutdownCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		s.http.Shutdown(shutdownCtx)
		<-schedDone
		store.Close()
		if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.err = err
		}
		close(s.done)
	}()
	log.Info("fob is serving", "api", url, "master", cfg.Scheduler.MasterURL)
	return s, nil
}

// withDashboard serves the web dashboard at "/" and everything else from
// the API.
func withDashboard(apiHandler http.Handler) http.Handler {
	ui := dashboard.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			ui.ServeHTTP(w, r)
			return
		}
		apiHandler.ServeHTTP(w, r)
	})
}

// Wait blocks until the server has stopped and returns why, nil after a
// plain cancel or Close.
func (s *Server) Wait() error {
	<-s.done
	return s.err
}

// Close stops the server and waits for it.
func (s *Server) Close() error {
	s.cancel(context.Canceled)
	return s.Wait()
}
