package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

func tags(kv ...string) []types.TagRef {
	var out []types.TagRef
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.TagRef{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// allTags reads every tag of arn page by page with the given limit and
// returns them as "k=v" strings and the number of pages.
func allTags(t *testing.T, c *appmesh.Client, arn string, limit int32) ([]string, int) {
	t.Helper()
	var out []string
	var next *string
	pages := 0
	for {
		in := &appmesh.ListTagsForResourceInput{ResourceArn: aws.String(arn), NextToken: next}
		if limit > 0 {
			in.Limit = aws.Int32(limit)
		}
		o := res(c.ListTagsForResource(ctx(t), in)).ok(t)
		pages++
		if limit > 0 && len(o.Tags) > int(limit) {
			t.Errorf("page of %d tags with limit %d", len(o.Tags), limit)
		}
		for _, tg := range o.Tags {
			out = append(out, deref(tg.Key)+"="+deref(tg.Value))
		}
		if o.NextToken == nil {
			return out, pages
		}
		if len(o.Tags) == 0 {
			t.Fatalf("empty page with a nextToken")
		}
		next = o.NextToken
		if pages > 100 {
			t.Fatal("pagination does not end")
		}
	}
}

func wantTags(t *testing.T, c *appmesh.Client, arn string, want ...string) {
	t.Helper()
	got, _ := allTags(t, c, arn, 0)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("tags of %s = %v, want %v", arn, got, want)
	}
}

// TestTags covers TagResource, UntagResource and ListTagsForResource.
func TestTags(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mesh := res(c.CreateMesh(ctx(t), &appmesh.CreateMeshInput{MeshName: aws.String("m"), Tags: tags("b", "2", "a", "1", "empty", "")})).ok(t).Mesh
	arn := deref(mesh.Metadata.Arn)

	// Created with tags, listed by key; an empty value is kept.
	wantTags(t, c, arn, "a=1", "b=2", "empty=")

	// Limit 1 over 3 tags: 3 pages, the last without nextToken.
	got, pages := allTags(t, c, arn, 1)
	if pages != 3 || strings.Join(got, ",") != "a=1,b=2,empty=" {
		t.Errorf("paged tags = %v in %d pages, want 3 pages", got, pages)
	}
	got, pages = allTags(t, c, arn, 2)
	if pages != 2 || len(got) != 3 {
		t.Errorf("limit 2: %v in %d pages", got, pages)
	}
	got, pages = allTags(t, c, arn, 3)
	if pages != 1 || len(got) != 3 {
		t.Errorf("limit 3: %v in %d pages (nextToken must be absent when nothing follows)", got, pages)
	}

	// TagResource adds and overwrites, leaving the other keys alone.
	res(c.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: aws.String(arn), Tags: tags("c", "3", "a", "10")})).ok(t)
	wantTags(t, c, arn, "a=10", "b=2", "c=3", "empty=")

	// Tagging does not touch the resource's version.
	d := res(c.DescribeMesh(ctx(t), &appmesh.DescribeMeshInput{MeshName: aws.String("m")})).ok(t).Mesh
	if deref(d.Metadata.Version) != 1 {
		t.Errorf("mesh version after tagging = %d, want 1", deref(d.Metadata.Version))
	}

	// UntagResource removes the keys given; an absent key is ignored.
	res(c.UntagResource(ctx(t), &appmesh.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"b", "empty", "no-such-key"}})).ok(t)
	wantTags(t, c, arn, "a=10", "c=3")

	// 51 in all → TooManyTags, and none of the request's tags (not even the
	// overwrite) is applied.
	var many []types.TagRef
	for i := range 49 {
		many = append(many, types.TagRef{Key: aws.String(fmt.Sprintf("k%02d", i)), Value: aws.String("v")})
	}
	many = append(many, types.TagRef{Key: aws.String("a"), Value: aws.String("changed")})
	_, err := c.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: aws.String(arn), Tags: many})
	wantErr[*types.TooManyTagsException](t, err, "51", "50")
	wantTags(t, c, arn, "a=10", "c=3")

	// Exactly 50 is fine; at 50, overwriting is fine and one more is not.
	res(c.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: aws.String(arn), Tags: many[:48]})).ok(t)
	all, _ := allTags(t, c, arn, 0)
	if len(all) != 50 {
		t.Fatalf("%d tags, want 50", len(all))
	}
	got, pages = allTags(t, c, arn, 50)
	if pages != 1 || len(got) != 50 {
		t.Errorf("limit 50 over 50 tags: %d tags in %d pages", len(got), pages)
	}
	res(c.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: aws.String(arn), Tags: tags("a", "11")})).ok(t)
	_, err = c.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: aws.String(arn), Tags: tags("one-more", "x")})
	wantErr[*types.TooManyTagsException](t, err, "51")
	all, _ = allTags(t, c, arn, 0)
	if len(all) != 50 || all[0] != "a=11" {
		t.Errorf("after the refused tag: %d tags, first %q", len(all), all[0])
	}

	// Deleting the resource deletes its tags: a new mesh of the same name has none.
	res(c.DeleteMesh(ctx(t), &appmesh.DeleteMeshInput{MeshName: aws.String("m")})).ok(t)
	_, err = c.ListTagsForResource(ctx(t), &appmesh.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	notFound(t, err, "m")
	_, err = c.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: aws.String(arn), Tags: tags("x", "y")})
	notFound(t, err, "m")
	again := mkMesh(t, c, "m")
	if deref(again.Metadata.Arn) != arn {
		t.Fatalf("recreated arn %q != %q", deref(again.Metadata.Arn), arn)
	}
	wantTags(t, c, arn)
	o := res(c.ListTagsForResource(ctx(t), &appmesh.ListTagsForResourceInput{ResourceArn: aws.String(arn)})).ok(t)
	if o.Tags == nil || len(o.Tags) != 0 || o.NextToken != nil {
		t.Errorf("tags of a new mesh = %s", dump(o))
	}
}

