package mesoslocal

import (
	"fmt"
	"regexp"
	"strconv"
)

// portsRange matches a resource string's single ports range, "ports:[a-b]".
var portsRange = regexp.MustCompile(`ports(\([^)]*\))?:\[(\d+)-(\d+)\]`)

// splitPorts gives the i-th of n agents its own share of the ports range
// in resources. The agents of one cluster run on one host: offering all of
// them the same ports would hand out ports that cannot all be bound. A
// string without exactly one ports range, or one too small to share,
// comes back as it is.
func splitPorts(resources string, n, i int) string {
	m := portsRange.FindAllStringSubmatchIndex(resources, -1)
	if n <= 1 || i < 0 || i >= n || len(m) != 1 {
		return resources
	}
	loc := m[0]
	lo, err1 := strconv.Atoi(resources[loc[4]:loc[5]])
	hi, err2 := strconv.Atoi(resources[loc[6]:loc[7]])
	size := (hi - lo + 1) / n
	if err1 != nil || err2 != nil || size < 1 {
		return resources
	}
	first := lo + i*size
	last := first + size - 1
	if i == n-1 {
		last = hi
	}
	return resources[:loc[4]] + fmt.Sprintf("%d-%d", first, last) + resources[loc[7]:]
}
