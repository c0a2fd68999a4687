package postgres

import (
	"testing"

	"github.com/meshgate/meshgate/internal/store"
	"github.com/meshgate/meshgate/internal/store/storetest"
)

// TestContract runs the suite every back end passes, each case on a
// database of its own.
func TestContract(t *testing.T) {
	adminDSN(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
}
