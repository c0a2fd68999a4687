package main

import "github.com/meshgate/meshgate/internal/gateway/run"

func runGateway(args []string) error { return run.Command(args, version) }
