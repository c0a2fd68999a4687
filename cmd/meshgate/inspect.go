package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/meshgate/meshgate/internal/cli"
)

// runInspect prints what the xDS server knows, from its admin server:
// connected proxies and gateway versions, or one gateway's configuration.
func runInspect(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	admin := fs.String("admin", cli.EnvString("MESHGATE_ADMIN_LISTEN", "127.0.0.1:7072"),
		"the server's admin address, host:port or a URL (env MESHGATE_ADMIN_LISTEN)")
	res := fs.String("resource", "", "a virtual gateway, mesh/M/virtualGateway/G or its ARN: print its configuration")
	format := fs.String("format", "ir", "with --resource: ir (meshgate's intermediate representation) or envoy (the Envoy resources)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: meshgate inspect [--admin ADDR] [--resource R] [--format ir|envoy]\n\n"+
			"Without --resource: connected proxies (node id, cluster, versions sent, ACKed, last NACK) and each\n"+
			"gateway's current versions and errors. With it: that gateway's configuration.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	base := *admin
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u := strings.TrimSuffix(base, "/") + "/debug/xds"
	if *res != "" {
		u += "/config?" + url.Values{"resource": {*res}, "format": {*format}}.Encode()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("--admin %q: %w", *admin, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("is `meshgate server` running with --admin-listen %s? %w", *admin, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	_, err = out.Write(body)
	return err
}
