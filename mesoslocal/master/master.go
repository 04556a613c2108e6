package master

import (
	"fmt"
	"log/slog"
	"maps"
	"net"
	"strconv"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Defaults taken from the Mesos master (src/master/constants.hpp).
const (
	DefaultHeartbeatInterval  = 15 * time.Second
	DefaultAllocationInterval = time.Second
	// Version is reported in master_info; it names the Mesos release whose
	// protobuf schema mesos-go v0.0.11 speaks.
	Version = "1.10.0"
)

// Config configures a Master. The zero value of every field but Address
// selects the Mesos default.
type Config struct {
	// ID is the master id used as prefix of framework, agent and offer ids.
	// Empty generates a random UUID, as Mesos does.
	ID string
	// Address is host:port where /api/v1/scheduler is served. It is
	// reported in master_info and required.
	Address string
	// Hostname reported in master_info; defaults to the host of Address.
	Hostname string
	// HeartbeatInterval between HEARTBEAT events on scheduler streams.
	HeartbeatInterval time.Duration
	// AllocationInterval between offer rounds. Offers are also made
	// promptly after SUBSCRIBE, REVIVE and whenever resources are freed.
	AllocationInterval time.Duration
	// Credentials maps principal to secret. When not empty, HTTP framework
	// authentication is on (Mesos' --authenticate_http_frameworks with the
	// basic authenticator): every scheduler request must carry matching
	// Basic credentials, and a framework's principal must be the one it
	// authenticated as.
	Credentials map[string]string
}

// Master is the in-process Mesos master. Create it with New, serve it as an
// http.Handler and stop it with Close.
type Master struct {
	cfg  Config
	log  *slog.Logger
	host string
	ip   net.IP
	port uint32

	mu     sync.Mutex
	closed bool
	id     string // current master id; changes on Restart
	seq    counters
	// frameworks holds every framework the master knows, connected or not.
	frameworks map[string]*framework
	// removed holds ids of torn-down or expired frameworks; they are
	// refused forever after (until a master restart forgets them).
	removed     map[string]bool
	agents      map[string]*agentEntry
	agentOrder  []string // allocation order: registration order
	unreachable map[string]time.Time
	offers      map[string]*offer
	tasks       map[taskKey]*task
	executors   map[execKey]*executor
	// loads indexes tasks, executors and offers by agent (load.go); only
	// putTask, dropTask and their likes change these four maps.
	loads  map[string]*agentLoad
	rotate int // round-robin start among frameworks
	faults faults

	kick chan struct{} // capacity 1: "allocate now"
	stop chan struct{}
	wg   sync.WaitGroup
}

type counters struct {
	framework, offer, agent int
}

// New creates a master and starts its allocator. The caller serves it
// (it is an http.Handler) on the listener named by cfg.Address.
func New(cfg Config, log *slog.Logger) (*Master, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, portStr, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("new master: address %q: %w", cfg.Address, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("new master: port %q: %w", portStr, err)
	}
	if cfg.Hostname == "" {
		cfg.Hostname = host
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.AllocationInterval <= 0 {
		cfg.AllocationInterval = DefaultAllocationInterval
	}
	if cfg.ID == "" {
		cfg.ID = newUUID()
	}
	if err := checkCredentials(cfg.Credentials); err != nil {
		return nil, fmt.Errorf("new master: %w", err)
	}
	// A private copy: the caller's map may change while requests are
	// being authenticated.
	cfg.Credentials = maps.Clone(cfg.Credentials)
	ip := net.ParseIP(host)
	if ip == nil {
		if addrs, err := net.LookupIP(host); err == nil && len(addrs) > 0 {
			ip = addrs[0]
		}
	}
	m := &Master{
		cfg:  cfg,
		log:  log,
		host: host,
		ip:   ip,
		port: uint32(port),
		id:   cfg.ID,
		kick: make(chan struct{}, 1),
		stop: make(chan struct{}),
	}
	m.resetState()
	m.wg.Add(1)
	go m.allocationLoop()
	return m, nil
}

// resetState drops everything the master keeps in memory about frameworks,
// offers and tasks. Agents are kept by the caller when that is wanted.
func (m *Master) resetState() {
	m.frameworks = map[string]*framework{}
	m.removed = map[string]bool{}
	m.offers = map[string]*offer{}
	m.tasks = map[taskKey]*task{}
	m.executors = map[execKey]*executor{}
	m.loads = map[string]*agentLoad{}
	if m.agents == nil {
		m.agents = map[string]*agentEntry{}
		m.unreachable = map[string]time.Time{}
	}
}

// ID returns the current master id.
func (m *Master) ID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.id
}

// Close ends every scheduler stream, stops the allocator and the agent
// queues. It does not close agents; their owner does.
func (m *Master) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	for _, fw := range m.frameworks {
		fw.stopTimer()
		if fw.stream != nil {
			fw.stream.end(nil)
			fw.stream = nil
		}
	}
	for _, a := range m.agents {
		a.queue.close()
	}
	m.mu.Unlock()
	close(m.stop)
	m.wg.Wait()
	return nil
}

// masterInfo builds master_info for SUBSCRIBED. Mesos encodes the IPv4
// address as a uint32 in network byte order read as a little-endian value.
func (m *Master) masterInfo() *mesos.MasterInfo {
	var ip uint32
	ipText := m.host
	if v4 := m.ip.To4(); v4 != nil {
		ip = uint32(v4[0]) | uint32(v4[1])<<8 | uint32(v4[2])<<16 | uint32(v4[3])<<24
		ipText = v4.String()
	}
	port := m.port
	hostname := m.cfg.Hostname
	version := Version
	return &mesos.MasterInfo{
		ID:       m.id,
		IP:       ip,
		Port:     &port,
		Hostname: &hostname,
		Version:  &version,
		Address: &mesos.Address{
			Hostname: &hostname,
			IP:       &ipText,
			Port:     int32(port),
		},
	}
}

// kickAllocator asks for an offer round as soon as possible.
func (m *Master) kickAllocator() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *Master) allocationLoop() {
	defer m.wg.Done()
	ticker := time.NewTicker(m.cfg.AllocationInterval)
	defer ticker.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-ticker.C:
		case <-m.kick:
		}
		m.mu.Lock()
		if !m.closed {
			m.allocate(time.Now())
		}
		m.mu.Unlock()
	}
}
