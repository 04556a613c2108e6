package scheduler

import (
	"errors"
	"fmt"
	"net/url"
	"os/user"
	"strings"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Config describes how fob registers with Mesos and how it launches
// function instances.
type Config struct {
	// MasterURL is http://host:port of the Mesos master; the scheduler
	// endpoint is MasterURL + "/api/v1/scheduler".
	MasterURL string
	// Codec is "protobuf" (the default, as in mesos-go) or "json".
	Codec string

	FrameworkName string // default "fob"
	User          string // default: the user running fob
	Role          string // default "*"
	Principal     string
	Secret        string // with Principal: HTTP basic authentication
	Hostname      string
	WebUIURL      string
	// FailoverTimeout is how long Mesos keeps fob's tasks running while
	// fob is away; default 7 days.
	FailoverTimeout time.Duration
	Checkpoint      bool

	// APIURL is the base URL executors fetch code from:
	// APIURL + "/api/cs/" + functionID.
	APIURL string
	// ExecutorCommand is the shell command the agent runs to start fob's
	// executor, e.g. "/abs/path/fob executor".
	ExecutorCommand string
	// ExecutorURIs are fetched into the sandbox before the executor starts,
	// with their executable, extract and output_file settings as given.
	ExecutorURIs []mesos.CommandInfo_URI
	// ExecutorEnv is set in the executor's environment.
	ExecutorEnv map[string]string

	// WarmPool is how many stems fob keeps ready per language: executors
	// launched with warm workers and no function, which a registration
	// specialises without waiting for an offer (warm.go). Each holds an
	// instance's default resources. 0 turns the warm pool off.
	WarmPool int
}

// Per-instance defaults used when a function's limits are zero.
const (
	defaultCPUs        = 0.1
	defaultMemoryMB    = 128
	defaultTimeout     = 30 * time.Second
	defaultConcurrency = 1

	// Resources of the executor itself, on top of the task's.
	executorCPUs     = 0.05
	executorMemoryMB = 32

	defaultFailoverTimeout = 7 * 24 * time.Hour
	defaultFrameworkName   = "fob"
	defaultRole            = "*"
)

// Codec names accepted in Config.Codec.
const (
	CodecProtobuf = "protobuf"
	CodecJSON     = "json"
)

// withDefaults validates c and fills in defaults.
func (c Config) withDefaults() (Config, error) {
	if c.MasterURL == "" {
		return c, errors.New("scheduler config: master URL is required")
	}
	u, err := url.Parse(c.MasterURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("scheduler config: master URL %q is not an http(s) URL", c.MasterURL)
	}
	c.MasterURL = strings.TrimRight(c.MasterURL, "/")
	switch c.Codec {
	case "":
		c.Codec = CodecProtobuf
	case CodecProtobuf, CodecJSON:
	default:
		return c, fmt.Errorf("scheduler config: unknown codec %q (want %q or %q)", c.Codec, CodecProtobuf, CodecJSON)
	}
	if c.ExecutorCommand == "" {
		return c, errors.New("scheduler config: executor command is required")
	}
	if c.APIURL == "" {
		return c, errors.New("scheduler config: API URL is required (executors fetch code from it)")
	}
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	if c.WarmPool < 0 {
		return c, fmt.Errorf("scheduler config: warm pool size %d is negative", c.WarmPool)
	}
	if c.Secret != "" && c.Principal == "" {
		return c, errors.New("scheduler config: a secret needs a principal")
	}
	if c.FrameworkName == "" {
		c.FrameworkName = defaultFrameworkName
	}
	if c.Role == "" {
		c.Role = defaultRole
	}
	if c.FailoverTimeout <= 0 {
		// Zero would make Mesos kill every task the moment fob
		// disconnects, and mesos-go would never re-subscribe with the
		// stored framework id.
		c.FailoverTimeout = defaultFailoverTimeout
	}
	if c.User == "" {
		u, err := user.Current()
		if err != nil {
			return c, fmt.Errorf("scheduler config: no user given and the current one is unknown: %w", err)
		}
		c.User = u.Username
	}
	return c, nil
}

// endpoint is the master's scheduler API URL.
func (c Config) endpoint() string {
	return c.MasterURL + "/api/v1/scheduler"
}
