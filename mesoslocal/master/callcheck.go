package master

import (
	"errors"
	"fmt"

	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// validateCall checks what src/master/validation.cpp checks before any
// state is consulted: the sub-message each call type requires and the
// fields the decoder cannot enforce.
func validateCall(c *scheduler.Call) error {
	missing := func(field string) error {
		return fmt.Errorf("expecting '%s' to be present", field)
	}
	switch c.Type {
	case scheduler.Call_SUBSCRIBE:
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
		if c.AcknowledgeOperationStatus == nil {
			return missing("acknowledge_operation_status")
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
	}
	return nil
}
