package master

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// checkJSONEnums refuses a JSON number wherever the message schema of t
// has an enum. Mesos converts JSON to protobuf with stout's parser, which
// takes enum values by name only ("Not expecting a JSON number for field
// ..."), while the ffjson decoders of mesos-go also take numbers. The
// schema is read from the generated Go types: their protobuf struct tags
// mark enum fields with "enum=", so every enum, however deeply nested, is
// covered without a list to maintain.
//
// The body must already have been decoded by ffjson, so it is valid JSON
// of the right shape; values of an unexpected JSON type are left to that
// decoder.
func checkJSONEnums(body []byte, t reflect.Type) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("decode json: %w", err)
	}
	return walkEnums(v, t)
}

// walkEnums checks the JSON value v against the Go type t.
func walkEnums(v any, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		fields := jsonFields(t)
		for key, fv := range obj {
			// ffjson falls back to case-insensitive key matching, so a
			// differently cased key still sets the field.
			f, ok := fields[strings.ToLower(key)]
			if !ok {
				continue // unknown keys are ignored, as in Mesos
			}
			if f.enum {
				if err := enumValue(fv, f.name); err != nil {
					return err
				}
				continue
			}
			if err := walkEnums(fv, f.typ); err != nil {
				return err
			}
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok || t.Elem().Kind() == reflect.Uint8 {
			return nil
		}
		for _, ev := range arr {
			if err := walkEnums(ev, t.Elem()); err != nil {
				return err
			}
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for _, ev := range obj {
			if err := walkEnums(ev, t.Elem()); err != nil {
				return err
			}
		}
	}
	return nil
}

// enumValue refuses a number, alone or in the array of a repeated enum.
func enumValue(v any, field string) error {
	switch x := v.(type) {
	case float64:
		return fmt.Errorf("not expecting a JSON number for field '%s'", field)
	case []any:
		for _, e := range x {
			if _, ok := e.(float64); ok {
				return fmt.Errorf("not expecting a JSON number for field '%s'", field)
			}
		}
	}
	return nil
}

// jsonField is what the walk needs to know about one message field.
type jsonField struct {
	name string // proto field name, for error messages
	typ  reflect.Type
	enum bool
}

var jsonFieldCache sync.Map // reflect.Type -> map[string]jsonField

// jsonFields maps the lower-cased JSON key of every field of a generated
// message struct to its description.
func jsonFields(t reflect.Type) map[string]jsonField {
	if cached, ok := jsonFieldCache.Load(t); ok {
		return cached.(map[string]jsonField)
	}
	fields := map[string]jsonField{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || key == "" || key == "-" {
			continue
		}
		f := jsonField{name: key, typ: sf.Type}
		for _, part := range strings.Split(sf.Tag.Get("protobuf"), ",") {
			if name, ok := strings.CutPrefix(part, "name="); ok {
				f.name = name
			}
			if strings.HasPrefix(part, "enum=") {
				f.enum = true
			}
		}
		fields[strings.ToLower(key)] = f
	}
	jsonFieldCache.Store(t, fields)
	return fields
}
