package agent

import (
	"os"
	"strconv"
	"strings"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// envSpec is what executorEnv needs to know about one executor run.
type envSpec struct {
	framework      mesos.FrameworkInfo
	executorID     mesos.ExecutorID
	sandbox        string
	grace          time.Duration
	commandEnv     *mesos.Environment
	httpCommandExe bool
	// forImage leaves out the agent's own environment: a container with
	// an image of its own must not get the host's PATH or HOME.
	forImage bool
}

// executorEnv builds an executor's environment the way the Mesos agent
// does (executorEnvironment in slave.cpp): the agent's own environment,
// then the MESOS_* variables, then the CommandInfo's environment, later
// entries replacing earlier ones of the same name. mesos-go's
// executor/config.FromEnv parses the result.
func (a *Agent) executorEnv(s envSpec) []string {
	env := newEnvList()
	if !a.cfg.CleanEnv && !s.forImage {
		env.add(os.Environ()...)
	}
	env.add(a.cfg.ExtraEnv...)

	checkpoint := s.framework.GetCheckpoint()
	endpoint := a.Endpoint()
	env.set("MESOS_FRAMEWORK_ID", s.framework.GetID().GetValue())
	env.set("MESOS_EXECUTOR_ID", s.executorID.Value)
	env.set("MESOS_AGENT_ENDPOINT", endpoint)
	env.set("MESOS_DIRECTORY", s.sandbox)
	env.set("MESOS_SANDBOX", s.sandbox)
	env.set("MESOS_CHECKPOINT", boolEnv(checkpoint))
	env.set("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", formatMesosDuration(s.grace))
	if checkpoint {
		env.set("MESOS_RECOVERY_TIMEOUT", formatMesosDuration(a.cfg.RecoveryTimeout))
		env.set("MESOS_SUBSCRIPTION_BACKOFF_MAX", formatMesosDuration(a.cfg.SubscriptionBackoffMax))
	}
	env.set("MESOS_SLAVE_ID", a.cfg.ID.Value)
	env.set("MESOS_SLAVE_PID", "slave(1)@"+endpoint)
	env.set("MESOS_HTTP_COMMAND_EXECUTOR", boolEnv(s.httpCommandExe))
	// Set for libprocess-based executors, harmless for HTTP ones.
	env.set("LIBPROCESS_PORT", "0")
	if host, _, ok := strings.Cut(endpoint, ":"); ok {
		env.set("LIBPROCESS_IP", host)
	}
	for _, v := range s.commandEnv.GetVariables() {
		// Secret-typed variables need a secret resolver Mesos has and this
		// stand-in does not; only plain values are passed on.
		if v.Value != nil {
			env.set(v.Name, v.GetValue())
		}
	}
	return env.list()
}

func boolEnv(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// formatMesosDuration writes d in stout's Duration format ("5secs",
// "15mins", "500ms"): the largest unit the value reaches, a decimal
// number without trailing zeros. Go's "5s" would be rejected by executors.
func formatMesosDuration(d time.Duration) string {
	units := []struct {
		name string
		size time.Duration
	}{
		{"weeks", 7 * 24 * time.Hour},
		{"days", 24 * time.Hour},
		{"hrs", time.Hour},
		{"mins", time.Minute},
		{"secs", time.Second},
		{"ms", time.Millisecond},
		{"us", time.Microsecond},
	}
	for _, u := range units {
		if d >= u.size {
			return strconv.FormatFloat(float64(d)/float64(u.size), 'f', -1, 64) + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}

// envList is an ordered environment where a later set replaces the value
// but keeps the first position.
type envList struct {
	keys   []string
	values map[string]string
}

func newEnvList() *envList { return &envList{values: map[string]string{}} }

func (e *envList) add(kvs ...string) {
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k != "" {
			e.set(k, v)
		}
	}
}

func (e *envList) set(k, v string) {
	if _, ok := e.values[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.values[k] = v
}

func (e *envList) list() []string {
	out := make([]string, 0, len(e.keys))
	for _, k := range e.keys {
		out = append(out, k+"="+e.values[k])
	}
	return out
}
