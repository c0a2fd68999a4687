package store

import (
	"fmt"
	"strings"
)

// ParentKind is the kind of a key's Parent: routes live under virtual
// routers, gateway routes under virtual gateways.
func ParentKind(k Kind) Kind {
	switch k {
	case KindRoute:
		return KindVirtualRouter
	case KindGatewayRoute:
		return KindVirtualGateway
	}
	return ""
}

// ResourcePath is the resource part of an ARN: mesh/M,
// mesh/M/virtualGateway/G, mesh/M/virtualGateway/G/gatewayRoute/R, ...
func ResourcePath(k Key) string {
	switch {
	case k.Kind == KindMesh:
		return "mesh/" + k.Mesh
	case k.Parent != "":
		return fmt.Sprintf("mesh/%s/%s/%s/%s/%s", k.Mesh, ParentKind(k.Kind), k.Parent, k.Kind, k.Name)
	default:
		return fmt.Sprintf("mesh/%s/%s/%s", k.Mesh, k.Kind, k.Name)
	}
}

// ARN returns the resource's ARN for the given region and owning account.
func ARN(region, account string, k Key) string {
	return fmt.Sprintf("arn:aws:appmesh:%s:%s:%s", region, account, ResourcePath(k))
}

// ParseResource reads an ARN (arn:aws:appmesh:REGION:ACCOUNT:mesh/...) or a
// bare resource path (mesh/M/virtualGateway/G, the short form the App Mesh
// Envoy image accepts in APPMESH_RESOURCE_ARN). region and account are empty
// for the short form.
func ParseResource(s string) (k Key, region, account string, err error) {
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
		k.Kind, k.Name = KindMesh, seg[1]
		return k, region, account, nil
	case 4:
		k.Kind, k.Name = Kind(seg[2]), seg[3]
		switch k.Kind {
		case KindVirtualNode, KindVirtualRouter, KindVirtualService, KindVirtualGateway:
			return k, region, account, nil
		}
	case 6:
		k.Kind, k.Parent, k.Name = Kind(seg[4]), seg[3], seg[5]
		if ParentKind(k.Kind) != "" && ParentKind(k.Kind) == Kind(seg[2]) {
			return k, region, account, nil
		}
	}
	return Key{}, "", "", fmt.Errorf("%q: not a known App Mesh resource path", s)
}
