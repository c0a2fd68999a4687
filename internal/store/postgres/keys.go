package postgres

import (
	"fmt"

	"github.com/meshgate/meshgate/internal/store"
)

func checkRecord(r store.Record) error {
	if err := store.CheckRecord(r); err != nil {
		return fmt.Errorf("store/postgres: %w", err)
	}
	return nil
}

func keyString(k store.Key) string { return k.String() }
