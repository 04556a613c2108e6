package mesoslocal

import (
	"fmt"
	"strconv"
	"strings"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// ParseResources parses a Mesos agent --resources string such as
// "cpus:4;mem:8192;disk:10240;ports:[31000-32000]". Each entry is
// name[(role)]:value where value is a scalar ("0.5"), ranges
// ("[31000-31999, 33000-33000]") or a set ("{a,b}"). Only the unreserved
// role "*" is accepted: the stand-in has no reservations.
func ParseResources(s string) (mesos.Resources, error) {
	var out mesos.Resources
	seen := map[string]bool{}
	for _, entry := range strings.Split(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		r, err := parseResource(entry)
		if err != nil {
			return nil, fmt.Errorf("parse resources %q: %w", s, err)
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("parse resources %q: duplicate resource %q", s, r.Name)
		}
		seen[r.Name] = true
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("parse resources %q: %s: %w", s, r.Name, err)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("parse resources %q: no resources", s)
	}
	return out, nil
}

func parseResource(entry string) (mesos.Resource, error) {
	key, value, ok := strings.Cut(entry, ":")
	if !ok {
		return mesos.Resource{}, fmt.Errorf("entry %q: expected name:value", entry)
	}
	name := strings.TrimSpace(key)
	if open := strings.IndexByte(name, '('); open >= 0 {
		if !strings.HasSuffix(name, ")") {
			return mesos.Resource{}, fmt.Errorf("entry %q: unterminated role", entry)
		}
		role := name[open+1 : len(name)-1]
		if role != mesos.DefaultRole {
			return mesos.Resource{}, fmt.Errorf("entry %q: reserved role %q is not supported", entry, role)
		}
		name = strings.TrimSpace(name[:open])
	}
	if name == "" {
		return mesos.Resource{}, fmt.Errorf("entry %q: empty name", entry)
	}
	value = strings.TrimSpace(value)
	r := mesos.Resource{Name: name}
	switch {
	case strings.HasPrefix(value, "["):
		ranges, err := parseRanges(value)
		if err != nil {
			return mesos.Resource{}, fmt.Errorf("entry %q: %w", entry, err)
		}
		r.Type = mesos.RANGES.Enum()
		r.Ranges = &mesos.Value_Ranges{Range: ranges}
	case strings.HasPrefix(value, "{"):
		if !strings.HasSuffix(value, "}") {
			return mesos.Resource{}, fmt.Errorf("entry %q: unterminated set", entry)
		}
		var items []string
		for _, it := range strings.Split(value[1:len(value)-1], ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		r.Type = mesos.SET.Enum()
		r.Set = &mesos.Value_Set{Item: items}
	default:
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return mesos.Resource{}, fmt.Errorf("entry %q: bad scalar: %w", entry, err)
		}
		r.Type = mesos.SCALAR.Enum()
		r.Scalar = &mesos.Value_Scalar{Value: f}
	}
	return r, nil
}

func parseRanges(value string) ([]mesos.Value_Range, error) {
	if !strings.HasSuffix(value, "]") {
		return nil, fmt.Errorf("unterminated ranges %q", value)
	}
	var out []mesos.Value_Range
	for _, part := range strings.Split(value[1:len(value)-1], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, ok := strings.Cut(part, "-")
		if !ok {
			return nil, fmt.Errorf("range %q: expected begin-end", part)
		}
		b, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("range %q: %w", part, err)
		}
		e, err := strconv.ParseUint(strings.TrimSpace(hi), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("range %q: %w", part, err)
		}
		if b > e {
			return nil, fmt.Errorf("range %q: begin after end", part)
		}
		out = append(out, mesos.Value_Range{Begin: b, End: e})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty ranges %q", value)
	}
	return out, nil
}
