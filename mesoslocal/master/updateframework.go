package master

import (
	"fmt"
	"net/http"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// updateFramework applies UPDATE_FRAMEWORK the way Master::updateFramework
// does: all or nothing, the FrameworkInfo replaced whole except for the
// immutable principal, user and checkpoint, and suppressed_roles replacing
// the set of suppressed roles (an empty list unsuppresses every role).
// Must hold m.mu.
func (m *Master) updateFramework(fw *framework, u *scheduler.Call_UpdateFramework) *apiError {
	info := u.FrameworkInfo
	roles, err := validateFrameworkInfo(&info)
	if err != nil {
		return fail(http.StatusBadRequest, "Supplied FrameworkInfo is not valid: %v", err)
	}
	if err := validateInfoUpdate(&fw.info, &info); err != nil {
		return fail(http.StatusBadRequest, "FrameworkInfo update is not valid: %v", err)
	}
	if err := checkSuppressed(roles, u.SuppressedRoles); err != nil {
		return fail(http.StatusBadRequest, "'UpdateFramework' call is not valid: %v", err)
	}
	info.ID = &fw.id
	changed := !fw.info.Equal(&info)

	newRoles := make(map[string]bool, len(roles))
	for _, r := range roles {
		newRoles[r] = true
	}
	suppressed := make(map[string]bool, len(u.SuppressedRoles))
	for _, r := range u.SuppressedRoles {
		suppressed[r] = true
	}
	// A role that leaves the suppressed set is revived, which also clears
	// its filters, exactly as REVIVE would.
	revived := map[string]bool{}
	for r := range fw.suppressed {
		if !suppressed[r] && newRoles[r] {
			revived[r] = true
		}
	}
	kept := fw.filters[:0]
	for _, f := range fw.filters {
		if newRoles[f.role] && !revived[f.role] {
			kept = append(kept, f)
		}
	}
	fw.filters = kept
	// Offers made to a role the framework left are no longer usable by it.
	for id, o := range m.offers {
		if o.framework == fw.id.Value && !newRoles[o.role] {
			m.dropOffer(id)
			fw.send(rescindEvent(id))
		}
	}

	fw.info = info
	fw.roles = roles
	fw.suppressed = suppressed
	m.log.Info("framework updated", "framework_id", fw.id.Value, "roles", roles,
		"suppressed_roles", u.SuppressedRoles)
	if changed {
		// Mesos forwards the new FrameworkInfo to every agent, which
		// resends its pending status updates on receipt.
		fid := fw.id
		for _, aid := range m.agentOrder {
			if a := m.agent(aid); a != nil {
				a.do(func(ag Agent) { ag.FrameworkReconnected(fid) })
			}
		}
	}
	m.kickAllocator()
	return nil
}

// validateInfoUpdate refuses changes to the fields Mesos keeps immutable
// (validation::framework::validateUpdate). Unlike a re-SUBSCRIBE, which
// silently keeps the old user and checkpoint, UPDATE_FRAMEWORK fails.
func validateInfoUpdate(old, upd *mesos.FrameworkInfo) error {
	if (old.Principal == nil) != (upd.Principal == nil) || old.GetPrincipal() != upd.GetPrincipal() {
		return fmt.Errorf("changing framework's principal is not allowed")
	}
	if upd.User != old.User {
		return fmt.Errorf("updating 'FrameworkInfo.user' is unsupported; attempted to update from '%s' to '%s'",
			old.User, upd.User)
	}
	if upd.GetCheckpoint() != old.GetCheckpoint() {
		return fmt.Errorf("updating 'FrameworkInfo.checkpoint' is unsupported; attempted to update from '%t' to '%t'",
			old.GetCheckpoint(), upd.GetCheckpoint())
	}
	return nil
}
