// Package drivers registers every language driver fob ships. Import it for
// its side effect wherever languages are looked up:
//
//	import _ "github.com/fob-project/fob/sandbox/drivers"
//
// Adding a language means adding its folder under sandbox/ and one import
// line here.
package drivers

import (
	// Each driver registers itself with package sandbox in init.
	_ "github.com/fob-project/fob/sandbox/node"
	_ "github.com/fob-project/fob/sandbox/python"
)
