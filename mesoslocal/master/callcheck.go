package master

import (
	"errors"
	"fmt"

	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// validateCall checks what src/master/validation.cpp checks before any
// state is consulted: the sub-message each call type requires, the fields
// the decoder cannot enforce and the ids that must agree within the call.
// principal is the authenticated principal, "" without authentication.
func validateCall(c *scheduler.Call, principal string) error {
	missing := func(field string) error {
		return fmt.Errorf("expecting '%s' to be present", field)
	}
	if c.Type == scheduler.Call_SUBSCRIBE {
		if c.Subscribe == nil {
			return missing("subscribe")
		}
		fi := c.Subscribe.FrameworkInfo
		if fi == nil {
			return missing("subscribe.framework_info")
		}
		if fi.User == "" || fi.Name == "" {
			return errors.New("missing required fields: framework_info.user, framework_info.name")
		}
		if c.FrameworkID.GetValue() != fi.ID.GetValue() {
			return errors.New("'framework_id' differs from 'subscribe.framework_info.id'")
		}
		// An unset principal is filled in later; a different one is an
		// attempt to register under someone else's name.
		if principal != "" && fi.Principal != nil && *fi.Principal != principal {
			return fmt.Errorf("authenticated principal '%s' does not match principal '%s' set in `FrameworkInfo`",
				principal, *fi.Principal)
		}
		return nil
	}
	if c.FrameworkID == nil {
		return missing("framework_id")
	}
	switch c.Type {
	case scheduler.Call_ACCEPT:
		if c.Accept == nil {
			return missing("accept")
		}
	case scheduler.Call_DECLINE:
		if c.Decline == nil {
			return missing("decline")
		}
	case scheduler.Call_ACCEPT_INVERSE_OFFERS:
		if c.AcceptInverseOffers == nil {
			return missing("accept_inverse_offers")
		}
	case scheduler.Call_DECLINE_INVERSE_OFFERS:
		if c.DeclineInverseOffers == nil {
			return missing("decline_inverse_offers")
		}
	case scheduler.Call_KILL:
		if c.Kill == nil {
			return missing("kill")
		}
		if c.Kill.TaskID.Value == "" {
			return missing("kill.task_id")
		}
	case scheduler.Call_SHUTDOWN:
		if c.Shutdown == nil {
			return missing("shutdown")
		}
	case scheduler.Call_ACKNOWLEDGE:
		if c.Acknowledge == nil {
			return missing("acknowledge")
		}
		if len(c.Acknowledge.UUID) != 16 {
			return errors.New("'uuid' is not a valid UUID")
		}
	case scheduler.Call_ACKNOWLEDGE_OPERATION_STATUS:
		ack := c.AcknowledgeOperationStatus
		if ack == nil {
			return missing("acknowledge_operation_status")
		}
		if len(ack.UUID) != 16 {
			return errors.New("'uuid' is not a valid UUID")
		}
		if ack.AgentID == nil {
			return missing("agent_id")
		}
	case scheduler.Call_RECONCILE:
		if c.Reconcile == nil {
			return missing("reconcile")
		}
	case scheduler.Call_RECONCILE_OPERATIONS:
		if c.ReconcileOperations == nil {
			return missing("reconcile_operations")
		}
	case scheduler.Call_MESSAGE:
		if c.Message == nil {
			return missing("message")
		}
	case scheduler.Call_REQUEST:
		if c.Request == nil {
			return missing("request")
		}
	case scheduler.Call_UPDATE_FRAMEWORK:
		if c.UpdateFramework == nil {
			return missing("update_framework")
		}
		if c.FrameworkID.GetValue() != c.UpdateFramework.FrameworkInfo.ID.GetValue() {
			return errors.New("'framework_id' differs from 'update_framework.framework_info.id'")
		}
	}
	return nil
}
