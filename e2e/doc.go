// Package e2e holds end-to-end tests: they build the real fob binary, start
// `fob local` on free loopback ports and drive it over HTTP as a user would.
package e2e
