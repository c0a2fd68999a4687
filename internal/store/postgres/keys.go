package postgres

import (
	"errors"
	"fmt"
	"slices"

	"github.com/meshgate/meshgate/internal/store"
)

// checkRecord rejects a record that could be stored but never found again
// the way store.Key documents (a mesh whose Mesh differs from its Name, a
// route without its router), or whose tags could not be told apart from
// another resource's (no UID). Such a record is a bug in the caller, so the
// error wraps no store sentinel.
func checkRecord(r store.Record) error {
	if err := checkKey(r.Key); err != nil {
		return err
	}
	if r.UID == "" {
		return fmt.Errorf("store/postgres: %s: empty UID", keyString(r.Key))
	}
	return nil
}

func checkKey(k store.Key) error {
	var problem error
	switch {
	case !slices.Contains(store.Kinds, k.Kind):
		problem = errors.New("unknown kind")
	case k.Name == "":
		problem = errors.New("empty name")
	case k.Mesh == "":
		problem = errors.New("empty mesh")
	case k.Kind == store.KindMesh && k.Mesh != k.Name:
		problem = errors.New("a mesh's Mesh must equal its Name")
	case (k.Kind == store.KindRoute || k.Kind == store.KindGatewayRoute) && k.Parent == "":
		problem = errors.New("empty parent")
	case k.Kind != store.KindRoute && k.Kind != store.KindGatewayRoute && k.Parent != "":
		problem = errors.New("only routes and gateway routes have a parent")
	}
	if problem != nil {
		return fmt.Errorf("store/postgres: invalid key %s: %w", keyString(k), problem)
	}
	return nil
}

func keyString(k store.Key) string {
	if k.Parent == "" {
		return fmt.Sprintf("%s %q/%q", k.Kind, k.Mesh, k.Name)
	}
	return fmt.Sprintf("%s %q/%q/%q", k.Kind, k.Mesh, k.Parent, k.Name)
}
