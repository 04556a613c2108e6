package master

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// subscribe registers or re-registers a framework on stream s. A semantic
// refusal ends s with one ERROR event; the HTTP status stays 200, as in
// Mesos. Must hold m.mu.
func (m *Master) subscribe(sub *scheduler.Call_Subscribe, s *stream) {
	info := *sub.FrameworkInfo
	roles, err := validateFrameworkInfo(&info)
	if err == nil {
		err = checkSuppressed(roles, sub.SuppressedRoles)
	}
	id := info.ID.GetValue()
	if err == nil && id != "" && m.removed[id] {
		err = errors.New("Framework has been removed")
	}
	fw := m.frameworks[id]
	if err == nil && fw != nil && fw.info.GetPrincipal() != info.GetPrincipal() {
		err = fmt.Errorf("Changing framework's principal is not allowed (from %q to %q)",
			fw.info.GetPrincipal(), info.GetPrincipal())
	}
	if err != nil {
		m.log.Info("subscription refused", "framework_id", id, "error", err)
		s.end(errorEvent(err.Error()))
		return
	}

	switch {
	case fw != nil:
		// Re-subscription (failover). user and checkpoint are immutable:
		// Mesos silently keeps the old values.
		info.User = fw.info.User
		info.Checkpoint = fw.info.Checkpoint
		if fw.stream != nil {
			fw.stream.end(errorEvent("Framework failed over"))
			fw.stream = nil
		}
		fw.stopTimer()
		m.discardOffers(fw, false)
		m.log.Info("framework failed over", "framework_id", id)
	case id != "":
		// A well-formed id this master never saw: after a master failover
		// the framework is recovered from what the scheduler supplies.
		fw = &framework{id: mesos.FrameworkID{Value: id}}
		m.frameworks[id] = fw
		m.log.Info("framework recovered", "framework_id", id)
	default:
		id = fmt.Sprintf("%s-%04d", m.id, m.seq.framework)
		m.seq.framework++
		fw = &framework{id: mesos.FrameworkID{Value: id}}
		m.frameworks[id] = fw
		m.log.Info("framework registered", "framework_id", id, "name", info.Name)
	}
	info.ID = &fw.id
	fw.info = info
	fw.roles = roles
	fw.filters = nil
	fw.suppressed = map[string]bool{}
	for _, r := range sub.SuppressedRoles {
		fw.suppressed[r] = true
	}
	fw.stream = s
	s.framework = id

	hb := m.cfg.HeartbeatInterval.Seconds()
	fid := fw.id
	s.send(&scheduler.Event{
		Type: scheduler.Event_SUBSCRIBED,
		Subscribed: &scheduler.Event_Subscribed{
			FrameworkID:              &fid,
			HeartbeatIntervalSeconds: &hb,
			MasterInfo:               m.masterInfo(),
		},
	})
	s.send(&scheduler.Event{Type: scheduler.Event_HEARTBEAT})
	for _, aid := range m.agentOrder {
		if a := m.agent(aid); a != nil {
			a.do(func(ag Agent) { ag.FrameworkReconnected(fid) })
		}
	}
	m.kickAllocator()
}

func errorEvent(msg string) *scheduler.Event {
	return &scheduler.Event{Type: scheduler.Event_ERROR, Error: &scheduler.Event_Error{Message: msg}}
}

// validateFrameworkInfo applies the FrameworkInfo checks Mesos runs on
// SUBSCRIBE and UPDATE_FRAMEWORK (validation::framework::validate) and
// returns the roles the framework asks for.
func validateFrameworkInfo(info *mesos.FrameworkInfo) ([]string, error) {
	roles, err := frameworkRoles(info)
	if err != nil {
		return nil, err
	}
	// An empty id means "new framework", not an invalid one.
	if id := info.ID.GetValue(); id != "" {
		if err := validateID(id); err != nil {
			return nil, fmt.Errorf("'FrameworkInfo.id' is invalid: %w", err)
		}
	}
	// Mesos turns failover_timeout into a Duration, which fails for
	// values outside the int64 nanosecond range.
	if ft := info.FailoverTimeout; ft != nil &&
		(math.IsNaN(*ft) || math.Abs(*ft) > float64(math.MaxInt64)/float64(time.Second)) {
		return nil, fmt.Errorf("the framework failover_timeout (%v) is invalid", *ft)
	}
	return roles, nil
}

// frameworkRoles returns the roles a framework subscribes with, enforcing
// the role/roles rules of MULTI_ROLE.
func frameworkRoles(info *mesos.FrameworkInfo) ([]string, error) {
	multi := false
	for _, c := range info.Capabilities {
		if c.Type == mesos.FrameworkInfo_Capability_MULTI_ROLE {
			multi = true
		}
	}
	var roles []string
	if multi {
		if info.Role != nil {
			return nil, errors.New("'FrameworkInfo.role' must not be present when the MULTI_ROLE capability is set")
		}
		seen := map[string]bool{}
		for _, r := range info.Roles {
			if seen[r] {
				return nil, fmt.Errorf("'FrameworkInfo.roles' contains duplicate role '%s'", r)
			}
			seen[r] = true
			roles = append(roles, r)
		}
	} else {
		if len(info.Roles) > 0 {
			return nil, errors.New("'FrameworkInfo.roles' must not be set without the MULTI_ROLE capability")
		}
		roles = []string{info.GetRole()}
	}
	for _, r := range roles {
		if err := validateRole(r); err != nil {
			return nil, fmt.Errorf("role '%s' is invalid: %w", r, err)
		}
	}
	return roles, nil
}

func checkSuppressed(roles, suppressed []string) error {
	set := map[string]bool{}
	for _, r := range roles {
		set[r] = true
	}
	for _, r := range suppressed {
		if !set[r] {
			return fmt.Errorf("suppressed role '%s' is not contained in the list of roles", r)
		}
	}
	return nil
}

// validateRole applies src/common/roles.cpp: "*" or a path of components
// that are not empty, ".", ".." or "*", with no leading '-' and no
// whitespace or control characters.
func validateRole(role string) error {
	if role == mesos.DefaultRole {
		return nil
	}
	if role == "" {
		return errors.New("empty role name is invalid")
	}
	if strings.HasPrefix(role, "-") {
		return errors.New("role name must not start with '-'")
	}
	for _, r := range role {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return errors.New("role name must not contain whitespace or control characters")
		}
	}
	for _, c := range strings.Split(role, "/") {
		switch c {
		case "":
			return errors.New("role name must not have empty path components")
		case ".", "..", "*":
			return fmt.Errorf("role path component '%s' is invalid", c)
		}
	}
	return nil
}

// validRoles reports whether every role is one the framework subscribed
// with; REVIVE and SUPPRESS naming any other role are dropped whole.
func (fw *framework) validRoles(roles []string) bool {
	for _, r := range roles {
		found := false
		for _, have := range fw.roles {
			if r == have {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