// TestTagsOnEveryKind creates each kind with tags and reads them back by
// the ARN the create returned; a child's tags go with it on delete.
func TestTagsOnEveryKind(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	m := aws.String("m")
	meshArn := deref(res(c.CreateMesh(ctx(t), &appmesh.CreateMeshInput{MeshName: m, Tags: tags("kind", "mesh")})).ok(t).Mesh.Metadata.Arn)
	arns := map[string]string{"mesh": meshArn}
	arns["virtualNode"] = deref(res(c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: m, VirtualNodeName: aws.String("vn"),
		Spec: nodeSpec("h", 80), Tags: tags("kind", "virtualNode")})).ok(t).VirtualNode.Metadata.Arn)
	arns["virtualRouter"] = deref(res(c.CreateVirtualRouter(ctx(t), &appmesh.CreateVirtualRouterInput{MeshName: m, VirtualRouterName: aws.String("vr"),
		Spec: routerSpec(types.PortProtocolHttp, 80), Tags: tags("kind", "virtualRouter")})).ok(t).VirtualRouter.Metadata.Arn)
	arns["route"] = deref(res(c.CreateRoute(ctx(t), &appmesh.CreateRouteInput{MeshName: m, VirtualRouterName: aws.String("vr"), RouteName: aws.String("r"),
		Spec: httpRouteSpec("/", "vn", 0), Tags: tags("kind", "route")})).ok(t).Route.Metadata.Arn)
	arns["virtualService"] = deref(res(c.CreateVirtualService(ctx(t), &appmesh.CreateVirtualServiceInput{MeshName: m, VirtualServiceName: aws.String("svc.local"),
		Spec: &types.VirtualServiceSpec{}, Tags: tags("kind", "virtualService")})).ok(t).VirtualService.Metadata.Arn)
	arns["virtualGateway"] = deref(res(c.CreateVirtualGateway(ctx(t), &appmesh.CreateVirtualGatewayInput{MeshName: m, VirtualGatewayName: aws.String("gw"),
		Spec: gatewaySpec(types.VirtualGatewayPortProtocolHttp, 80), Tags: tags("kind", "virtualGateway")})).ok(t).VirtualGateway.Metadata.Arn)
	arns["gatewayRoute"] = deref(res(c.CreateGatewayRoute(ctx(t), &appmesh.CreateGatewayRouteInput{MeshName: m, VirtualGatewayName: aws.String("gw"), GatewayRouteName: aws.String("gr"),
		Spec: gwRouteSpec("/", 0, "svc.local", 0), Tags: tags("kind", "gatewayRoute")})).ok(t).GatewayRoute.Metadata.Arn)

	for kind, arn := range arns {
		wantTags(t, c, arn, "kind="+kind)
		res(c.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: aws.String(arn), Tags: tags("extra", kind)})).ok(t)
		wantTags(t, c, arn, "extra="+kind, "kind="+kind)
	}

	// Deleting and recreating the gateway route: the new one has no tags.
	res(c.DeleteGatewayRoute(ctx(t), &appmesh.DeleteGatewayRouteInput{MeshName: m, VirtualGatewayName: aws.String("gw"), GatewayRouteName: aws.String("gr")})).ok(t)
	_, err := c.ListTagsForResource(ctx(t), &appmesh.ListTagsForResourceInput{ResourceArn: aws.String(arns["gatewayRoute"])})
	notFound(t, err, "gr")
	mkGatewayRoute(t, c, "m", "gw", "gr", gwRouteSpec("/", 0, "svc.local", 0))
	wantTags(t, c, arns["gatewayRoute"])
	// Other resources kept theirs.
	wantTags(t, c, arns["virtualGateway"], "extra=virtualGateway", "kind=virtualGateway")
}

