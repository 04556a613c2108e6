package agent

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
)

// maxCallBytes bounds a call body; SUBSCRIBE with many unacknowledged
// tasks is the largest legitimate one.
const maxCallBytes = 64 << 20

// serveExecutorAPI is POST /api/v1/executor with the status codes of
// Http::executor in the Mesos agent.
func (a *Agent) serveExecutorAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpError(w, http.StatusMethodNotAllowed, "Expecting a 'POST' request, received '"+r.Method+"'")
		return
	}
	media, err := requestMedia(r.Header.Get("Content-Type"))
	if err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, errUnsupportedMedia) {
			code = http.StatusUnsupportedMediaType
		}
		httpError(w, code, err.Error())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCallBytes))
	if err != nil {
		httpError(w, http.StatusBadRequest, "Failed to read body: "+err.Error())
		return
	}
	var call executor.Call
	if err := media.unmarshalCall(body, &call); err != nil {
		httpError(w, http.StatusBadRequest, "Failed to parse body into Call: "+err.Error())
		return
	}
	if err := validateCall(&call); err != nil {
		httpError(w, http.StatusBadRequest, "Failed to validate agent::Call: "+err.Error())
		return
	}
	// Mesos accepts heartbeats before looking anything up.
	if call.Type == executor.Call_HEARTBEAT {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	switch call.Type {
	case executor.Call_SUBSCRIBE:
		a.subscribe(w, r, &call)
	case executor.Call_UPDATE:
		a.update(w, &call)
	case executor.Call_MESSAGE:
		a.message(w, &call)
	default:
		a.mu.Lock()
		_, _, code, msg := a.lookupLocked(&call)
		a.mu.Unlock()
		if code != 0 {
			httpError(w, code, msg)
			return
		}
		httpError(w, http.StatusNotImplemented, "Unsupported call type "+call.Type.String())
	}
}

func (a *Agent) lookupLocked(call *executor.Call) (*framework, *executorRun, int, string) {
	fw := a.frameworks[call.FrameworkID.Value]
	if fw == nil {
		return nil, nil, http.StatusBadRequest, "Framework cannot be found"
	}
	ex := fw.executors[call.ExecutorID.Value]
	// Command tasks have no HTTP executor behind them.
	if ex == nil || ex.command {
		return nil, nil, http.StatusBadRequest, "Executor cannot be found"
	}
	return fw, ex, 0, ""
}

func (a *Agent) subscribe(w http.ResponseWriter, r *http.Request, call *executor.Call) {
	media, ok := responseMedia(r.Header.Get("Accept"))
	if !ok {
		httpError(w, http.StatusNotAcceptable, "Expecting 'Accept' to allow application/json or application/x-protobuf")
		return
	}
	a.mu.Lock()
	if a.closing {
		a.mu.Unlock()
		httpError(w, http.StatusServiceUnavailable, "Agent is shutting down")
		return
	}
	_, ex, code, msg := a.lookupLocked(call)
	if code != 0 {
		a.mu.Unlock()
		httpError(w, code, msg)
		return
	}
	log := a.log.With("framework_id", call.FrameworkID.Value, "executor_id", call.ExecutorID.Value)
	sub := newSubscription(media)
	if ex.state == executorTerminating {
		// Too late to run anything: tell it to go away.
		sub.send(&executor.Event{Type: executor.Event_SHUTDOWN})
		sub.close()
	} else {
		if ex.sub != nil {
			log.Info("executor re-subscribed; closing its previous stream")
			ex.sub.close()
		}
		ex.sub = sub
		a.subscribedLocked(ex, call.Subscribe)
		log.Info("executor subscribed", "encoding", string(media))
	}
	a.mu.Unlock()

	sub.serve(r.Context(), w, a.cfg.ExecutorHeartbeatInterval, log)

	a.mu.Lock()
	if ex.sub == sub {
		ex.sub = nil
		log.Info("executor disconnected")
	}
	a.mu.Unlock()
}

// subscribedLocked does what Slave::subscribe does for a (re)subscribing
// executor: take in its unacknowledged updates, drop delivered tasks it
// does not know, send SUBSCRIBED, then the queued tasks.
func (a *Agent) subscribedLocked(ex *executorRun, s *executor.Call_Subscribe) {
	fw := ex.fw
	execID := ex.info.ExecutorID
	var acks []*executor.Event
	for _, u := range s.UnacknowledgedUpdates {
		st := u.Status
		if err := validateStatus(&st, execID); err != nil {
			a.log.Warn("ignoring invalid unacknowledged update", "framework_id", fw.id().Value,
				"executor_id", execID.Value, "task_id", st.TaskID.Value, "error", err)
			continue
		}
		a.fillStatus(&st, ex)
		a.recordExecutorUpdateLocked(ex, st)
		acks = append(acks, ackEvent(st))
	}
	known := map[string]bool{}
	for _, t := range s.UnacknowledgedTasks {
		known[t.TaskID.Value] = true
	}
	for id, t := range ex.launched {
		if t.state == mesos.TASK_STAGING && !known[id] {
			a.sendUpdateLocked(fw, ex, a.agentStatus(t.info.TaskID, &execID, lostState(fw), mesos.REASON_AGENT_RESTARTED,
				"Task launched during agent restart"))
		}
	}
	if ex.regTimer != nil {
		ex.regTimer.Stop()
	}
	ex.state = executorRunning
	fwInfo := fw.info
	fwID := fw.id()
	fwInfo.ID = &fwID
	containerID := mesos.ContainerID{Value: ex.containerID}
	ex.send(&executor.Event{
		Type: executor.Event_SUBSCRIBED,
		Subscribed: &executor.Event_Subscribed{
			ExecutorInfo:  ex.info,
			FrameworkInfo: fwInfo,
			AgentInfo:     a.Info(),
			ContainerID:   &containerID,
		},
	})
	for _, ack := range acks {
		ex.send(ack)
	}
	if len(ex.queued) == 0 && !ex.hadTasks {
		// Every task it was started for was killed before delivery.
		a.log.Info("executor has no tasks to run; shutting it down", "framework_id", fwID.Value, "executor_id", execID.Value)
		a.shutdownExecutorLocked(ex)
		return
	}
	queued := ex.queued
	ex.queued = nil
	for _, t := range queued {
		a.deliverLocked(ex, t)
	}
}

