package xds

import (
	"fmt"
	"strings"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/meshgate/meshgate/internal/model"
	"github.com/meshgate/meshgate/internal/store"
)

// identity reads node ids the way App Mesh did: the ARN of the resource the
// proxy represents, full or short, where a full ARN must name this server's
// region. account is the server's own (--account-id), the owner assumed
// for a gateway that does not exist.
type identity struct {
	region, account string
}

// gatewayOf returns the gateway a node id names.
func (id identity) gatewayOf(nodeID string) (model.GatewayKey, error) {
	k, _, err := id.claim(nodeID)
	return k, err
}

// claim returns the gateway a node id (or a certificate's SAN) names and
// the owner account it states: the account of a full ARN, or OWNER in the
// short form MESH@OWNER that the App Mesh Kubernetes controller writes for
// a shared mesh; "" when it states none. Mesh names are unique per server,
// so the key alone finds the gateway; a stated owner must be its owner
// (checkNode). The error says what a valid id looks like, because the
// person reading it is configuring APPMESH_RESOURCE_ARN or a bootstrap by
// hand.
func (id identity) claim(nodeID string) (model.GatewayKey, string, error) {
	if nodeID == "" {
		return model.GatewayKey{}, "", fmt.Errorf("node.id is empty: set it to the virtual gateway's ARN, %s", id.forms())
	}
	k, region, owner, err := store.ParseResource(nodeID)
	if err != nil {
		return model.GatewayKey{}, "", fmt.Errorf("node.id %q is not a virtual gateway ARN: want %s", nodeID, id.forms())
	}
	if k.Kind != store.KindVirtualGateway {
		return model.GatewayKey{}, "", fmt.Errorf("node.id %q names a %s; meshgate serves virtual gateways only (%s)", nodeID, k.Kind, id.forms())
	}
	if region != "" && region != id.region {
		return model.GatewayKey{}, "", fmt.Errorf("node.id %q is in region %s; this server is region %s", nodeID, region, id.region)
	}
	if mesh, o, ok := strings.Cut(k.Mesh, "@"); ok {
		if region != "" && o != owner {
			return model.GatewayKey{}, "", fmt.Errorf("node.id %q names two owners, %s and %s", nodeID, owner, o)
		}
		k.Mesh, owner = mesh, o
	}
	return model.GatewayKey{Mesh: k.Mesh, Name: k.Name}, owner, nil
}

// arn is a gateway's full ARN, in its owner's account.
func (id identity) arn(k model.GatewayKey, owner string) string {
	return "arn:aws:appmesh:" + id.region + ":" + owner + ":" + k.String()
}

func (id identity) forms() string {
	return fmt.Sprintf("arn:aws:appmesh:%s:%s:mesh/MESH/virtualGateway/NAME or mesh/MESH/virtualGateway/NAME", id.region, id.account)
}

// nodeHash keys the snapshot cache by the short ARN. Streams whose node id
// does not parse are refused by the callbacks before any watch is made, so
// the fallback (the raw id) never reaches a snapshot.
type nodeHash struct{ id identity }

func (h nodeHash) ID(node *core.Node) string {
	k, err := h.id.gatewayOf(node.GetId())
	if err != nil {
		return node.GetId()
	}
	return k.String()
}
