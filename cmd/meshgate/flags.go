package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/meshgate/meshgate/internal/service"
)

// serverFlags are the settings of `meshgate server` and `meshgate up`.
type serverFlags struct {
	apiListen string
	store     string
	region    string
	accountID string
	quotas    service.Quotas
	logLevel  string
	logFormat string
}

// envString returns the environment variable's value, or def when unset.
func envString(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// quotaFlag collects repeated --quota name=value flags.
type quotaFlag struct{ q *service.Quotas }

func (f quotaFlag) String() string { return "" }
func (f quotaFlag) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if err := f.q.Set(strings.TrimSpace(part)); err != nil {
			return err
		}
	}
	return nil
}

func parseServerFlags(cmd string, args []string) (*serverFlags, error) {
	f := &serverFlags{quotas: service.DefaultQuotas()}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.StringVar(&f.apiListen, "api-listen", envString("MESHGATE_API_LISTEN", "127.0.0.1:7070"),
		"address of the App Mesh API (env MESHGATE_API_LISTEN)")
	fs.StringVar(&f.store, "store", envString("MESHGATE_STORE", "sqlite:meshgate-data/meshgate.db"),
		"where resources are kept: sqlite:PATH (env MESHGATE_STORE)")
	fs.StringVar(&f.region, "region", envString("MESHGATE_REGION", "us-east-1"),
		"region used in ARNs (env MESHGATE_REGION)")
	fs.StringVar(&f.accountID, "account-id", envString("MESHGATE_ACCOUNT_ID", "000000000000"),
		"12-digit account id used in ARNs, meshOwner and resourceOwner (env MESHGATE_ACCOUNT_ID)")
	fs.Var(quotaFlag{&f.quotas}, "quota",
		"change a service quota, name=value, repeatable or comma-separated (env MESHGATE_QUOTAS); names: "+strings.Join(service.QuotaNames(), ", "))
	fs.StringVar(&f.logLevel, "log-level", envString("MESHGATE_LOG_LEVEL", "info"),
		"debug, info, warn or error (env MESHGATE_LOG_LEVEL)")
	fs.StringVar(&f.logFormat, "log-format", envString("MESHGATE_LOG_FORMAT", "text"),
		"text or json (env MESHGATE_LOG_FORMAT)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: meshgate %s [flags]\n\nFlags:\n", cmd)
		fs.PrintDefaults()
	}
	if v := os.Getenv("MESHGATE_QUOTAS"); v != "" {
		if err := (quotaFlag{&f.quotas}).Set(v); err != nil {
			return nil, fmt.Errorf("MESHGATE_QUOTAS: %w", err)
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return f, nil
}

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
