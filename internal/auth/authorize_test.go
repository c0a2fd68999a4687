package auth

import (
	"errors"
	"testing"

	"github.com/meshgate/meshgate/internal/appmesh"
)

func TestAuthorize(t *testing.T) {
	keys, err := ParseKeys([]byte(`{"credentials":[
		{"accessKeyId":"AKIDREADER","secretAccessKey":"0123456789abcdef0123","accountId":"111122223333",
		 "policy":[{"effect":"Allow","action":["appmesh:Describe*","appmesh:List*"],"resource":"*"},
		           {"effect":"Deny","action":"appmesh:DescribeVirtualNode","resource":"arn:aws:appmesh:*:*:mesh/m/virtualNode/secret"}]},
		{"accessKeyId":"AKIDOTHERACCOUNT","secretAccessKey":"0123456789abcdef0123","accountId":"444455556666",
		 "policy":[{"effect":"Allow","action":"*","resource":"*"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	shares, err := ParseShares([]byte(`{"shares":[{"meshName":"shared","meshOwner":"111122223333","consumers":["444455556666"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Region: "us-west-2", AccountID: "111122223333", Keys: keys, Sharing: shares}
	reader, _ := keys.Lookup("AKIDREADER")
	other, _ := keys.Lookup("AKIDOTHERACCOUNT")
	const node = "arn:aws:appmesh:us-west-2:111122223333:mesh/m/virtualNode/"
	cases := []struct {
		cred             *Credential
		action, resource string
		want             string // "" allows
	}{
		{reader, "appmesh:DescribeVirtualNode", node + "a", ""},
		{reader, "appmesh:ListMeshes", "*", ""},
		{reader, "appmesh:CreateGatewayRoute", "arn:aws:appmesh:us-west-2:111122223333:mesh/m/virtualGateway/g/gatewayRoute/r",
			"User: arn:aws:iam::111122223333:user/AKIDREADER is not authorized to perform: appmesh:CreateGatewayRoute on resource: " +
				"arn:aws:appmesh:us-west-2:111122223333:mesh/m/virtualGateway/g/gatewayRoute/r because no identity-based policy allows the appmesh:CreateGatewayRoute action"},
		{reader, "appmesh:DescribeVirtualNode", node + "secret",
			"User: arn:aws:iam::111122223333:user/AKIDREADER is not authorized to perform: appmesh:DescribeVirtualNode on resource: " +
				node + "secret with an explicit deny in an identity-based policy"},
		// Another account: its own resources, and a mesh shared with it,
		// but no other mesh of this account and never a proxy's stream.
		{other, "appmesh:ListMeshes", "*", ""},
		{other, "appmesh:CreateMesh", "arn:aws:appmesh:us-west-2:444455556666:mesh/mine", ""},
		{other, "appmesh:CreateVirtualNode", "arn:aws:appmesh:us-west-2:111122223333:mesh/shared/virtualNode/n", ""},
		{other, "appmesh:DescribeVirtualNode", node + "a",
			"User: arn:aws:iam::444455556666:user/AKIDOTHERACCOUNT is not authorized to perform: appmesh:DescribeVirtualNode on resource: " +
				node + "a because account 111122223333 has not shared mesh m with account 444455556666"},
		{other, "appmesh:StreamAggregatedResources", "arn:aws:appmesh:us-west-2:111122223333:mesh/shared/virtualGateway/g",
			"User: arn:aws:iam::444455556666:user/AKIDOTHERACCOUNT is not authorized to perform: appmesh:StreamAggregatedResources on resource: " +
				"arn:aws:appmesh:us-west-2:111122223333:mesh/shared/virtualGateway/g because account 111122223333 has not shared mesh shared with account 444455556666"},
		// A share names the owner: the same mesh name of another owner is not shared.
		{other, "appmesh:DescribeMesh", "arn:aws:appmesh:us-west-2:999988887777:mesh/shared",
			"User: arn:aws:iam::444455556666:user/AKIDOTHERACCOUNT is not authorized to perform: appmesh:DescribeMesh on resource: " +
				"arn:aws:appmesh:us-west-2:999988887777:mesh/shared because account 999988887777 has not shared mesh shared with account 444455556666"},
	}
	for _, tc := range cases {
		err := v.Authorize(tc.cred, tc.action, tc.resource)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s %s on %s: %v", tc.cred.AccessKeyID, tc.action, tc.resource, err)
			}
			continue
		}
		var ae *appmesh.Error
		if !errors.As(err, &ae) || ae.Code != CodeAccessDenied || ae.Status != 403 || ae.Message != tc.want {
			t.Errorf("%s %s on %s: got %v, want AccessDeniedException %q", tc.cred.AccessKeyID, tc.action, tc.resource, err, tc.want)
		}
	}
}
