//go:build !linux

package main

import "errors"

func probeNamespaces() error { return errors.New("namespaces are Linux only") }
