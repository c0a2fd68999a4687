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
	v := &Verifier{Region: "us-west-2", AccountID: "111122223333", Keys: keys}
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
		{other, "appmesh:ListMeshes", "*",
			"User: arn:aws:iam::444455556666:user/AKIDOTHERACCOUNT is not authorized to perform: appmesh:ListMeshes on resource: * " +
				"because the resources of account 444455556666 are not served here"},
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
