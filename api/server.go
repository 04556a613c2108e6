package api

import (
	"context"
	"crypto/sha256"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/fob-project/fob/state"
)

// Config shapes the API. Zero values take the defaults below.
type Config struct {
	// MaxCodeBytes bounds a registration's code (413 beyond it).
	MaxCodeBytes int64
	// MaxCallBytes bounds a call's body (413 beyond it).
	MaxCallBytes int64
	// CallWait is how long a call to a function that is still starting
	// waits for an instance before it answers 503.
	CallWait time.Duration
	// RegisterWait bounds ?wait=true on registration.
	RegisterWait time.Duration
	// DefaultLimits fill in what a registration leaves out.
	DefaultLimits state.Limits
	// Token, when set, is the bearer token every /api/ request must carry
	// (GET /api/cs/{id} also takes a live task's secret). Empty leaves the
	// API open, as the seed's was.
	Token string
}

func (c Config) withDefaults() Config {
	if c.MaxCodeBytes == 0 {
		c.MaxCodeBytes = 1 << 20
	}
	if c.MaxCallBytes == 0 {
		c.MaxCallBytes = 6 << 20
	}
	if c.CallWait == 0 {
		c.CallWait = 30 * time.Second
	}
	if c.RegisterWait == 0 {
		c.RegisterWait = 60 * time.Second
	}
	d := &c.DefaultLimits
	if d.MemoryMB == 0 {
		d.MemoryMB = 128
	}
	if d.CPUs == 0 {
		d.CPUs = 0.1
	}
	if d.Timeout == 0 {
		d.Timeout = 30 * time.Second
	}
	if d.Concurrency == 0 {
		d.Concurrency = 1
	}
	return c
}

// Server is fob's HTTP API.
type Server struct {
	cfg      Config
	store    *state.Store
	log      *slog.Logger
	routes   *routes
	proxy    *proxy
	router   *mux.Router
	front    http.Handler // router, with the call fast path in front
	tokenSum [sha256.Size]byte
}

// New builds the API over store. Call Run to keep its routes current.
func New(cfg Config, store *state.Store, log *slog.Logger) *Server {
	s := &Server{
		cfg:    cfg.withDefaults(),
		store:  store,
		log:    log,
		routes: newRoutes(store, log),
		proxy:  newProxy(),
	}
	s.tokenSum = sha256.Sum256([]byte(s.cfg.Token))
	s.router = s.newRouter()
	s.front = s.withCallFastPath(s.router)
	return s
}

// Run keeps the route index in step with state until ctx ends.
func (s *Server) Run(ctx context.Context) {
	s.routes.run(ctx)
}

// Handler returns the HTTP handler serving every endpoint.
func (s *Server) Handler() http.Handler { return s.front }

// MaxHeaderBytes bounds a request's header (the seed's parameters travel
// in the query, which counts). Bodies have their own limits in Config.
const MaxHeaderBytes = 64 << 10

// HTTPServer wraps the API in an http.Server with the bounds every request
// gets: header size and read timeouts.
func (s *Server) HTTPServer(errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           s.front,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    MaxHeaderBytes,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          errorLog,
	}
}

func (s *Server) newRouter() *mux.Router {
	r := mux.NewRouter()
	// Everything under /api passes authenticate (the paths below are
	// relative to it); /healthz stays open for load balancers and
	// Marathon's health checks.
	a := r.PathPrefix("/api").Subrouter()
	a.Use(s.authenticate)
	// The seed's endpoints, unchanged.
	a.HandleFunc("/gen", s.handleGen).Methods(http.MethodPost)
	a.HandleFunc("/stats", s.handleStats).Methods(http.MethodGet)
	a.HandleFunc("/call/{ref}", s.handleCall).Methods(http.MethodGet, http.MethodPost)
	a.HandleFunc("/meta/{ref}", s.handleMeta).Methods(http.MethodGet)
	a.HandleFunc("/cs/{ref}", s.handleCode).Methods(http.MethodGet).Name(routeCode)
	// fob's additions.
	a.HandleFunc("/functions", s.handleList).Methods(http.MethodGet)
	a.HandleFunc("/functions/{ref}", s.handleDescribe).Methods(http.MethodGet)
	a.HandleFunc("/functions/{ref}", s.handleUpdate).Methods(http.MethodPut)
	a.HandleFunc("/functions/{ref}", s.handleDelete).Methods(http.MethodDelete)
	a.HandleFunc("/logs/{ref}", s.handleLogs).Methods(http.MethodGet)
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}).Methods(http.MethodGet)
	notFound := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+req.URL.Path)
	})
	notAllowed := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method "+req.Method+" not allowed on "+req.URL.Path)
	})
	r.NotFoundHandler, a.NotFoundHandler = notFound, notFound
	r.MethodNotAllowedHandler, a.MethodNotAllowedHandler = notAllowed, notAllowed
	return r
}

func hostPort(host string, port uint32) string {
	return net.JoinHostPort(host, strconv.FormatUint(uint64(port), 10))
}
