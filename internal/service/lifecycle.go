package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
)

// checkFunc runs a resource's stateful rules inside the write transaction
// and returns the resources its spec refers to.
type checkFunc func(ctx context.Context, tx store.Tx) ([]store.Key, error)

// write is what Create and Update have in common.
type write struct {
	op        string
	key       store.Key
	meshOwner *string
	token     *string
	spec      any // the typed spec, stored as its canonical JSON
	tags      []appmesh.TagRef
	check     checkFunc
}

// canonical applies the spec's stateless rules and returns its stored and
// echoed form: the typed value encoded again, so members are in one order
// and nothing is added.
func canonical(spec any) ([]byte, error) {
	if c, ok := spec.(interface{ Check() error }); ok {
		if err := c.Check(); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, appmesh.BadRequest("spec cannot be encoded: %v", err)
	}
	return b, nil
}

// inputHash identifies a request for clientToken idempotency.
func inputHash(w write, spec []byte) string {
	b, _ := json.Marshal(struct {
		Op        string
		Key       store.Key
		MeshOwner *string
		Spec      json.RawMessage
		Tags      []appmesh.TagRef
	}{w.op, w.key, w.meshOwner, spec, w.tags})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// replay returns the stored result of an earlier request with the same
// clientToken, a Conflict if that request differed, or ok=false.
func (s *Service) replay(ctx context.Context, tx store.Tx, w write, hash string) (store.Record, bool, error) {
	if w.token == nil {
		return store.Record{}, false, nil
	}
	t, err := tx.Token(ctx, s.tokenScope(ctx, w), *w.token, s.now().Add(-s.cfg.TokenTTL))
	if errors.Is(err, store.ErrNotFound) {
		return store.Record{}, false, nil
	}
	if err != nil {
		return store.Record{}, false, err
	}
	if t.InputHash != hash {
		return store.Record{}, false, appmesh.Conflict("clientToken %s was already used for a %s request with different parameters", *w.token, w.op)
	}
	var r store.Record
	if err := json.Unmarshal(t.Response, &r); err != nil {
		return store.Record{}, false, err
	}
	return r, true, nil
}

func (s *Service) remember(ctx context.Context, tx store.Tx, w write, hash string, r store.Record) error {
	if w.token == nil {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.PutToken(ctx, store.Token{Scope: s.tokenScope(ctx, w), Token: *w.token, InputHash: hash, Response: b, CreatedAt: s.now()})
}

// tokenScope keeps each account's clientTokens apart: another account's
// token is neither replayed to it nor a conflict for it. The server's own
// account keeps the bare operation name it has always used.
func (s *Service) tokenScope(ctx context.Context, w write) string {
	if c := s.caller(ctx); c != s.cfg.AccountID {
		return w.op + "@" + c
	}
	return w.op
}

// create stores a new resource: parent present, quota respected, stateful
// rules passed, name free, all in one transaction.
func (s *Service) create(ctx context.Context, w write) (store.Record, error) {
	if err := checkName(w.key); err != nil {
		return store.Record{}, err
	}
	if err := checkToken(w.token); err != nil {
		return store.Record{}, err
	}
	spec, err := canonical(w.spec)
	if err != nil {
		return store.Record{}, err
	}
	hash := inputHash(w, spec)
	var out store.Record
	err = s.store.Write(ctx, func(tx store.Tx) error {
		if r, ok, err := s.replay(ctx, tx, w, hash); ok || err != nil {
			out = r
			return err
		}
		caller := s.caller(ctx)
		meshOwner := caller
		if w.key.Kind != store.KindMesh {
			mesh, parent, err := s.parents(ctx, tx, w.key, w.meshOwner)
			if err != nil {
				return err
			}
			if err := s.mayCreate(ctx, w.key, mesh, parent); err != nil {
				return err
			}
			meshOwner = mesh.MeshOwner
		}
		// A taken name is a Conflict even when the quota is reached too.
		if _, err := tx.Get(ctx, w.key); err == nil {
			return appmesh.Conflict("%s already exists", describeKey(w.key))
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := s.checkQuota(ctx, tx, w.key); err != nil {
			return err
		}
		var refs []store.Key
		if w.check != nil {
			if refs, err = w.check(ctx, tx); err != nil {
				return err
			}
		}
		now := s.now()
		r := store.Record{
			Key: w.key, UID: uuid.NewString(), Version: 1,
			CreatedAt: now, LastUpdatedAt: now,
			MeshOwner: meshOwner, ResourceOwner: caller,
			Spec: spec, Refs: refs,
		}
		if err := tx.Create(ctx, r, mergeTags(nil, w.tags)); errors.Is(err, store.ErrExists) {
			return appmesh.Conflict("%s already exists", describeKey(w.key))
		} else if err != nil {
			return err
		}
		out = r
		return s.remember(ctx, tx, w, hash, r)
	})
	return out, s.storeError(ctx, w.op, err)
}

// update replaces a resource's spec and bumps its version.
func (s *Service) update(ctx context.Context, w write) (store.Record, error) {
	if err := checkToken(w.token); err != nil {
		return store.Record{}, err
	}
	spec, err := canonical(w.spec)
	if err != nil {
		return store.Record{}, err
	}
	hash := inputHash(w, spec)
	var out store.Record
	err = s.store.Write(ctx, func(tx store.Tx) error {
		if r, ok, err := s.replay(ctx, tx, w, hash); ok || err != nil {
			out = r
			return err
		}
		cur, err := s.get(ctx, tx, w.key)
		if err != nil {
			return err
		}
		if err := s.visible(ctx, cur.Mesh, w.meshOwner, cur.MeshOwner); err != nil {
			return err
		}
		if err := s.mayUpdate(ctx, cur); err != nil {
			return err
		}
		refs := cur.Refs
		if w.check != nil {
			if refs, err = w.check(ctx, tx); err != nil {
				return err
			}
		}
		next := cur
		next.Version = cur.Version + 1
		next.LastUpdatedAt = s.now()
		next.Spec, next.Refs = spec, refs
		if err := tx.Update(ctx, next, cur.Version); err != nil {
			return err
		}
		// What depends on this resource must still hold with its new spec;
		// the checks see the update, and a refusal rolls it back.
		if err := s.recheckDependants(ctx, tx, w.key); err != nil {
			return err
		}
		out = next
		return s.remember(ctx, tx, w, hash, next)
	})
	return out, s.storeError(ctx, w.op, err)
}

// remove deletes a resource once its delete guard allows it and returns it
// as it was, marked for the DELETED response: children at version+1, a mesh
// at its version (App Mesh's observed behaviour, reference §1.4).
func (s *Service) remove(ctx context.Context, op string, key store.Key, meshOwner *string) (store.Record, error) {
	var out store.Record
	err := s.store.Write(ctx, func(tx store.Tx) error {
		cur, err := s.get(ctx, tx, key)
		if err != nil {
			return err
		}
		if err := s.visible(ctx, cur.Mesh, meshOwner, cur.MeshOwner); err != nil {
			return err
		}
		if err := s.mayDelete(ctx, cur); err != nil {
			return err
		}
		if err := s.deleteGuard(ctx, tx, key); err != nil {
			return err
		}
		if err := tx.Delete(ctx, key, cur.Version); err != nil {
			return err
		}
		out = cur
		if key.Kind != store.KindMesh {
			out.Version++
		}
		out.LastUpdatedAt = s.now()
		return nil
	})
	return out, s.storeError(ctx, op, err)
}

// describe reads one resource.
func (s *Service) describe(ctx context.Context, op string, key store.Key, meshOwner *string) (store.Record, error) {
	var out store.Record
	err := s.store.Read(ctx, func(tx store.Tx) (err error) {
		if out, err = s.get(ctx, tx, key); err != nil {
			return err
		}
		return s.visible(ctx, out.Mesh, meshOwner, out.MeshOwner)
	})
	return out, s.storeError(ctx, op, err)
}

// list reads one page of the children of kind under scope.
func (s *Service) list(ctx context.Context, op string, scope store.Key, kind store.Kind, meshOwner, nextToken *string, limit *int64) ([]store.Record, *string, error) {
	n, err := pageLimit(limit, 100)
	if err != nil {
		return nil, nil, err
	}
	listID := string(kind) + "/" + store.ResourcePath(scope)
	if kind == store.KindMesh {
		listID = "meshes"
	}
	after, err := decodePageToken(listID, nextToken)
	if err != nil {
		return nil, nil, err
	}
	var recs []store.Record
	err = s.store.Read(ctx, func(tx store.Tx) error {
		if kind == store.KindMesh {
			recs, err = s.visibleMeshes(ctx, tx, after, n+1)
			return err
		}
		sc, err := s.get(ctx, tx, scope)
		if err != nil {
			return err
		}
		if err := s.visible(ctx, sc.Mesh, meshOwner, sc.MeshOwner); err != nil {
			return err
		}
		parent := ""
		if store.ParentKind(kind) != "" {
			parent = scope.Name
		}
		recs, err = tx.List(ctx, kind, scope.Mesh, parent, after, n+1)
		return err
	})
	if err != nil {
		return nil, nil, s.storeError(ctx, op, err)
	}
	var next *string
	if len(recs) > n {
		recs = recs[:n]
		next = encodePageToken(listID, recs[n-1].Name)
	}
	return recs, next, nil
}

var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,36}$`)

// checkToken holds clientToken to its documented form: up to 36 letters,
// digits, hyphens and underscores (the SDKs send a UUID).
func checkToken(tok *string) error {
	if tok != nil && !tokenPattern.MatchString(*tok) {
		return appmesh.BadRequest("clientToken must be 1 to 36 letters, digits, hyphens and underscores")
	}
	return nil
}

// checkName refuses "/" in names: an ARN separates its parts with "/", so
// such a name would give an ARN that names another resource, or none.
func checkName(k store.Key) error {
	for _, n := range []struct{ field, value string }{
		{"meshName", k.Mesh}, {string(store.ParentKind(k.Kind)) + "Name", k.Parent}, {string(k.Kind) + "Name", k.Name},
	} {
		if strings.Contains(n.value, "/") {
			return appmesh.BadRequest("%s %q must not contain \"/\"", n.field, n.value)
		}
	}
	return nil
}

// get reads a record, answering NotFound the way App Mesh words it.
func (s *Service) get(ctx context.Context, tx store.Tx, key store.Key) (store.Record, error) {
	r, err := tx.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return r, appmesh.NotFound("%s is not present for account %s", describeKey(key), s.caller(ctx))
	}
	return r, err
}

// parents reads the mesh a resource is created in, checks that the caller
// may see it, and reads the virtual router of a route or the virtual
// gateway of a gateway route (nil for other kinds).
func (s *Service) parents(ctx context.Context, tx store.Tx, key store.Key, meshOwner *string) (store.Record, *store.Record, error) {
	mesh, err := s.get(ctx, tx, meshKey(key.Mesh))
	if err != nil {
		return mesh, nil, err
	}
	if err := s.visible(ctx, key.Mesh, meshOwner, mesh.MeshOwner); err != nil {
		return mesh, nil, err
	}
	pk := store.ParentKind(key.Kind)
	if pk == "" {
		return mesh, nil, nil
	}
	parent, err := s.get(ctx, tx, store.Key{Kind: pk, Mesh: key.Mesh, Name: key.Parent})
	if err != nil {
		return mesh, nil, err
	}
	return mesh, &parent, nil
}

// visibleMeshes lists up to limit meshes after the name after that the
// caller owns or that are shared with it, in name order.
func (s *Service) visibleMeshes(ctx context.Context, tx store.Tx, after string, limit int) ([]store.Record, error) {
	caller := s.caller(ctx)
	var out []store.Record
	for len(out) < limit {
		page, err := tx.List(ctx, store.KindMesh, "", "", after, limit)
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			if r.MeshOwner == caller || s.sharedWith(r.Mesh, r.MeshOwner, caller) {
				out = append(out, r)
			}
		}
		if len(page) < limit {
			break
		}
		after = page[len(page)-1].Name
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func meshKey(mesh string) store.Key { return store.Key{Kind: store.KindMesh, Mesh: mesh, Name: mesh} }

// describeKey names a resource in messages: "VirtualGateway with name gw
// under mesh m" (the wording App Mesh used in NotFound messages).
func describeKey(k store.Key) string {
	switch {
	case k.Kind == store.KindMesh:
		return "Mesh with name " + k.Mesh
	case k.Parent != "":
		return kindTitle(k.Kind) + " with name " + k.Name + " under " + kindTitle(store.ParentKind(k.Kind)) + " " + k.Parent + " in mesh " + k.Mesh
	default:
		return kindTitle(k.Kind) + " with name " + k.Name + " under mesh " + k.Mesh
	}
}
