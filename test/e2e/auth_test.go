package e2e

import (
	"context"
	"encoding/pem"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// The keys of the authenticating server: an administrator and a reader.
const (
	e2eAdminKey  = "AKIAMESHGATEADMIN001"
	e2eReaderKey = "AKIAMESHGATEREADER01"
	e2eSecret    = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

const e2eCredentials = `{"credentials":[
 {"accessKeyId":"` + e2eAdminKey + `","secretAccessKey":"` + e2eSecret + `","accountId":"111122223333",
  "policy":[{"effect":"Allow","action":"appmesh:*","resource":"*"}]},
 {"accessKeyId":"` + e2eReaderKey + `","secretAccessKey":"` + e2eSecret + `","accountId":"111122223333",
  "policy":[{"effect":"Allow","action":["appmesh:Describe*","appmesh:List*"],"resource":"*"}]}
]}`

// startAuthServer runs meshgate server with --auth sigv4 and the
// credential file above.
func startAuthServer(t *testing.T, extra ...string) *server {
	t.Helper()
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials.json")
	if err := os.WriteFile(creds, []byte(e2eCredentials), 0o600); err != nil {
		t.Fatal(err)
	}
	return startServer(t, dir, append([]string{"--auth", "sigv4", "--credentials", creds}, extra...)...)
}

// awsCLIAs is awsCLI signing with the given key (none with keyID ""),
// in the given region.
func awsCLIAs(t *testing.T, endpoint, keyID, secret, region string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"appmesh"}, args...)
	full = append(full, "--endpoint-url", endpoint, "--output", "json")
	if keyID == "" {
		full = append(full, "--no-sign-request")
	}
	cmd := exec.CommandContext(ctx, "aws", full...)
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+keyID, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_DEFAULT_REGION="+region, "AWS_SESSION_TOKEN=",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_MAX_ATTEMPTS=1", "AWS_PAGER=")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running aws %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// TestCLIAuth drives a SigV4-guarded server with the real aws CLI: the
// configured key works, and every wrong key gets the error AWS would give,
// printed by the CLI as for AWS.
func TestCLIAuth(t *testing.T) {
	srv := startAuthServer(t)
	ep := srv.endpoint

	out, errOut, code := awsCLIAs(t, ep, e2eAdminKey, e2eSecret, "us-west-2", "create-mesh", "--mesh-name", "with space")
	if code != 0 || !strings.Contains(out, `"meshName": "with space"`) {
		t.Fatalf("create-mesh with the admin key: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = awsCLIAs(t, ep, e2eAdminKey, e2eSecret, "us-west-2", "list-meshes")
	if code != 0 || !strings.Contains(out, `"meshName": "with space"`) {
		t.Fatalf("list-meshes with the admin key: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = awsCLIAs(t, ep, e2eAdminKey, e2eSecret, "us-west-2", "describe-mesh", "--mesh-name", "with space")
	if code != 0 {
		t.Fatalf("describe-mesh of a name with a space: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = awsCLIAs(t, ep, e2eReaderKey, e2eSecret, "us-west-2", "list-meshes")
	if code != 0 {
		t.Fatalf("list-meshes with the reader key: exit %d\n%s%s", code, out, errOut)
	}

	refusals := []struct {
		name, keyID, secret, region string
		args                        []string
		want                        string
	}{
		{"wrong secret", e2eAdminKey, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYWRONGKEY0", "us-west-2", []string{"list-meshes"},
			"An error occurred (InvalidSignatureException) when calling the ListMeshes operation: The request signature we calculated does not match the signature you provided."},
		{"unknown key", "AKIAMESHGATEUNKNOWN1", e2eSecret, "us-west-2", []string{"list-meshes"},
			"An error occurred (UnrecognizedClientException) when calling the ListMeshes operation: The security token included in the request is invalid."},
		{"read-only key creating", e2eReaderKey, e2eSecret, "us-west-2", []string{"create-mesh", "--mesh-name", "m2"},
			"An error occurred (AccessDeniedException) when calling the CreateMesh operation: User: arn:aws:iam::111122223333:user/" + e2eReaderKey +
				" is not authorized to perform: appmesh:CreateMesh on resource: arn:aws:appmesh:us-west-2:111122223333:mesh/m2"},
		{"unsigned", "", "", "us-west-2", []string{"list-meshes"},
			"An error occurred (MissingAuthenticationTokenException) when calling the ListMeshes operation: Missing Authentication Token"},
		{"wrong region", e2eAdminKey, e2eSecret, "eu-west-1", []string{"list-meshes"},
			"An error occurred (InvalidSignatureException) when calling the ListMeshes operation: Credential should be scoped to a valid region, not 'eu-west-1'."},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			_, errOut, code := awsCLIAs(t, ep, r.keyID, r.secret, r.region, r.args...)
			if code == 0 || !strings.Contains(errOut, r.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant it to contain\n%s", code, errOut, r.want)
			}
		})
	}
	if strings.Contains(srv.log.String(), e2eSecret) {
		t.Errorf("the server log holds a secret:\n%s", srv.log)
	}
	if !strings.Contains(srv.log.String(), `msg="api request refused" code=UnrecognizedClientException`) {
		t.Errorf("refusals are not logged:\n%s", srv.log)
	}
}

// TestSDKAuth: the aws-sdk-go-v2 client with good credentials works end to
// end against the binary, and with a bad secret gets InvalidSignature.
func TestSDKAuth(t *testing.T) {
	srv := startAuthServer(t)
	client := func(secret string) *appmesh.Client {
		return appmesh.New(appmesh.Options{BaseEndpoint: aws.String(srv.endpoint), Region: "us-west-2", Retryer: aws.NopRetryer{},
			Credentials: credentials.NewStaticCredentialsProvider(e2eAdminKey, secret, "")})
	}
	c := client(e2eSecret)
	ctx := t.Context()
	if _, err := c.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String("m")}); err != nil {
		t.Fatal(err)
	}
	gw, err := c.CreateVirtualGateway(ctx, &appmesh.CreateVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"),
		Spec: &types.VirtualGatewaySpec{Listeners: []types.VirtualGatewayListener{{PortMapping: &types.VirtualGatewayPortMapping{
			Port: aws.Int32(8080), Protocol: types.VirtualGatewayPortProtocolHttp}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.TagResource(ctx, &appmesh.TagResourceInput{ResourceArn: gw.VirtualGateway.Metadata.Arn,
		Tags: []types.TagRef{{Key: aws.String("team"), Value: aws.String("edge")}}}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListVirtualGateways(ctx, &appmesh.ListVirtualGatewaysInput{MeshName: aws.String("m")})
	if err != nil || len(list.VirtualGateways) != 1 {
		t.Fatalf("ListVirtualGateways: %v %v", list, err)
	}
	if _, err := c.DeleteVirtualGateway(ctx, &appmesh.DeleteVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw")}); err != nil {
		t.Fatal(err)
	}
	_, err = client("wJalrXUtnFEMI/K7MDENG+bPxRfiCYWRONGKEY0").ListMeshes(ctx, &appmesh.ListMeshesInput{})
	if err == nil || !strings.Contains(err.Error(), "InvalidSignatureException") {
		t.Fatalf("a wrong secret: %v, want InvalidSignatureException", err)
	}
}

// TestServerNeedsCredentials: `meshgate server` will not serve an open API
// by default, and `meshgate up` says loudly that it does.
func TestServerNeedsCredentials(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "server", "--api-listen", "127.0.0.1:0", "--xds-listen", "", "--admin-listen", "",
		"--store", "sqlite:"+filepath.Join(dir, "db")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--auth sigv4 needs --credentials FILE") {
		t.Fatalf("server without credentials: %v\n%s", err, out)
	}

	cmd := exec.Command(binary, "up", "--api-listen", "127.0.0.1:0", "--xds-listen", "127.0.0.1:0", "--admin-listen", "")
	cmd.Dir = dir
	up := startProcess(t, cmd, dir, servingLine)
	if !strings.Contains(up.log.String(), `level=WARN msg="API AUTHENTICATION IS OFF`) {
		t.Errorf("meshgate up does not warn that the API is open:\n%s", up.log)
	}
	if _, errOut, code := awsCLI(t, up.endpoint, "list-meshes"); code != 0 {
		t.Errorf("meshgate up refuses the CLI: %s", errOut)
	}
}

// TestCLIAuthThroughTLSProxy follows docs/security.md: the API behind a
// TLS-terminating reverse proxy that passes the Host header and the
// request URI through unchanged, so signatures made for the proxy's
// address verify at meshgate.
func TestCLIAuthThroughTLSProxy(t *testing.T) {
	srv := startAuthServer(t)
	target, err := url.Parse(srv.endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target)) // keeps Host, path and query
	defer proxy.Close()
	ca := filepath.Join(t.TempDir(), "proxy-ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: proxy.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := awsCLIAs(t, proxy.URL, e2eAdminKey, e2eSecret, "us-west-2", "create-mesh", "--mesh-name", "over tls", "--ca-bundle", ca)
	if code != 0 || !strings.Contains(out, `"meshName": "over tls"`) {
		t.Fatalf("create-mesh through the TLS proxy: exit %d\n%s%s", code, out, errOut)
	}
	_, errOut, code = awsCLIAs(t, proxy.URL, e2eReaderKey, e2eSecret, "us-west-2", "delete-mesh", "--mesh-name", "over tls", "--ca-bundle", ca)
	if code == 0 || !strings.Contains(errOut, "AccessDeniedException") {
		t.Fatalf("delete-mesh by the reader through the proxy: exit %d\n%s", code, errOut)
	}
}
