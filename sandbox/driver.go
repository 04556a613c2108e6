// Package sandbox describes the languages fob runs. Each language is a
// driver in its own folder (sandbox/python, sandbox/node, …) that registers
// itself here; sandbox/drivers imports them all. The executor stays
// language-agnostic: it writes the driver's shim and the function's code
// into the task sandbox and runs the driver's worker command.
package sandbox

import (
	"fmt"
	"sort"
	"sync"
)

// Driver is everything fob knows about one language.
type Driver struct {
	// Name is the value of ?lang= that selects the driver, e.g. "python".
	Name string
	// Extension is the file extension the code is saved with, e.g. ".py".
	Extension string
	// Image is the container image a Docker containerizer runs instances in.
	Image string
	// ShimName and Shim are the worker program the executor writes into
	// the sandbox next to the code.
	ShimName string
	Shim     []byte
	// Command is the worker's argv. "{shim}" and "{code}" are replaced with
	// the paths of the shim and of the function's code.
	Command []string
	// WaitCommand is the worker's argv in waiting mode, for stems of the
	// warm pool: the worker starts without code, says it is waiting, and
	// loads the code a load frame names (see executor/worker). "{shim}" is
	// replaced as in Command. Empty: the language has no warm pool.
	WaitCommand []string
}

var (
	mu      sync.RWMutex
	drivers = map[string]Driver{}
)

// Register makes a driver available. Registering a name twice is a
// programming error.
func Register(d Driver) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := drivers[d.Name]; dup {
		panic(fmt.Sprintf("sandbox: driver %q registered twice", d.Name))
	}
	drivers[d.Name] = d
}

// Lookup returns the driver called name.
func Lookup(name string) (Driver, bool) {
	mu.RLock()
	defer mu.RUnlock()
	d, ok := drivers[name]
	return d, ok
}

// Names lists the registered languages in order.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
