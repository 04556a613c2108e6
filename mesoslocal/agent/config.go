package agent

import (
	"errors"
	"fmt"
	"net"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Defaults mirror the Mesos agent flags of the same meaning.
const (
	DefaultHostname             = "127.0.0.1"
	DefaultListen               = "127.0.0.1:0"
	DefaultUpdateRetryInitial   = 10 * time.Second // STATUS_UPDATE_RETRY_INTERVAL_MIN
	DefaultUpdateRetryMax       = 10 * time.Minute // STATUS_UPDATE_RETRY_INTERVAL_MAX
	DefaultRegistrationTimeout  = time.Minute      // --executor_registration_timeout
	DefaultShutdownGracePeriod  = 5 * time.Second  // --executor_shutdown_grace_period
	DefaultRecoveryTimeout      = 15 * time.Minute // --recovery_timeout
	DefaultSubscriptionBackoff  = 2 * time.Second  // --executor_reregistration_timeout
	DefaultExecutorHeartbeat    = 30 * time.Minute // DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL
	DefaultCommandKillGrace     = 3 * time.Second  // built-in command executor's default kill grace
	DefaultFetchTimeout         = 5 * time.Minute
	defaultCompletedStreamsKept = 4096
)

// Config describes one agent. Zero values take the defaults above.
type Config struct {
	// ID is the agent id the master assigned; required.
	ID mesos.AgentID
	// Hostname is reported in AgentInfo and SUBSCRIBED.
	Hostname string
	// Listen is the address of the agent's own HTTP server (/api/v1/executor).
	Listen string
	// Resources are the agent's total resources, reported by Info.
	Resources mesos.Resources
	// Attributes are reported by Info.
	Attributes []mesos.Attribute
	// WorkDir holds the sandboxes. Empty means a temporary directory that
	// Close removes again.
	WorkDir string
	// Containerizer starts executors and command tasks. Nil means a
	// ProcessContainerizer with isolation off.
	Containerizer Containerizer
	// UpdateRetryInitial is the first resend interval of an unacknowledged
	// status update; it doubles up to UpdateRetryMax.
	UpdateRetryInitial time.Duration
	UpdateRetryMax     time.Duration
	// RegistrationTimeout is how long a launched executor has to SUBSCRIBE.
	RegistrationTimeout time.Duration
	// ShutdownGracePeriod is the time between the SHUTDOWN event and the
	// destruction of the container when the ExecutorInfo sets none.
	ShutdownGracePeriod time.Duration
	// RecoveryTimeout and SubscriptionBackoffMax are passed to checkpointing
	// executors as MESOS_RECOVERY_TIMEOUT and MESOS_SUBSCRIPTION_BACKOFF_MAX.
	RecoveryTimeout        time.Duration
	SubscriptionBackoffMax time.Duration
	// ExecutorHeartbeatInterval is the period of HEARTBEAT events sent to
	// subscribed executors (first one after one interval).
	ExecutorHeartbeatInterval time.Duration
	// FetchTimeout bounds the download of one URI.
	FetchTimeout time.Duration
	// ExtraEnv is added to every executor's environment after the agent's
	// own environment and before the MESOS_* variables.
	ExtraEnv []string
	// CleanEnv stops executors from inheriting the agent process's
	// environment (Mesos passes it on by default).
	CleanEnv bool
}

func (c Config) withDefaults() Config {
	if c.Hostname == "" {
		c.Hostname = DefaultHostname
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	setDuration(&c.UpdateRetryInitial, DefaultUpdateRetryInitial)
	setDuration(&c.UpdateRetryMax, DefaultUpdateRetryMax)
	if c.UpdateRetryMax < c.UpdateRetryInitial {
		c.UpdateRetryMax = c.UpdateRetryInitial
	}
	setDuration(&c.RegistrationTimeout, DefaultRegistrationTimeout)
	setDuration(&c.ShutdownGracePeriod, DefaultShutdownGracePeriod)
	setDuration(&c.RecoveryTimeout, DefaultRecoveryTimeout)
	setDuration(&c.SubscriptionBackoffMax, DefaultSubscriptionBackoff)
	setDuration(&c.ExecutorHeartbeatInterval, DefaultExecutorHeartbeat)
	setDuration(&c.FetchTimeout, DefaultFetchTimeout)
	return c
}

func setDuration(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

func (c Config) validate() error {
	var errs []error
	if c.ID.Value == "" {
		errs = append(errs, errors.New("agent id is required"))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen address %q: %w", c.Listen, err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("agent config: %w", err)
	}
	return nil
}
