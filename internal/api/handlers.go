package api

import (
	"context"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/service"
)

// adapt turns a typed service method into a handlerFunc.
func adapt[I any, O any](f func(context.Context, *I) (O, error)) handlerFunc {
	return func(ctx context.Context, in appmesh.Input) (any, error) {
		out, err := f(ctx, any(in).(*I))
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// handlers maps every App Mesh operation to the service method that runs it.
func handlers(s *service.Service) map[string]handlerFunc {
	return map[string]handlerFunc{
		"CreateGatewayRoute":     adapt(s.CreateGatewayRoute),
		"CreateMesh":             adapt(s.CreateMesh),
		"CreateRoute":            adapt(s.CreateRoute),
		"CreateVirtualGateway":   adapt(s.CreateVirtualGateway),
		"CreateVirtualNode":      adapt(s.CreateVirtualNode),
		"CreateVirtualRouter":    adapt(s.CreateVirtualRouter),
		"CreateVirtualService":   adapt(s.CreateVirtualService),
		"DeleteGatewayRoute":     adapt(s.DeleteGatewayRoute),
		"DeleteMesh":             adapt(s.DeleteMesh),
		"DeleteRoute":            adapt(s.DeleteRoute),
		"DeleteVirtualGateway":   adapt(s.DeleteVirtualGateway),
		"DeleteVirtualNode":      adapt(s.DeleteVirtualNode),
		"DeleteVirtualRouter":    adapt(s.DeleteVirtualRouter),
		"DeleteVirtualService":   adapt(s.DeleteVirtualService),
		"DescribeGatewayRoute":   adapt(s.DescribeGatewayRoute),
		"DescribeMesh":           adapt(s.DescribeMesh),
		"DescribeRoute":          adapt(s.DescribeRoute),
		"DescribeVirtualGateway": adapt(s.DescribeVirtualGateway),
		"DescribeVirtualNode":    adapt(s.DescribeVirtualNode),
		"DescribeVirtualRouter":  adapt(s.DescribeVirtualRouter),
		"DescribeVirtualService": adapt(s.DescribeVirtualService),
		"ListGatewayRoutes":      adapt(s.ListGatewayRoutes),
		"ListMeshes":             adapt(s.ListMeshes),
		"ListRoutes":             adapt(s.ListRoutes),
		"ListTagsForResource":    adapt(s.ListTagsForResource),
		"ListVirtualGateways":    adapt(s.ListVirtualGateways),
		"ListVirtualNodes":       adapt(s.ListVirtualNodes),
		"ListVirtualRouters":     adapt(s.ListVirtualRouters),
		"ListVirtualServices":    adapt(s.ListVirtualServices),
		"TagResource":            adapt(s.TagResource),
		"UntagResource":          adapt(s.UntagResource),
		"UpdateGatewayRoute":     adapt(s.UpdateGatewayRoute),
		"UpdateMesh":             adapt(s.UpdateMesh),
		"UpdateRoute":            adapt(s.UpdateRoute),
		"UpdateVirtualGateway":   adapt(s.UpdateVirtualGateway),
		"UpdateVirtualNode":      adapt(s.UpdateVirtualNode),
		"UpdateVirtualRouter":    adapt(s.UpdateVirtualRouter),
		"UpdateVirtualService":   adapt(s.UpdateVirtualService),
	}
}
