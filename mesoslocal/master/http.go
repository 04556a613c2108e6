package master

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// SchedulerPath is where the v1 scheduler API is served.
const SchedulerPath = "/api/v1/scheduler"

// maxCallSize bounds a call body; Mesos has no explicit limit, but a call
// larger than this is a client bug rather than a workload.
const maxCallSize = 64 << 20

// apiError is an HTTP error answer: a status and a short plain-text reason.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.code, e.msg) }

func fail(code int, format string, args ...any) *apiError {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// ServeHTTP serves /api/v1/scheduler.
func (m *Master) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != SchedulerPath {
		http.NotFound(w, r)
		return
	}
	// libprocess authenticates before the endpoint handler runs, so a
	// request without valid credentials gets 401 whatever else is wrong
	// with it, even from a master that is not the leader.
	principal, ok := m.authenticate(r)
	if !ok {
		unauthorized(w)
		return
	}
	if redirect, unavailable := m.faultAnswer(); redirect != "" {
		w.Header().Set("Location", "//"+redirect+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	} else if unavailable {
		http.Error(w, "No leader elected", http.StatusServiceUnavailable)
		return
	}
	call, aerr := readCall(r, principal)
	if aerr != nil {
		http.Error(w, aerr.msg, aerr.code)
		return
	}
	var mediaType string
	if call.Type == scheduler.Call_SUBSCRIBE || call.Type == scheduler.Call_RECONCILE_OPERATIONS {
		// Mesos negotiates an encoding only for the calls that produce
		// events; Accept is ignored on every other call.
		var err error
		if mediaType, err = negotiate(r.Header.Get("Accept")); err != nil {
			http.Error(w, err.Error(), http.StatusNotAcceptable)
			return
		}
	}
	if call.Type == scheduler.Call_SUBSCRIBE {
		m.serveSubscribe(w, r, call, mediaType, principal)
		return
	}
	code, aerr := m.handleCall(call, r.Header.Get("Mesos-Stream-Id"), principal)
	m.holdAnswer(call.Type)
	if aerr != nil {
		http.Error(w, aerr.msg, aerr.code)
		return
	}
	if code == http.StatusOK {
		// UPDATE_FRAMEWORK: Mesos answers 200 with an empty body and no
		// Content-Type, which mesos-go v0.0.11 refuses on a 200 ("unexpected
		// content type") and then drops the subscription. Labelling the
		// empty body with the call's own media type satisfies that check.
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
	}
	w.WriteHeader(code)
}

// readCall applies the transport checks (method, Content-Type) and parses
// the body, answering like the Mesos master for each failure.
func readCall(r *http.Request, principal string) (*scheduler.Call, *apiError) {
	if r.Method != http.MethodPost {
		return nil, fail(http.StatusMethodNotAllowed, "Expecting a 'POST' request, received '%s'", r.Method)
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil, fail(http.StatusBadRequest, "Expecting 'Content-Type' to be present")
	}
	if ct != mediaJSON && ct != mediaProtobuf {
		return nil, fail(http.StatusUnsupportedMediaType,
			"Expecting 'Content-Type' of %s or %s", mediaJSON, mediaProtobuf)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCallSize))
	if err != nil {
		return nil, fail(http.StatusBadRequest, "Failed to read body: %v", err)
	}
	call, err := decodeCall(ct, body)
	if err != nil {
		return nil, fail(http.StatusBadRequest, "Failed to parse body into Call: %v", err)
	}
	if err := validateCall(call, principal); err != nil {
		return nil, fail(http.StatusBadRequest, "Failed to validate scheduler::Call: %v", err)
	}
	return call, nil
}

// serveSubscribe answers SUBSCRIBE with a RecordIO event stream of the
// negotiated media type.
func (m *Master) serveSubscribe(w http.ResponseWriter, r *http.Request, call *scheduler.Call, mediaType, principal string) {
	if r.Header.Get("Mesos-Stream-Id") != "" {
		http.Error(w, "Subscribe calls should not include the 'Mesos-Stream-Id' header", http.StatusBadRequest)
		return
	}
	if info := call.Subscribe.FrameworkInfo; principal != "" && info.Principal == nil {
		// An authenticated framework may leave its principal out; Mesos
		// records the authenticated one, which later calls must match.
		info.Principal = &principal
	}
	s := newStream(mediaType)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		http.Error(w, "Master is shutting down", http.StatusServiceUnavailable)
		return
	}
	m.subscribe(call.Subscribe, s)
	heartbeat := m.cfg.HeartbeatInterval
	m.mu.Unlock()

	// Headers go out at once so the response is chunked: mesos-go decodes
	// a body with a known Content-Length as one object, not as RecordIO.
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Mesos-Stream-Id", s.id)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if !s.serve(r, w, heartbeat) {
		return
	}
	m.mu.Lock()
	if fw := m.frameworks[s.framework]; fw != nil {
		m.disconnected(fw, s)
	}
	m.mu.Unlock()
	select {
	case <-s.drop:
		// A dropped stream must look like a broken connection, not an
		// orderly end of the chunked body.
		panic(http.ErrAbortHandler)
	default:
	}
}

