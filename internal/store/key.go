package store

import (
	"errors"
	"fmt"
	"slices"
)

func (k Key) String() string {
	if k.Parent == "" {
		return fmt.Sprintf("%s %q/%q", k.Kind, k.Mesh, k.Name)
	}
	return fmt.Sprintf("%s %q/%q/%q", k.Kind, k.Mesh, k.Parent, k.Name)
}

// CheckKey rejects a key that could be stored but never found again the
// way Key documents (a mesh whose Mesh differs from its Name, a route
// without its router). Such a key is a bug in the caller, so the error
// wraps no store sentinel. Back ends call it before writing.
func CheckKey(k Key) error {
	var problem error
	switch {
	case !slices.Contains(Kinds, k.Kind):
		problem = errors.New("unknown kind")
	case k.Name == "":
		problem = errors.New("empty name")
	case k.Mesh == "":
		problem = errors.New("empty mesh")
	case k.Kind == KindMesh && k.Mesh != k.Name:
		problem = errors.New("a mesh's Mesh must equal its Name")
	case (k.Kind == KindRoute || k.Kind == KindGatewayRoute) && k.Parent == "":
		problem = errors.New("empty parent")
	case k.Kind != KindRoute && k.Kind != KindGatewayRoute && k.Parent != "":
		problem = errors.New("only routes and gateway routes have a parent")
	}
	if problem != nil {
		return fmt.Errorf("invalid key %s: %w", k, problem)
	}
	return nil
}

// CheckRecord is CheckKey plus a UID, without which a record's tags could
// not be told apart from another resource's.
func CheckRecord(r Record) error {
	if err := CheckKey(r.Key); err != nil {
		return err
	}
	if r.UID == "" {
		return fmt.Errorf("%s: empty UID", r.Key)
	}
	return nil
}
