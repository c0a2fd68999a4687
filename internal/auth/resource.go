package auth

import (
	"reflect"
	"strings"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
)

// Resource is the ARN an operation is authorized against, as IAM does for
// App Mesh:
//
//   - Create, Describe, Update, Delete: the resource acted on; for Create
//     the ARN the new resource will have;
//   - List of meshes' children: the parent's ARN (the mesh, the virtual
//     router of routes, the virtual gateway of gateway routes);
//   - ListMeshes: "*", since it acts on no resource (IAM lists no resource
//     type for it, so only a statement whose resource is "*" allows it);
//   - TagResource, UntagResource, ListTagsForResource: resourceArn as sent.
//
// The ARN's account is the request's meshOwner when it names one (a mesh
// shared with the caller), else account, the caller's own.
//
// in is the operation's input after its body was decoded and its URI and
// query members bound; a member the request lacks leaves an empty name in
// the ARN, and the operation then fails validation if it is allowed at all.
func Resource(region, account string, op *appmesh.Operation, in appmesh.Input) string {
	if owner := member(in, "MeshOwner"); owner != "" {
		account = owner
	}
	switch op.Name {
	case "ListMeshes":
		return "*"
	case "TagResource", "UntagResource", "ListTagsForResource":
		return member(in, "ResourceArn")
	}
	key := store.Key{Mesh: member(in, "MeshName")}
	switch {
	case op.Payload != "": // Create, Describe, Update, Delete
		key.Kind = store.Kind(op.Payload)
		key.Name = member(in, exported(op.Payload)+"Name")
		key.Parent = parentName(in, key.Kind)
	case strings.HasSuffix(op.Name, "Routes") && strings.Contains(op.URI, "/virtualRouter/"):
		key.Kind, key.Name = store.KindVirtualRouter, member(in, "VirtualRouterName")
	case strings.HasSuffix(op.Name, "Routes") && strings.Contains(op.URI, "/virtualGateway/"):
		key.Kind, key.Name = store.KindVirtualGateway, member(in, "VirtualGatewayName")
	default: // the lists of a mesh's children
		key.Kind, key.Name = store.KindMesh, key.Mesh
	}
	return store.ARN(region, account, key)
}

// parentName is the virtual router of a route or the virtual gateway of a
// gateway route.
func parentName(in appmesh.Input, k store.Kind) string {
	switch k {
	case store.KindRoute:
		return member(in, "VirtualRouterName")
	case store.KindGatewayRoute:
		return member(in, "VirtualGatewayName")
	}
	return ""
}

func exported(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// member reads a *string field of an input, "" when absent or nil. The
// inputs are generated structs, so a field named after the member is
// there for every operation that has the member.
func member(in appmesh.Input, field string) string {
	v := reflect.ValueOf(in)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return ""
	}
	f := v.Elem().FieldByName(field)
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() || f.Elem().Kind() != reflect.String {
		return ""
	}
	return f.Elem().String()
}