// handleCall runs the common checks of every non-SUBSCRIBE call and
// dispatches it (scheduler-api.md §4). It returns the success status:
// 202 for the asynchronous calls, 200 for UPDATE_FRAMEWORK.
func (m *Master) handleCall(call *scheduler.Call, streamID, principal string) (int, *apiError) {
	fid := call.FrameworkID.GetValue()
	m.mu.Lock()
	defer m.mu.Unlock()
	fw := m.frameworks[fid]
	if fw == nil {
		if m.hasTasksOf(fid) {
			// Known from its agents' tasks (after a master restart) but
			// not re-subscribed yet.
			return 0, fail(http.StatusForbidden, "Framework is not subscribed")
		}
		return 0, fail(http.StatusBadRequest, "Framework cannot be found")
	}
	if principal != "" && principal != fw.info.GetPrincipal() {
		return 0, fail(http.StatusBadRequest,
			"Authenticated principal '%s' does not match principal '%s' set in `FrameworkInfo`",
			principal, fw.info.GetPrincipal())
	}
	if !fw.connected() {
		return 0, fail(http.StatusForbidden, "Framework is not subscribed")
	}
	if streamID == "" {
		return 0, fail(http.StatusBadRequest, "All non-subscribe calls should include the 'Mesos-Stream-Id' header")
	}
	if streamID != fw.stream.id {
		return 0, fail(http.StatusBadRequest, "The stream ID '%s' included in this request didn't match the stream ID currently associated with framework ID %s", streamID, fid)
	}
	now := time.Now()
	switch call.Type {
	case scheduler.Call_TEARDOWN:
		m.removeFramework(fw, "teardown")
	case scheduler.Call_ACCEPT:
		m.accept(fw, call.Accept, now)
	case scheduler.Call_DECLINE:
		m.declineOffers(fw, call.Decline, now)
	case scheduler.Call_REVIVE:
		if roles := call.Revive.GetRoles(); fw.validRoles(roles) {
			m.revive(fw, roles)
		}
	case scheduler.Call_SUPPRESS:
		if roles := call.Suppress.GetRoles(); fw.validRoles(roles) {
			m.suppress(fw, roles)
		}
	case scheduler.Call_KILL:
		m.kill(fw, call.Kill)
	case scheduler.Call_SHUTDOWN:
		if a := m.agent(call.Shutdown.AgentID.Value); a != nil {
			f, e := fw.id, call.Shutdown.ExecutorID
			a.do(func(ag Agent) { ag.ShutdownExecutor(f, e) })
		}
	case scheduler.Call_ACKNOWLEDGE:
		m.acknowledge(fw, call.Acknowledge)
	case scheduler.Call_RECONCILE:
		m.reconcile(fw, call.Reconcile)
	case scheduler.Call_RECONCILE_OPERATIONS:
		m.reconcileOperations(fw, call.ReconcileOperations)
	case scheduler.Call_UPDATE_FRAMEWORK:
		if aerr := m.updateFramework(fw, call.UpdateFramework); aerr != nil {
			return 0, aerr
		}
		return http.StatusOK, nil
	case scheduler.Call_MESSAGE:
		if a := m.agent(call.Message.AgentID.Value); a != nil {
			f, e, d := fw.id, call.Message.ExecutorID, call.Message.Data
			a.do(func(ag Agent) { ag.SendFrameworkMessage(f, e, d) })
		}
	case scheduler.Call_REQUEST, scheduler.Call_ACCEPT_INVERSE_OFFERS,
		scheduler.Call_DECLINE_INVERSE_OFFERS, scheduler.Call_ACKNOWLEDGE_OPERATION_STATUS:
		// Accepted and ignored: no allocator requests, maintenance or
		// operation feedback in the stand-in.
	case scheduler.Call_UNKNOWN:
		return 0, fail(http.StatusNotImplemented, "Received an unexpected UNKNOWN call")
	default:
		return 0, fail(http.StatusNotImplemented, "Call %s is not supported", call.Type)
	}
	return http.StatusAccepted, nil
}

// hasTasksOf reports whether tasks of a framework id are known.
func (m *Master) hasTasksOf(fid string) bool {
	for key := range m.tasks {
		if key.framework == fid {
			return true
		}
	}
	return false
}
