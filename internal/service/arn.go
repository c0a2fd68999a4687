package service

import (
	"fmt"
	"strings"

	"github.com/meshgate/meshgate/internal/store"
)

// kindTitle is how App Mesh names a kind in messages ("VirtualGateway").
func kindTitle(k store.Kind) string { return strings.ToUpper(string(k[:1])) + string(k[1:]) }

// parentKind is the kind of a key's Parent: routes live under virtual
// routers, gateway routes under virtual gateways.
func parentKind(k store.Kind) store.Kind {
	switch k {
	case store.KindRoute:
		return store.KindVirtualRouter
	case store.KindGatewayRoute:
		return store.KindVirtualGateway
	}
	return ""
}

// ResourcePath is the resource part of an ARN: mesh/M,
// mesh/M/virtualGateway/G, mesh/M/virtualGateway/G/gatewayRoute/R, ...
func ResourcePath(k store.Key) string {
	switch {
	case k.Kind == store.KindMesh:
		return "mesh/" + k.Mesh
	case k.Parent != "":
		return fmt.Sprintf("mesh/%s/%s/%s/%s/%s", k.Mesh, parentKind(k.Kind), k.Parent, k.Kind, k.Name)
	default:
		return fmt.Sprintf("mesh/%s/%s/%s", k.Mesh, k.Kind, k.Name)
	}
}

// ARN returns the resource's ARN for the given region and owning account.
func ARN(region, account string, k store.Key) string {
	return fmt.Sprintf("arn:aws:appmesh:%s:%s:%s", region, account, ResourcePath(k))
}

// ParseResource reads an ARN (arn:aws:appmesh:REGION:ACCOUNT:mesh/...) or a
// bare resource path (mesh/M/virtualGateway/G, the short form the App Mesh
// Envoy image accepts in APPMESH_RESOURCE_ARN). region and account are empty
// for the short form.
func ParseResource(s string) (k store.Key, region, account string, err error) {
	path := s
	if strings.HasPrefix(s, "arn:") {
		parts := strings.SplitN(s, ":", 6)
		if len(parts) != 6 || parts[1] == "" || parts[2] != "appmesh" || parts[3] == "" || parts[4] == "" {
			return k, "", "", fmt.Errorf("%q is not an App Mesh ARN", s)
		}
		region, account, path = parts[3], parts[4], parts[5]
	}
	seg := strings.Split(path, "/")
	for _, p := range seg {
		if p == "" {
			return k, "", "", fmt.Errorf("%q: empty name in resource path", s)
		}
	}
	if seg[0] != "mesh" || len(seg) < 2 {
		return k, "", "", fmt.Errorf("%q: resource path must start with mesh/NAME", s)
	}
	k.Mesh = seg[1]
	switch len(seg) {
	case 2:
		k.Kind, k.Name = store.KindMesh, seg[1]
		return k, region, account, nil
	case 4:
		k.Kind, k.Name = store.Kind(seg[2]), seg[3]
		switch k.Kind {
		case store.KindVirtualNode, store.KindVirtualRouter, store.KindVirtualService, store.KindVirtualGateway:
			return k, region, account, nil
		}
	case 6:
		k.Kind, k.Parent, k.Name = store.Kind(seg[4]), seg[3], seg[5]
		if parentKind(k.Kind) != "" && parentKind(k.Kind) == store.Kind(seg[2]) {
			return k, region, account, nil
		}
	}
	return store.Key{}, "", "", fmt.Errorf("%q: not a known App Mesh resource path", s)
}
