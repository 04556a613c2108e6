package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fob-project/fob/sandbox"
	"github.com/fob-project/fob/state"
)

// registration is what a client asks for when it registers or updates a
// function: from query parameters, or the same keys in a JSON body that
// also carries the code.
type registration struct {
	code      []byte
	lang      string
	name      string
	limits    state.Limits
	instances int
	wait      bool
}

// limitRange is one bounded registration key.
type limitRange struct {
	key      string
	min, max float64
	unit     string
	integer  bool
}

// The ranges users may ask for. They bound what one instance can take from
// an agent and how long a caller can be kept waiting.
var (
	memoryRange      = limitRange{"memory", 32, 8192, "MB", true}
	cpusRange        = limitRange{"cpus", 0.01, 8, "cpus", false}
	timeoutRange     = limitRange{"timeout", 0.001, 900, "seconds", false}
	concurrencyRange = limitRange{"concurrency", 1, 64, "calls", true}
	instancesRange   = limitRange{"instances", 1, 32, "instances", true}
)

func (lr limitRange) parse(raw string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%s must be a number between %g and %g %s, got %q", lr.key, lr.min, lr.max, lr.unit, raw)
	}
	return lr.check(v)
}

func (lr limitRange) check(v float64) (float64, error) {
	if v < lr.min || v > lr.max || (lr.integer && v != math.Trunc(v)) {
		kind := "a number"
		if lr.integer {
			kind = "a whole number"
		}
		return 0, fmt.Errorf("%s must be %s between %g and %g %s, got %g", lr.key, kind, lr.min, lr.max, lr.unit, v)
	}
	return v, nil
}

// jsonRegistration is the JSON form of a registration body.
type jsonRegistration struct {
	Code        *string  `json:"code"`
	Lang        string   `json:"lang"`
	Name        string   `json:"name"`
	Memory      *float64 `json:"memory"`
	CPUs        *float64 `json:"cpus"`
	Timeout     *float64 `json:"timeout"`
	Concurrency *float64 `json:"concurrency"`
	Instances   *float64 `json:"instances"`
}

// parseRegistration reads a registration from the request's query and
// body. defaults fill in what the request leaves out.
func parseRegistration(r *http.Request, body []byte, defaults state.Limits, defaultInstances int) (registration, error) {
	reg := registration{limits: defaults, instances: defaultInstances}
	q := r.URL.Query()
	reg.lang, reg.name = q.Get("lang"), q.Get("name")
	reg.wait = q.Get("wait") == "true"
	if err := reg.applyQuery(q); err != nil {
		return reg, err
	}
	reg.code = body
	if isJSON(r.Header.Get("Content-Type")) && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		if err := reg.applyJSON(body); err != nil {
			return reg, err
		}
	}
	if reg.lang == "" {
		reg.lang = defaultLanguage
	}
	if _, ok := sandbox.Lookup(reg.lang); !ok {
		return reg, fmt.Errorf("unknown language %q (known: %s)", reg.lang, strings.Join(sandbox.Names(), ", "))
	}
	if len(bytes.TrimSpace(reg.code)) == 0 {
		return reg, fmt.Errorf("empty body: send the function's code as the request body")
	}
	if reg.name != "" && !validFunctionName(reg.name) {
		return reg, fmt.Errorf("name %q must be 1-64 letters, digits, '-', '_' or '.', and not shaped like an id", reg.name)
	}
	return reg, nil
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

func (reg *registration) applyQuery(q url.Values) error {
	set := func(lr limitRange, apply func(float64)) error {
		raw, ok := q[lr.key]
		if !ok {
			return nil
		}
		v, err := lr.parse(raw[0])
		if err != nil {
			return err
		}
		apply(v)
		return nil
	}
	return reg.applyAll(set)
}

func (reg *registration) applyJSON(body []byte) error {
	var jr jsonRegistration
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&jr); err != nil {
		return fmt.Errorf("registration body: %v (keys: code, lang, name, memory, cpus, timeout, concurrency, instances)", err)
	}
	if jr.Code == nil {
		return fmt.Errorf("registration body has no \"code\"")
	}
	reg.code = []byte(*jr.Code)
	if jr.Lang != "" {
		reg.lang = jr.Lang
	}
	if jr.Name != "" {
		reg.name = jr.Name
	}
	values := map[string]*float64{
		"memory": jr.Memory, "cpus": jr.CPUs, "timeout": jr.Timeout, "concurrency": jr.Concurrency, "instances": jr.Instances,
	}
	set := func(lr limitRange, apply func(float64)) error {
		p := values[lr.key]
		if p == nil {
			return nil
		}
		v, err := lr.check(*p)
		if err != nil {
			return err
		}
		apply(v)
		return nil
	}
	return reg.applyAll(set)
}

// applyAll runs set for every bounded key with how to apply its value.
func (reg *registration) applyAll(set func(limitRange, func(float64)) error) error {
	steps := []struct {
		lr    limitRange
		apply func(float64)
	}{
		{memoryRange, func(v float64) { reg.limits.MemoryMB = int(v) }},
		{cpusRange, func(v float64) { reg.limits.CPUs = v }},
		{timeoutRange, func(v float64) { reg.limits.Timeout = time.Duration(v * float64(time.Second)) }},
		{concurrencyRange, func(v float64) { reg.limits.Concurrency = int(v) }},
		{instancesRange, func(v float64) { reg.instances = int(v) }},
	}
	for _, s := range steps {
		if err := set(s.lr, s.apply); err != nil {
			return err
		}
	}
	return nil
}
