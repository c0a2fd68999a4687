// Package store keeps App Mesh resources durably. A Store runs each write as
// one transaction: the service layer reads, checks references and versions,
// and writes inside the same Tx, so a failed request changes nothing and two
// writers can never interleave. Back ends (SQLite now, PostgreSQL later) all
// pass the contract suite in package storetest.
package store

import (
	"context"
	"errors"
	"time"
)

// Kind names a resource type. The values are the App Mesh type names as they
// appear in ARNs (mesh/M/virtualGateway/G).
type Kind string

const (
	KindMesh           Kind = "mesh"
	KindVirtualNode    Kind = "virtualNode"
	KindVirtualRouter  Kind = "virtualRouter"
	KindRoute          Kind = "route"
	KindVirtualService Kind = "virtualService"
	KindVirtualGateway Kind = "virtualGateway"
	KindGatewayRoute   Kind = "gatewayRoute"
)

// Kinds lists every kind, parents before children.
var Kinds = []Kind{KindMesh, KindVirtualNode, KindVirtualRouter, KindRoute, KindVirtualService, KindVirtualGateway, KindGatewayRoute}

// Key names one resource. Mesh is the mesh name (for a mesh, its own name);
// Parent is the virtual router of a route or the virtual gateway of a
// gateway route and empty otherwise; Name is the resource's own name (for a
// mesh, equal to Mesh).
type Key struct {
	Kind   Kind
	Mesh   string
	Parent string
	Name   string
}

// Record is one stored resource.
type Record struct {
	Key
	UID           string
	Version       int64
	CreatedAt     time.Time // stored with millisecond precision
	LastUpdatedAt time.Time
	MeshOwner     string
	ResourceOwner string
	// Spec is the spec exactly as it is echoed to clients (canonical JSON).
	Spec []byte
	// Refs are the resources this record's spec names (a gateway route's
	// target virtual service, a route's weighted-target nodes, a virtual
	// service's provider). Delete guards ask for them with Referrers.
	Refs []Key
}

// Tag is one resource tag.
type Tag struct {
	Key   string
	Value string
}

// Token remembers the outcome of a create or update that carried a
// clientToken, so a retry with the same token gets the same answer.
type Token struct {
	Scope     string // the operation and the account, e.g. "CreateMesh"
	Token     string
	InputHash string // hash of the canonical input
	Response  []byte // the response body that was sent
	CreatedAt time.Time
}

var (
	// ErrNotFound: no record (or token) under that key.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: Create found a record under the same key.
	ErrExists = errors.New("store: already exists")
	// ErrVersion: Update or Delete found another version than the caller read.
	ErrVersion = errors.New("store: version conflict")
	// ErrUnavailable wraps failures of the back end itself (disk, network).
	ErrUnavailable = errors.New("store: unavailable")
)

// Tx is one transaction. Every method may fail with an error wrapping
// ErrUnavailable when the back end fails.
type Tx interface {
	// Get returns the record under k, or ErrNotFound.
	Get(ctx context.Context, k Key) (Record, error)
	// List returns up to limit records of kind under (mesh, parent), ordered
	// by name, whose name sorts after `after` ("" = from the start). For
	// meshes, mesh and parent are ignored.
	List(ctx context.Context, kind Kind, mesh, parent, after string, limit int) ([]Record, error)
	// Count counts records of kind under (mesh, parent); for KindMesh, all meshes.
	Count(ctx context.Context, kind Kind, mesh, parent string) (int, error)
	// Referrers lists the keys of records whose Refs include k, ordered.
	Referrers(ctx context.Context, k Key) ([]Key, error)
	// Create inserts r with its tags; ErrExists if the key is taken.
	Create(ctx context.Context, r Record, tags []Tag) error
	// Update replaces the record under r.Key if its stored version is
	// prevVersion (else ErrVersion; ErrNotFound if absent). UID, CreatedAt
	// and owners are kept from the stored record.
	Update(ctx context.Context, r Record, prevVersion int64) error
	// Delete removes the record under k, its refs and its tags, if its stored
	// version is prevVersion (else ErrVersion; ErrNotFound if absent).
	Delete(ctx context.Context, k Key, prevVersion int64) error
	// Tags returns the tags of the resource with the given uid, ordered by key.
	Tags(ctx context.Context, uid string) ([]Tag, error)
	// SetTags replaces all tags of the resource with the given uid.
	SetTags(ctx context.Context, uid string, tags []Tag) error
	// Token returns the token stored under (scope, token) and created after
	// notBefore, or ErrNotFound.
	Token(ctx context.Context, scope, token string, notBefore time.Time) (Token, error)
	// PutToken stores t, replacing any older entry under (scope, token).
	PutToken(ctx context.Context, t Token) error
}

// Store is a transactional resource store.
type Store interface {
	// Read runs fn in a read-only transaction with a consistent view.
	Read(ctx context.Context, fn func(Tx) error) error
	// Write runs fn in one serializable read-write transaction. If fn returns
	// an error, nothing it wrote is kept and that error is returned as is.
	// When Write returns nil, everything fn wrote is durable.
	Write(ctx context.Context, fn func(Tx) error) error
	// Revision is a number that grows with every committed write that
	// changed something; watchers compare it to know whether to reload.
	Revision(ctx context.Context) (int64, error)
	Close() error
}
