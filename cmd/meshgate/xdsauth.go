package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/meshgate/meshgate/internal/auth"
	"github.com/meshgate/meshgate/internal/cli"
	"github.com/meshgate/meshgate/internal/xds"
)

// xdsAuthFlags are the xDS authentication settings of `meshgate server`
// and `meshgate up` (docs/security.md, "xDS authentication").
type xdsAuthFlags struct {
	mode     string
	clientCA string
	tokens   string
}

// addXDSAuthFlags defines the flags. SigV4 uses the API's --credentials.
func addXDSAuthFlags(fs *flag.FlagSet, a *xdsAuthFlags) {
	fs.StringVar(&a.mode, "xds-auth", cli.EnvString("MESHGATE_XDS_AUTH", ""),
		"how the xDS TCP listener authenticates proxies: none, mtls or token (env MESHGATE_XDS_AUTH; default none, "+
			"or token when --xds-tokens is set, mtls when only --xds-client-ca is); with mtls or token, SigV4-signed streams "+
			"(the App Mesh Envoy image) are accepted against --credentials too; the unix socket is never authenticated")
	fs.StringVar(&a.clientCA, "xds-client-ca", cli.EnvString("MESHGATE_XDS_CLIENT_CA", ""),
		"PEM CA bundle that signs proxies' client certificates, whose SANs name the gateways they may be; needs --xds-tls-cert; "+
			"read again when it changes (env MESHGATE_XDS_CLIENT_CA)")
	fs.StringVar(&a.tokens, "xds-tokens", cli.EnvString("MESHGATE_XDS_TOKENS", ""),
		`JSON file of proxies' bearer tokens: {"tokens":[{"token":"...","resources":["mesh/M/virtualGateway/*"]}]}; `+
			`read again when it changes, closing the streams of a removed token (env MESHGATE_XDS_TOKENS)`)
}

// config checks the flags and builds the xDS server's AuthConfig. keys are
// the API's credentials when it verifies SigV4 (shared, so a reload of the
// file reaches both); otherwise --credentials is read here, once.
func (a *xdsAuthFlags) config(f *serverFlags, keys *auth.Keys, log *slog.Logger) (xds.AuthConfig, error) {
	name := a.mode
	if name == "" {
		switch {
		case a.tokens != "":
			name = "token" // a client certificate, when a CA is also given, counts too
		case a.clientCA != "":
			name = "mtls"
		default:
			name = "none"
		}
	}
	mode, err := xds.ParseAuthMode(name)
	if err != nil {
		return xds.AuthConfig{}, fmt.Errorf("--xds-auth: %w", err)
	}
	if mode == xds.AuthNone {
		if a.clientCA != "" || a.tokens != "" {
			return xds.AuthConfig{}, errors.New("--xds-client-ca and --xds-tokens need --xds-auth mtls or token, not none")
		}
		return xds.AuthConfig{Mode: xds.AuthNone}, nil
	}
	// The client CA and the tokens file are read again when they change
	// (xds.DefaultRecheck), and open streams whose credential a new version
	// revokes are closed; a version that does not load keeps the last good
	// one and is logged.
	cfg := xds.AuthConfig{Mode: mode, ClientCAFile: a.clientCA, Logger: log}
	switch {
	case a.clientCA != "" && f.xdsTLSCert == "":
		return cfg, errors.New("--xds-client-ca needs TLS on the xDS listener: --xds-tls-cert and --xds-tls-key")
	case mode == xds.AuthMTLS && a.clientCA == "":
		return cfg, errors.New("--xds-auth mtls needs --xds-client-ca")
	case mode == xds.AuthToken && a.tokens == "" && f.credentials == "":
		return cfg, errors.New("--xds-auth token needs --xds-tokens or --credentials")
	case f.gateways && f.xdsSocket == "":
		return cfg, fmt.Errorf("--gateways with --xds-auth %s needs --xds-socket: the in-process gateways connect over it", mode)
	}
	if a.tokens != "" {
		if cfg.Tokens, err = xds.WatchTokens(a.tokens, xds.DefaultRecheck, log); err != nil {
			return cfg, err
		}
	}
	if f.credentials != "" {
		if keys == nil {
			if keys, err = auth.LoadKeys(f.credentials); err != nil {
				return cfg, fmt.Errorf("--credentials: %w", err)
			}
		}
		cfg.SigV4 = &auth.Verifier{Region: f.region, AccountID: f.accountID, Keys: keys, Log: log}
	}
	return cfg, nil
}