// TestTagErrors covers the tag operations' error paths.
func TestTagErrors(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mesh := res(c.CreateMesh(ctx(t), &appmesh.CreateMeshInput{MeshName: aws.String("m"), Tags: tags("a", "1")})).ok(t).Mesh
	arn := deref(mesh.Metadata.Arn)
	unchanged := func(t *testing.T) {
		t.Helper()
		wantTags(t, c, arn, "a=1")
	}

	for _, tc := range []struct{ name, arn, fragment string }{
		{"other account", "arn:aws:appmesh:us-west-2:999999999999:mesh/m", "999999999999"},
		{"other region", "arn:aws:appmesh:eu-west-1:111122223333:mesh/m", "eu-west-1"},
		{"missing mesh", arnPrefix + "mesh/nope", "nope"},
		{"missing child", arnPrefix + "mesh/m/virtualNode/nope", "nope"},
		{"missing gateway route", arnPrefix + "mesh/m/virtualGateway/gw/gatewayRoute/nope", "nope"},
	} {
		t.Run("NotFound "+tc.name, func(t *testing.T) {
			_, err := c.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: aws.String(tc.arn), Tags: tags("x", "y")})
			notFound(t, err, tc.fragment)
			_, err = c.UntagResource(ctx(t), &appmesh.UntagResourceInput{ResourceArn: aws.String(tc.arn), TagKeys: []string{"a"}})
			notFound(t, err, tc.fragment)
			_, err = c.ListTagsForResource(ctx(t), &appmesh.ListTagsForResourceInput{ResourceArn: aws.String(tc.arn)})
			notFound(t, err, tc.fragment)
			unchanged(t)
		})
	}
	for _, bad := range []string{"not-an-arn", "arn:aws:s3:::bucket", arnPrefix + "mesh/m/virtualThing/x", arnPrefix + "mesh/m/virtualRouter/vr/gatewayRoute/x"} {
		t.Run("BadRequest "+bad, func(t *testing.T) {
			_, err := c.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: aws.String(bad), Tags: tags("x", "y")})
			badRequest(t, err, "resourceArn")
			_, err = c.ListTagsForResource(ctx(t), &appmesh.ListTagsForResourceInput{ResourceArn: aws.String(bad)})
			badRequest(t, err, "resourceArn")
			unchanged(t)
		})
	}
	t.Run("BadRequest limits and tokens", func(t *testing.T) {
		for _, l := range []int32{0, 51} {
			_, err := c.ListTagsForResource(ctx(t), &appmesh.ListTagsForResourceInput{ResourceArn: aws.String(arn), Limit: aws.Int32(l)})
			badRequest(t, err, "limit")
		}
		_, err := c.ListTagsForResource(ctx(t), &appmesh.ListTagsForResourceInput{ResourceArn: aws.String(arn), NextToken: aws.String("garbage")})
		badRequest(t, err, "nextToken")
	})
	t.Run("BadRequest tag key", func(t *testing.T) {
		_, err := c.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: aws.String(arn), Tags: tags("", "v")})
		badRequest(t, err, "key")
		_, err = c.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: aws.String(arn), Tags: tags(strings.Repeat("k", 129), "v")})
		badRequest(t, err, "key")
		_, err = c.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: aws.String(arn), Tags: tags("k", strings.Repeat("v", 257))})
		badRequest(t, err, "value")
		unchanged(t)
	})
	t.Run("create with 51 tags", func(t *testing.T) {
		var many []types.TagRef
		for i := range 51 {
			many = append(many, types.TagRef{Key: aws.String(fmt.Sprintf("k%02d", i)), Value: aws.String("v")})
		}
		_, err := c.CreateVirtualGateway(ctx(t), &appmesh.CreateVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"),
			Spec: gatewaySpec(types.VirtualGatewayPortProtocolHttp, 80), Tags: many})
		badRequest(t, err, "tags")
		if l := res(c.ListVirtualGateways(ctx(t), &appmesh.ListVirtualGatewaysInput{MeshName: aws.String("m")})).ok(t); len(l.VirtualGateways) != 0 {
			t.Errorf("gateway created despite the error: %s", dump(l.VirtualGateways))
		}
	})
}
