package xds

import (
	"context"

	"github.com/meshgate/meshgate/internal/store"
)

// KickOnWrite wraps a store so that every successful write calls kick
// (Server.Kick): an in-process API write then reaches proxies without
// waiting for the next revision poll.
func KickOnWrite(st store.Store, kick func()) store.Store { return kickingStore{st, kick} }

type kickingStore struct {
	store.Store
	kick func()
}

func (k kickingStore) Write(ctx context.Context, fn func(store.Tx) error) error {
	err := k.Store.Write(ctx, fn)
	if err == nil {
		k.kick()
	}
	return err
}