func (a *Agent) update(w http.ResponseWriter, call *executor.Call) {
	a.mu.Lock()
	_, ex, code, msg := a.lookupLocked(call)
	if code == 0 && ex.state == executorRegistering {
		code, msg = http.StatusForbidden, "Executor is not subscribed"
	}
	if code != 0 {
		a.mu.Unlock()
		httpError(w, code, msg)
		return
	}
	st := call.Update.Status
	a.fillStatus(&st, ex)
	a.recordExecutorUpdateLocked(ex, st)
	sub := ex.sub
	a.mu.Unlock()

	w.WriteHeader(http.StatusAccepted)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	// ACKNOWLEDGED means "the agent has it"; send it after the 202 so the
	// executor never sees the ack before its call returned.
	if sub != nil {
		sub.send(ackEvent(st))
	}
}

func (a *Agent) message(w http.ResponseWriter, call *executor.Call) {
	a.mu.Lock()
	_, ex, code, msg := a.lookupLocked(call)
	if code == 0 && ex.state == executorRegistering {
		code, msg = http.StatusForbidden, "Executor is not subscribed"
	}
	if code != 0 || a.closing {
		a.mu.Unlock()
		if code == 0 {
			code, msg = http.StatusServiceUnavailable, "Agent is shutting down"
		}
		httpError(w, code, msg)
		return
	}
	fwID, execID, data := call.FrameworkID, call.ExecutorID, call.Message.Data
	a.out.push(func() { a.master.ExecutorMessage(fwID, a.cfg.ID, execID, data) })
	a.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// recordExecutorUpdateLocked hands an executor's update to the status
// update manager; a duplicate uuid is not forwarded again.
func (a *Agent) recordExecutorUpdateLocked(ex *executorRun, st mesos.TaskStatus) {
	if a.closing || ex.fw.removing {
		return
	}
	if !a.updates.add(ex.fw.id(), st) {
		a.log.Debug("duplicate status update", "framework_id", ex.fw.id().Value, "task_id", st.TaskID.Value)
		return
	}
	if t := ex.launched[st.TaskID.Value]; t != nil {
		t.state = st.GetState()
	}
}

// fillStatus adds what the agent fills in on executor updates.
func (a *Agent) fillStatus(st *mesos.TaskStatus, ex *executorRun) {
	if st.AgentID == nil {
		id := a.cfg.ID
		st.AgentID = &id
	}
	if st.ExecutorID == nil {
		id := ex.info.ExecutorID
		st.ExecutorID = &id
	}
	if st.Timestamp == nil {
		ts := nowSeconds()
		st.Timestamp = &ts
	}
}

func ackEvent(st mesos.TaskStatus) *executor.Event {
	return &executor.Event{
		Type:         executor.Event_ACKNOWLEDGED,
		Acknowledged: &executor.Event_Acknowledged{TaskID: st.TaskID, UUID: st.UUID},
	}
}

func validateCall(c *executor.Call) error {
	if c.ExecutorID.Value == "" {
		return errors.New("expecting 'executor_id' to be present")
	}
	if c.FrameworkID.Value == "" {
		return errors.New("expecting 'framework_id' to be present")
	}
	switch c.Type {
	case executor.Call_SUBSCRIBE:
		if c.Subscribe == nil {
			return errors.New("expecting 'subscribe' to be present")
		}
	case executor.Call_UPDATE:
		if c.Update == nil {
			return errors.New("expecting 'update' to be present")
		}
		return validateStatus(&c.Update.Status, c.ExecutorID)
	case executor.Call_MESSAGE:
		if c.Message == nil {
			return errors.New("expecting 'message' to be present")
		}
	}
	return nil
}

// validateStatus applies the checks Mesos makes on an executor's update.
func validateStatus(st *mesos.TaskStatus, exec mesos.ExecutorID) error {
	switch {
	case st.TaskID.Value == "":
		return errors.New("expecting 'status.task_id' to be present")
	case st.State == nil:
		return errors.New("expecting 'status.state' to be present")
	case len(st.UUID) != 16:
		return fmt.Errorf("expecting 'status.uuid' to be 16 bytes, got %d", len(st.UUID))
	case st.ExecutorID != nil && st.ExecutorID.Value != exec.Value:
		return fmt.Errorf("executor id in call %q does not match executor id in status %q", exec.Value, st.ExecutorID.Value)
	case st.GetSource() != mesos.SOURCE_EXECUTOR || st.Source == nil:
		return fmt.Errorf("status source must be SOURCE_EXECUTOR, got %s", st.GetSource())
	case st.GetState() == mesos.TASK_STAGING:
		return errors.New("executors must not send TASK_STAGING")
	}
	return nil
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg)
}
