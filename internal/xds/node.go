package xds

import (
	"fmt"
	"strings"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/meshgate/meshgate/internal/model"
	"github.com/meshgate/meshgate/internal/service"
	"github.com/meshgate/meshgate/internal/store"
)

// identity reads node ids the way App Mesh did: the ARN of the resource the
// proxy represents, full or short, where a full ARN must name this server's
// region and account.
type identity struct {
	region, account string
}

// gatewayOf returns the gateway a node id names. The error says what a
// valid id looks like, because the person reading it is configuring
// APPMESH_RESOURCE_ARN or a bootstrap by hand.
func (id identity) gatewayOf(nodeID string) (model.GatewayKey, error) {
	if nodeID == "" {
		return model.GatewayKey{}, fmt.Errorf("node.id is empty: set it to the virtual gateway's ARN, %s", id.forms())
	}
	k, region, account, err := service.ParseResource(nodeID)
	if err != nil {
		return model.GatewayKey{}, fmt.Errorf("node.id %q is not a virtual gateway ARN: want %s", nodeID, id.forms())
	}
	if k.Kind != store.KindVirtualGateway {
		return model.GatewayKey{}, fmt.Errorf("node.id %q names a %s; meshgate serves virtual gateways only (%s)", nodeID, k.Kind, id.forms())
	}
	if region != "" && (region != id.region || account != id.account) {
		return model.GatewayKey{}, fmt.Errorf("node.id %q is in region %s, account %s; this server is region %s, account %s",
			nodeID, region, account, id.region, id.account)
	}
	// The App Mesh Kubernetes controller writes a shared mesh as
	// MESH@OWNER in the short form; meshgate has one account, so only its
	// own is accepted.
	if mesh, owner, ok := strings.Cut(k.Mesh, "@"); ok {
		if owner != id.account {
			return model.GatewayKey{}, fmt.Errorf("node.id %q names mesh owner %s; this server's account is %s", nodeID, owner, id.account)
		}
		k.Mesh = mesh
	}
	return model.GatewayKey{Mesh: k.Mesh, Name: k.Name}, nil
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
