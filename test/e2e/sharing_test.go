package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Three accounts: the server's own owns the mesh and shares it with the
// consumer; the outsider has full permissions in its own account only.
const (
	shareOwnerKey    = "AKIAMESHGATEOWNER001"
	shareConsumerKey = "AKIAMESHGATECONSUMER"
	shareOutsiderKey = "AKIAMESHGATEOUTSIDER"
	shareOwner       = "111122223333"
	shareConsumer    = "444455556666"
	shareOutsider    = "777788889999"
)

const sharingCredentials = `{"credentials":[
 {"accessKeyId":"` + shareOwnerKey + `","secretAccessKey":"` + e2eSecret + `","accountId":"` + shareOwner + `",
  "policy":[{"effect":"Allow","action":"appmesh:*","resource":"*"}]},
 {"accessKeyId":"` + shareConsumerKey + `","secretAccessKey":"` + e2eSecret + `","accountId":"` + shareConsumer + `",
  "policy":[{"effect":"Allow","action":"appmesh:*","resource":"*"}]},
 {"accessKeyId":"` + shareOutsiderKey + `","secretAccessKey":"` + e2eSecret + `","accountId":"` + shareOutsider + `",
  "policy":[{"effect":"Allow","action":"appmesh:*","resource":"*"}]}
]}`

const (
	sharedMesh   = `{"shares":[{"meshName":"shared","meshOwner":"` + shareOwner + `","consumers":["` + shareConsumer + `"]}]}`
	nothingShare = `{"shares":[]}`
)

// TestCLISharedMesh: a mesh shared through --mesh-shares, driven by the
// real aws CLI under three accounts' keys: the consumer works in it and
// owns what it creates, may not create gateways or change the owner's
// resources, the outsider is refused, and unsharing (a changed file) takes
// effect without a restart.
func TestCLISharedMesh(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials.json")
	shares := filepath.Join(dir, "shares.json")
	os.WriteFile(creds, []byte(sharingCredentials), 0o600)
	os.WriteFile(shares, []byte(sharedMesh), 0o600)
	srv := startServer(t, dir, "--auth", "sigv4", "--credentials", creds, "--mesh-shares", shares)
	cli := func(key string, args ...string) (string, string, int) {
		t.Helper()
		return awsCLIAs(t, srv.endpoint, key, e2eSecret, "us-west-2", args...)
	}
	ok := func(key string, args ...string) string {
		t.Helper()
		out, errOut, code := cli(key, args...)
		if code != 0 {
			t.Fatalf("aws %v as %s: exit %d\n%s%s", args, key, code, out, errOut)
		}
		return out
	}
	refused := func(want, key string, args ...string) {
		t.Helper()
		out, errOut, code := cli(key, args...)
		if code == 0 || !strings.Contains(errOut, want) {
			t.Fatalf("aws %v as %s: exit %d\n%s%s\nwant stderr containing %q", args, key, code, out, errOut, want)
		}
	}
	const node = `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"c.local"}}}`
	const gw = `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}]}`

	ok(shareOwnerKey, "create-mesh", "--mesh-name", "shared")
	ok(shareOwnerKey, "create-virtual-gateway", "--mesh-name", "shared", "--virtual-gateway-name", "gw", "--spec", gw)

	out := ok(shareConsumerKey, "describe-mesh", "--mesh-name", "shared", "--mesh-owner", shareOwner)
	if !strings.Contains(out, `"meshOwner": "`+shareOwner+`"`) {
		t.Fatalf("consumer's describe-mesh:\n%s", out)
	}
	out = ok(shareConsumerKey, "create-virtual-node", "--mesh-name", "shared", "--mesh-owner", shareOwner,
		"--virtual-node-name", "c-node", "--spec", node)
	for _, want := range []string{`"resourceOwner": "` + shareConsumer + `"`, `"meshOwner": "` + shareOwner + `"`,
		`"arn": "arn:aws:appmesh:us-west-2:` + shareConsumer + `:mesh/shared/virtualNode/c-node"`} {
		if !strings.Contains(out, want) {
			t.Fatalf("consumer's node lacks %s:\n%s", want, out)
		}
	}
	out = ok(shareOwnerKey, "list-virtual-nodes", "--mesh-name", "shared")
	if !strings.Contains(out, `"resourceOwner": "`+shareConsumer+`"`) {
		t.Fatalf("the owner does not see the consumer's node:\n%s", out)
	}
	out = ok(shareConsumerKey, "list-meshes")
	if !strings.Contains(out, `"meshName": "shared"`) {
		t.Fatalf("the shared mesh is not in the consumer's list-meshes:\n%s", out)
	}

	refused("An error occurred (ForbiddenException) when calling the CreateVirtualGateway operation: account "+shareConsumer+
		" may not create a VirtualGateway in mesh shared", shareConsumerKey,
		"create-virtual-gateway", "--mesh-name", "shared", "--mesh-owner", shareOwner, "--virtual-gateway-name", "c-gw", "--spec", gw)
	refused("An error occurred (ForbiddenException) when calling the UpdateVirtualGateway operation", shareConsumerKey,
		"update-virtual-gateway", "--mesh-name", "shared", "--mesh-owner", shareOwner, "--virtual-gateway-name", "gw", "--spec", gw)
	refused("An error occurred (ForbiddenException) when calling the UpdateVirtualNode operation", shareOwnerKey,
		"update-virtual-node", "--mesh-name", "shared", "--virtual-node-name", "c-node", "--spec", node)
	refused("An error occurred (NotFoundException) when calling the DescribeMesh operation", shareConsumerKey,
		"describe-mesh", "--mesh-name", "shared")
	refused("An error occurred (AccessDeniedException) when calling the DescribeMesh operation: User: arn:aws:iam::"+shareOutsider+
		":user/"+shareOutsiderKey+" is not authorized to perform: appmesh:DescribeMesh on resource: arn:aws:appmesh:us-west-2:"+shareOwner+
		":mesh/shared because account "+shareOwner+" has not shared mesh shared with account "+shareOutsider, shareOutsiderKey,
		"describe-mesh", "--mesh-name", "shared", "--mesh-owner", shareOwner)
	if out := ok(shareOutsiderKey, "list-meshes"); strings.Contains(out, `"shared"`) {
		t.Fatalf("the outsider lists the shared mesh:\n%s", out)
	}

	// Unshare: the file changes, the server notices without a restart.
	tmp := shares + ".tmp"
	os.WriteFile(tmp, []byte(nothingShare), 0o600)
	os.Rename(tmp, shares)
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, errOut, code := cli(shareConsumerKey, "describe-mesh", "--mesh-name", "shared", "--mesh-owner", shareOwner)
		if code != 0 && strings.Contains(errOut, "AccessDeniedException") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the consumer still reaches the mesh 20 s after it was unshared: exit %d %s", code, errOut)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// What the consumer created stays, and the mesh owner may delete it.
	ok(shareOwnerKey, "delete-virtual-node", "--mesh-name", "shared", "--virtual-node-name", "c-node")
}
