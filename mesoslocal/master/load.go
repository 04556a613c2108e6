package master

import (
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// agentLoad indexes what holds one agent's resources: its tasks (by task
// id, as status updates name them), executors and outstanding offers, and
// caches their sum. A status update then finds its task, and an allocation
// round an agent's free resources, without going over every task of the
// cluster; the sum is made again only for agents whose load changed.
type agentLoad struct {
	// tasks maps task id → framework id → task: task ids are unique per
	// framework only.
	tasks     map[string]map[string]*task
	executors map[execKey]*executor
	offers    map[string]*offer
	used      mesos.Resources
	usedValid bool
}

// load returns the index of agent, creating it. Must hold m.mu.
func (m *Master) load(agent string) *agentLoad {
	l := m.loads[agent]
	if l == nil {
		l = &agentLoad{
			tasks:     map[string]map[string]*task{},
			executors: map[execKey]*executor{},
			offers:    map[string]*offer{},
		}
		m.loads[agent] = l
	}
	return l
}

// putTask records a task. Must hold m.mu.
func (m *Master) putTask(key taskKey, t *task) {
	if old := m.tasks[key]; old != nil {
		m.dropTask(key)
	}
	m.tasks[key] = t
	l := m.load(t.agent)
	byFw := l.tasks[key.task]
	if byFw == nil {
		byFw = map[string]*task{}
		l.tasks[key.task] = byFw
	}
	byFw[key.framework] = t
	l.usedValid = false
}

// dropTask forgets a task. Must hold m.mu.
func (m *Master) dropTask(key taskKey) {
	t := m.tasks[key]
	if t == nil {
		return
	}
	delete(m.tasks, key)
	l := m.load(t.agent)
	if byFw := l.tasks[key.task]; byFw != nil {
		delete(byFw, key.framework)
		if len(byFw) == 0 {
			delete(l.tasks, key.task)
		}
	}
	l.usedValid = false
}

// putExecutor records an executor. Must hold m.mu.
func (m *Master) putExecutor(key execKey, e *executor) {
	m.executors[key] = e
	l := m.load(key.agent)
	l.executors[key] = e
	l.usedValid = false
}

// dropExecutor forgets an executor. Must hold m.mu.
func (m *Master) dropExecutor(key execKey) {
	if _, ok := m.executors[key]; !ok {
		return
	}
	delete(m.executors, key)
	l := m.load(key.agent)
	delete(l.executors, key)
	l.usedValid = false
}

// putOffer records an outstanding offer. Must hold m.mu.
func (m *Master) putOffer(o *offer) {
	m.offers[o.id] = o
	l := m.load(o.agent)
	l.offers[o.id] = o
	l.usedValid = false
}

// dropOffer withdraws an offer. Must hold m.mu.
func (m *Master) dropOffer(id string) {
	o := m.offers[id]
	if o == nil {
		return
	}
	delete(m.offers, id)
	l := m.load(o.agent)
	delete(l.offers, id)
	l.usedValid = false
}

// used sums what live tasks, executors and outstanding offers hold on
// agent. Must hold m.mu.
func (m *Master) used(agent string) mesos.Resources {
	l := m.load(agent)
	if l.usedValid {
		return l.used
	}
	var used mesos.Resources
	for _, byFw := range l.tasks {
		for _, t := range byFw {
			if !t.released {
				used = used.Plus(t.resources...)
			}
		}
	}
	for _, e := range l.executors {
		used = used.Plus(e.resources...)
	}
	for _, o := range l.offers {
		used = used.Plus(o.resources...)
	}
	l.used, l.usedValid = used, true
	return used
}
