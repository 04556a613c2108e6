// Package fobpb holds the protobuf messages fob's scheduler sends its
// executor. The Go code is generated: edit fob.proto and run `make generate`.
package fobpb

//go:generate protoc --gogofaster_out=paths=source_relative:. fob.proto
