package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/meshgate/meshgate/internal/cli"
	"github.com/meshgate/meshgate/internal/xds"
)

// runEnvoyBootstrap prints a bootstrap for upstream Envoy. Its flags
// default to the environment variables the App Mesh Envoy image reads, so
// a task definition's environment carries over.
func runEnvoyBootstrap(args []string, out io.Writer) error {
	return envoyBootstrap(args, out, os.Stderr)
}

// Modes of the files envoy-bootstrap writes: a bootstrap that carries a
// bearer token is for Envoy's user alone.
const (
	bootstrapMode       os.FileMode = 0o644
	bootstrapSecretMode os.FileMode = 0o600
)

func envoyBootstrap(args []string, out, notes io.Writer) error {
	var o xds.BootstrapOptions
	fs := flag.NewFlagSet("envoy-bootstrap", flag.ContinueOnError)
	fs.SetOutput(notes)
	fs.StringVar(&o.Resource, "resource", os.Getenv("APPMESH_RESOURCE_ARN"),
		"the virtual gateway Envoy runs as (node.id): mesh/MESH/virtualGateway/NAME or its full ARN (env APPMESH_RESOURCE_ARN)")
	fs.StringVar(&o.Cluster, "cluster", os.Getenv("APPMESH_RESOURCE_CLUSTER"),
		"node.cluster, the name in Envoy's stats (default: --resource) (env APPMESH_RESOURCE_CLUSTER)")
	fs.StringVar(&o.XDS, "xds", cli.EnvString("APPMESH_XDS_ENDPOINT", "127.0.0.1:7071"),
		"the meshgate xDS server: host:port, or unix:///path/to/xds.sock (env APPMESH_XDS_ENDPOINT)")
	adminPort, err := envInt("ENVOY_ADMIN_ACCESS_PORT", 9901)
	if err != nil {
		return err
	}
	port := fs.Uint("admin-port", uint(adminPort), "Envoy's admin port, on 127.0.0.1 (env ENVOY_ADMIN_ACCESS_PORT)")
	fs.BoolVar(&o.TLS, "xds-tls", false, "use TLS to a host:port server, whose certificate must chain to --xds-ca and name the host dialed")
	fs.StringVar(&o.CAFile, "xds-ca", xds.DefaultCAFile, "CA bundle Envoy trusts for --xds-tls, as a path inside Envoy's file system")
	fs.StringVar(&o.SDSSocket, "sds-socket", os.Getenv("APPMESH_SDS_SOCKET_PATH"),
		"unix socket of a local SDS server (SPIRE agent, say): adds the cluster static_cluster_sds_unix_socket (env APPMESH_SDS_SOCKET_PATH)")
	fs.StringVar(&o.CertFile, "xds-cert", cli.EnvString("MESHGATE_XDS_CERT", ""),
		"PEM client certificate chain Envoy presents to the server (its --xds-auth mtls), as a path inside Envoy's file system; "+
			"needs --xds-tls and --xds-key (env MESHGATE_XDS_CERT)")
	fs.StringVar(&o.KeyFile, "xds-key", cli.EnvString("MESHGATE_XDS_KEY", ""),
		"PEM private key of --xds-cert, as a path inside Envoy's file system (env MESHGATE_XDS_KEY)")
	fs.StringVar(&o.CertSDSFile, "xds-cert-sds", cli.EnvString("MESHGATE_XDS_CERT_SDS", ""),
		"also write, at this path (Envoy's file system), a file-based SDS secret naming --xds-cert and --xds-key, and have the "+
			"bootstrap read them through it: Envoy then uses a certificate rotated by a file move without a restart (env MESHGATE_XDS_CERT_SDS)")
	tokenFile := fs.String("xds-token-file", cli.EnvString("MESHGATE_XDS_TOKEN_FILE", ""),
		"file holding a bearer token for the server (its --xds-auth token), read now and written into the bootstrap; "+
			"needs --xds-tls or a loopback server (env MESHGATE_XDS_TOKEN_FILE)")
	output := fs.String("output", "", "write the bootstrap to this file instead of standard output: mode 0600 when it holds a token, else 0644")
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
	if *tokenFile != "" {
		if o.Token, err = readTokenFile(*tokenFile); err != nil {
			return err
		}
	}
	b, err := xds.BootstrapJSON(o)
	if err != nil {
		return err
	}
	if o.CertSDSFile != "" {
		sds, err := xds.XDSClientCertSDS(o)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(o.CertSDSFile, sds, bootstrapMode); err != nil {
			return fmt.Errorf("--xds-cert-sds: %w", err)
		}
		fmt.Fprintf(notes, "envoy-bootstrap: wrote the SDS secret of the xDS client certificate to %s; Envoy reads it there\n", o.CertSDSFile)
	}
	if *output != "" {
		mode := bootstrapMode
		if o.Token != "" {
			mode = bootstrapSecretMode
		}
		if err := writeFileAtomic(*output, b, mode); err != nil {
			return fmt.Errorf("--output: %w", err)
		}
		if o.Token != "" {
			fmt.Fprintf(notes, "envoy-bootstrap: %s holds the xDS bearer token in clear and has mode 0600: Envoy must run as its owner\n", *output)
		}
		return nil
	}
	if o.Token != "" {
		fmt.Fprintln(notes, "envoy-bootstrap: the bootstrap holds the xDS bearer token in clear: keep the file readable by Envoy only "+
			"(chmod 600), or write it with --output, which does")
	}
	_, err = out.Write(b)
	return err
}

// readTokenFile reads a bearer token the way `meshgate gateway` does: one
// token on one line. Errors never quote the file.
func readTokenFile(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--xds-token-file: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" || strings.ContainsAny(t, " \t\r\n") {
		return "", fmt.Errorf("--xds-token-file %s: want one token on one line", file)
	}
	return t, nil
}

// writeFileAtomic writes data to a new file next to path and moves it
// there: a reader (Envoy watches for moves) never sees a partial file, and
// the file never exists with wider permissions than mode.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, there is nothing to remove
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
