package store

import (
	"strings"
	"testing"
)

// FuzzParseResource: the ARN parser (node ids, tag ARNs) never panics, and
// whatever it accepts names a key whose ARN parses back to the same key,
// region and account.
func FuzzParseResource(f *testing.F) {
	for _, s := range []string{
		"mesh/m", "mesh/m/virtualGateway/g", "mesh/m@111122223333/virtualGateway/g",
		"mesh/m/virtualGateway/g/gatewayRoute/r", "mesh/m/virtualRouter/vr/route/r",
		"arn:aws:appmesh:us-west-2:111122223333:mesh/m/virtualNode/n",
		"arn:aws:appmesh:us-west-2:111122223333:mesh/m/virtualService/a.b.local",
		"arn:aws:appmesh::111122223333:mesh/m", "arn:aws:appmesh:us-west-2::mesh/m", "arn:aws:s3:::bucket", "mesh//virtualGateway/g",
		"mesh/m/virtualGateway/g/route/r", "arn:aws:appmesh:r:a:mesh/m/x/y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, region, account, err := ParseResource(s)
		if err != nil {
			return
		}
		if k.Mesh == "" || k.Name == "" {
			t.Fatalf("%q parsed to a key with an empty name: %+v", s, k)
		}
		if strings.Contains(k.Mesh+k.Parent+k.Name, "/") {
			t.Fatalf("%q parsed to names containing /: %+v", s, k)
		}
		full := strings.HasPrefix(s, "arn:")
		if full != (region != "" && account != "") {
			t.Fatalf("%q: region %q and account %q", s, region, account)
		}
		back, r2, a2, err := ParseResource(ResourcePath(k))
		if full {
			back, r2, a2, err = ParseResource(ARN(region, account, k))
		}
		if err != nil || back != k || r2 != region || a2 != account {
			t.Fatalf("%q → %+v (%s, %s) → %+v (%s, %s), %v", s, k, region, account, back, r2, a2, err)
		}
	})
}
