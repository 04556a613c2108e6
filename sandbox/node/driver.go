package node

import (
	_ "embed"

	"github.com/fob-project/fob/sandbox"
)

//go:embed worker.js
var shim []byte

// Name is the language name that selects this driver (?lang=node).
const Name = "node"

func init() {
	sandbox.Register(Driver())
}

// Driver describes the Node.js runtime.
func Driver() sandbox.Driver {
	return sandbox.Driver{
		Name:        Name,
		Extension:   ".js",
		Image:       "fob/runtime-node:20",
		ShimName:    "fob_worker.js",
		Shim:        shim,
		Command:     []string{"node", "{shim}", "{code}"},
		WaitCommand: []string{"node", "{shim}"},
	}
}
