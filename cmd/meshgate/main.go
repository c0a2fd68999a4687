// Command meshgate is a self-hosted replacement for AWS App Mesh virtual
// gateways. See `meshgate help`.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

const usage = `meshgate: a self-hosted App Mesh control plane and virtual gateway.

Usage:
  meshgate server [flags]           serve the App Mesh API and the xDS server (see meshgate server -h)
  meshgate up [flags]               the same on embedded defaults: the quick start
  meshgate gateway [flags]          serve one virtual gateway without Envoy, configured over xDS
  meshgate envoy-bootstrap [flags]  print a bootstrap that runs stock Envoy as a virtual gateway
  meshgate inspect [flags]          show the xDS server's proxies, versions and gateway configs
  meshgate version                  print the version
  meshgate help                     this text

Every flag can also be set by the environment variable named in its help;
a flag on the command line wins over the environment.
`

var version = "dev"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "server":
		err = runServer("server", args)
	case "up":
		err = runServer("up", args)
	case "gateway":
		err = runGateway(args)
	case "envoy-bootstrap":
		err = runEnvoyBootstrap(args, os.Stdout)
	case "inspect":
		err = runInspect(args, os.Stdout)
	case "version":
		fmt.Println("meshgate", version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "meshgate: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "meshgate %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
