package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/meshgate/meshgate/internal/xds"
)

// runEnvoyBootstrap prints a bootstrap for upstream Envoy. Its flags
// default to the environment variables the App Mesh Envoy image reads, so
// a task definition's environment carries over.
func runEnvoyBootstrap(args []string, out io.Writer) error {
	var o xds.BootstrapOptions
	fs := flag.NewFlagSet("envoy-bootstrap", flag.ContinueOnError)
	fs.StringVar(&o.Resource, "resource", os.Getenv("APPMESH_RESOURCE_ARN"),
		"the virtual gateway Envoy runs as (node.id): mesh/MESH/virtualGateway/NAME or its full ARN (env APPMESH_RESOURCE_ARN)")
	fs.StringVar(&o.Cluster, "cluster", os.Getenv("APPMESH_RESOURCE_CLUSTER"),
		"node.cluster, the name in Envoy's stats (default: --resource) (env APPMESH_RESOURCE_CLUSTER)")
	fs.StringVar(&o.XDS, "xds", envString("APPMESH_XDS_ENDPOINT", "127.0.0.1:7071"),
		"the meshgate xDS server: host:port, or unix:///path/to/xds.sock (env APPMESH_XDS_ENDPOINT)")
	adminPort, err := envInt("ENVOY_ADMIN_ACCESS_PORT", 9901)
	if err != nil {
		return err
	}
	port := fs.Uint("admin-port", uint(adminPort), "Envoy's admin port, on 127.0.0.1 (env ENVOY_ADMIN_ACCESS_PORT)")
	fs.BoolVar(&o.TLS, "xds-tls", false, "use TLS to a host:port server (its --xds-tls-cert must chain to --xds-ca)")
	fs.StringVar(&o.CAFile, "xds-ca", xds.DefaultCAFile, "CA bundle Envoy trusts for --xds-tls, as a path inside Envoy's file system")
	fs.StringVar(&o.SDSSocket, "sds-socket", os.Getenv("APPMESH_SDS_SOCKET_PATH"),
		"unix socket of a local SDS server (SPIRE agent, say): adds the cluster static_cluster_sds_unix_socket (env APPMESH_SDS_SOCKET_PATH)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: meshgate envoy-bootstrap --resource mesh/M/virtualGateway/G [flags] > envoy.json\n\n"+
			"Prints an Envoy v3 bootstrap (JSON, which Envoy reads as YAML too) that runs stock Envoy as one\n"+
			"virtual gateway against meshgate's xDS server.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.Resource == "" {
		return errors.New("--resource is required: the virtual gateway's ARN, mesh/MESH/virtualGateway/NAME")
	}
	if *port == 0 || *port > 65535 {
		return fmt.Errorf("--admin-port %d: want 1-65535", *port)
	}
	o.AdminPort = uint32(*port)
	b, err := xds.BootstrapJSON(o)
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}
