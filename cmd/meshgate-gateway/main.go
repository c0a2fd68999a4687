// Command meshgate-gateway is the Go gateway alone: `meshgate gateway`
// (same flags, same environment variables) without the control plane
// linked in. A Go process touches pages of its whole binary as its
// packages initialize, so most of a gateway's memory is the binary it
// runs: this one is half the size and its process about 10 MiB smaller
// (docs/performance.md).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/meshgate/meshgate/internal/gateway/run"
)

var version = "dev"

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "gateway" {
		args = args[1:] // `meshgate-gateway gateway ...` runs as `meshgate gateway ...` would
	}
	if len(args) == 1 && args[0] == "version" {
		fmt.Println("meshgate-gateway", version)
		return
	}
	err := run.Command(args, version)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "meshgate-gateway: %v\n", err)
		os.Exit(1)
	}
}
