package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/smithy-go"

	"github.com/meshgate/meshgate/internal/api"
	"github.com/meshgate/meshgate/internal/auth"
	"github.com/meshgate/meshgate/internal/service"
	"github.com/meshgate/meshgate/internal/store/sqlite"
)

// The keys of the authenticated test server (see authCredentials).
const (
	adminKey    = "AKIDADMIN0000000001"
	readerKey   = "AKIDREADER000000001"
	prodKey     = "AKIDPRODONLY0000001"
	foreignKey  = "AKIDFOREIGN00000001"
	authSecret  = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	wrongSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYWRONGKEY0"
)

const authCredentials = `{"credentials":[
 {"accessKeyId":"` + adminKey + `","secretAccessKey":"` + authSecret + `","accountId":"` + testAccount + `",
  "policy":[{"effect":"Allow","action":"appmesh:*","resource":"*"}]},
 {"accessKeyId":"` + readerKey + `","secretAccessKey":"` + authSecret + `","accountId":"` + testAccount + `",
  "policy":[{"effect":"Allow","action":["appmesh:Describe*","appmesh:List*"],"resource":"*"}]},
 {"accessKeyId":"` + prodKey + `","secretAccessKey":"` + authSecret + `","accountId":"` + testAccount + `",
  "policy":[{"effect":"Allow","action":"appmesh:*","resource":["arn:aws:appmesh:*:` + testAccount + `:mesh/prod","arn:aws:appmesh:*:` + testAccount + `:mesh/prod/*"]},
            {"effect":"Deny","action":["appmesh:Delete*","appmesh:UntagResource"],"resource":"*"}]},
 {"accessKeyId":"` + foreignKey + `","secretAccessKey":"` + authSecret + `","accountId":"444455556666",
  "policy":[{"effect":"Allow","action":"*","resource":"*"}]}
]}`

// authServer is a real API server guarded by api.WithAuth.
type authServer struct{ url string }

func startAuthServer(t *testing.T) *authServer {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "meshgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	svc, err := service.New(st, service.Config{Region: testRegion, AccountID: testAccount, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(svc, logger)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.ParseKeys([]byte(authCredentials))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: api.WithAuth(h, &auth.Verifier{Region: testRegion, AccountID: testAccount, Keys: keys}),
		ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	return &authServer{url: "http://" + ln.Addr().String()}
}

// client is an SDK client signing with keyID and secret; an empty keyID
// sends unsigned requests.
func (s *authServer) client(keyID, secret string) *appmesh.Client {
	var creds aws.CredentialsProvider = credentials.NewStaticCredentialsProvider(keyID, secret, "")
	if keyID == "" {
		creds = aws.AnonymousCredentials{}
	}
	return appmesh.New(appmesh.Options{BaseEndpoint: aws.String(s.url), Region: testRegion, Credentials: creds,
		Retryer: aws.NopRetryer{}, HTTPClient: &http.Client{Timeout: 30 * time.Second}})
}

// wantAPIError asserts the error code and a fragment of the message as
// the SDK parsed them.
func wantAPIError(t *testing.T, err error, code, fragment string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want %s", err, code)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), fragment) {
		t.Fatalf("got %s %q, want %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), code, fragment)
	}
}

// TestAuthSDKEndToEnd: the SDK client with good credentials does the
// whole lifecycle, names needing escapes included (they exercise the
// canonical URI and query).
func TestAuthSDKEndToEnd(t *testing.T) {
	s := startAuthServer(t)
	c := s.client(adminKey, authSecret)
	for _, name := range []string{"plain", "with space", "per%cent", "%41literal", "plus+sign", "q?mark", "ünïcødé"} {
		n := aws.String(name)
		mesh := res(c.CreateMesh(ctx(t), &appmesh.CreateMeshInput{MeshName: n, Tags: tags("k", "v")})).ok(t).Mesh
		res(c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: n, VirtualNodeName: n, Spec: nodeSpec("h", 80)})).ok(t)
		res(c.DescribeVirtualNode(ctx(t), &appmesh.DescribeVirtualNodeInput{MeshName: n, VirtualNodeName: n})).ok(t)
		res(c.ListVirtualNodes(ctx(t), &appmesh.ListVirtualNodesInput{MeshName: n, Limit: aws.Int32(5)})).ok(t)
		res(c.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: mesh.Metadata.Arn, Tags: tags("k2", "v2")})).ok(t)
		got := res(c.ListTagsForResource(ctx(t), &appmesh.ListTagsForResourceInput{ResourceArn: mesh.Metadata.Arn})).ok(t)
		if len(got.Tags) != 2 {
			t.Errorf("%q: %d tags, want 2", name, len(got.Tags))
		}
		res(c.DeleteVirtualNode(ctx(t), &appmesh.DeleteVirtualNodeInput{MeshName: n, VirtualNodeName: n})).ok(t)
		res(c.DeleteMesh(ctx(t), &appmesh.DeleteMeshInput{MeshName: n})).ok(t)
	}
	res(c.ListMeshes(ctx(t), &appmesh.ListMeshesInput{})).ok(t)
}

func TestAuthRefusals(t *testing.T) {
	s := startAuthServer(t)
	mkMesh(t, s.client(adminKey, authSecret), "prod")
	list := func(c *appmesh.Client) error {
		_, err := c.ListMeshes(ctx(t), &appmesh.ListMeshesInput{})
		return err
	}
	wantAPIError(t, list(s.client("", "")), "MissingAuthenticationTokenException", "Missing Authentication Token")
	wantAPIError(t, list(s.client("AKIDNOBODY000000001", authSecret)), "UnrecognizedClientException",
		"The security token included in the request is invalid.")
	wantAPIError(t, list(s.client(adminKey, wrongSecret)), "InvalidSignatureException",
		"The request signature we calculated does not match the signature you provided.")

	wrongRegion := appmesh.New(appmesh.Options{BaseEndpoint: aws.String(s.url), Region: "eu-west-1", Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider(adminKey, authSecret, "")})
	wantAPIError(t, list(wrongRegion), "InvalidSignatureException", "Credential should be scoped to a valid region, not 'eu-west-1'")

	reader := s.client(readerKey, authSecret)
	res(reader.DescribeMesh(ctx(t), &appmesh.DescribeMeshInput{MeshName: aws.String("prod")})).ok(t)
	_, err := reader.CreateMesh(ctx(t), &appmesh.CreateMeshInput{MeshName: aws.String("new")})
	wantAPIError(t, err, "AccessDeniedException", "User: arn:aws:iam::"+testAccount+":user/"+readerKey+
		" is not authorized to perform: appmesh:CreateMesh on resource: "+arnPrefix+"mesh/new")

	// Another account's key lists its own meshes (none) and is refused this
	// account's meshes, which are not shared with it.
	foreign := s.client(foreignKey, authSecret)
	if out, err := foreign.ListMeshes(ctx(t), &appmesh.ListMeshesInput{}); err != nil {
		t.Fatalf("foreign ListMeshes: %v", err)
	} else if len(out.Meshes) != 0 {
		t.Fatalf("foreign ListMeshes: %d meshes of another account", len(out.Meshes))
	}
	_, err = foreign.DescribeMesh(ctx(t), &appmesh.DescribeMeshInput{MeshName: aws.String("prod"), MeshOwner: aws.String(testAccount)})
	wantAPIError(t, err, "AccessDeniedException", "because account "+testAccount+" has not shared mesh prod with account 444455556666")
}

// TestAuthResourcePolicy: a key confined to mesh prod works there and
// nowhere else, and a Deny beats its Allow.
func TestAuthResourcePolicy(t *testing.T) {
	s := startAuthServer(t)
	admin := s.client(adminKey, authSecret)
	mkMesh(t, admin, "prod")
	dev := mkMesh(t, admin, "dev")
	prod := s.client(prodKey, authSecret)

	res(prod.DescribeMesh(ctx(t), &appmesh.DescribeMeshInput{MeshName: aws.String("prod")})).ok(t)
	node := res(prod.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: aws.String("prod"),
		VirtualNodeName: aws.String("n"), Spec: nodeSpec("h", 80)})).ok(t).VirtualNode
	res(prod.ListVirtualNodes(ctx(t), &appmesh.ListVirtualNodesInput{MeshName: aws.String("prod")})).ok(t)
	res(prod.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: node.Metadata.Arn, Tags: tags("a", "b")})).ok(t)

	denied := []struct {
		name string
		err  error
		want string
	}{
		{"create in dev", second(prod.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: aws.String("dev"),
			VirtualNodeName: aws.String("n"), Spec: nodeSpec("h", 80)})), "appmesh:CreateVirtualNode on resource: " + arnPrefix + "mesh/dev/virtualNode/n"},
		{"create mesh", second(prod.CreateMesh(ctx(t), &appmesh.CreateMeshInput{MeshName: aws.String("prod2")})),
			"appmesh:CreateMesh on resource: " + arnPrefix + "mesh/prod2"},
		{"list meshes", second(prod.ListMeshes(ctx(t), &appmesh.ListMeshesInput{})), "appmesh:ListMeshes on resource: *"},
		{"list in dev", second(prod.ListVirtualNodes(ctx(t), &appmesh.ListVirtualNodesInput{MeshName: aws.String("dev")})),
			"appmesh:ListVirtualNodes on resource: " + arnPrefix + "mesh/dev"},
		{"tag in dev", second(prod.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: dev.Metadata.Arn, Tags: tags("a", "b")})),
			"appmesh:TagResource on resource: " + arnPrefix + "mesh/dev"},
		{"explicit deny", second(prod.DeleteVirtualNode(ctx(t), &appmesh.DeleteVirtualNodeInput{MeshName: aws.String("prod"),
			VirtualNodeName: aws.String("n")})), "with an explicit deny"},
	}
	for _, d := range denied {
		t.Run(d.name, func(t *testing.T) { wantAPIError(t, d.err, "AccessDeniedException", d.want) })
	}
}

func second[T any](_ T, err error) error { return err }

// signedRaw sends a hand-made request signed by the SDK's signer.
func signedRaw(t *testing.T, method, url, body, keyID string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: authSecret}, req,
		hex.EncodeToString(sum[:]), "appmesh", testRegion, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var msg struct{ Message string }
	json.Unmarshal(b, &msg)
	return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), msg.Message
}

// TestAuthBodyNamesAsDecoded: the name authorized is the name the
// operation decodes, even when the JSON spells the member in another case
// (encoding/json matches member names case-insensitively) or repeats it.
func TestAuthBodyNamesAsDecoded(t *testing.T) {
	s := startAuthServer(t)
	for _, body := range []string{`{"MESHNAME":"dev"}`, `{"meshName":"prod","MeshName":"dev"}`, `{"meshName":"prod","meshName":"dev"}`} {
		status, code, msg := signedRaw(t, "PUT", s.url+"/v20190125/meshes", body, prodKey)
		if status != http.StatusForbidden || code != "AccessDeniedException" || !strings.Contains(msg, "mesh/dev") {
			t.Errorf("CreateMesh %s by the prod-only key: %d %s %q, want AccessDenied on mesh/dev", body, status, code, msg)
		}
	}
	if status, code, msg := signedRaw(t, "PUT", s.url+"/v20190125/meshes", `{"meshName":"prod"}`, prodKey); status != http.StatusOK {
		t.Errorf("CreateMesh prod by the prod-only key: %d %s %q", status, code, msg)
	}
}

// TestAuthOtherPaths: an unsigned request is refused whatever its path; a
// signed one to no operation gets the API's NotFound; a body over the cap
// is refused before it is hashed.
func TestAuthOtherPaths(t *testing.T) {
	s := startAuthServer(t)
	resp, err := http.Get(s.url + "/nowhere")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" ||
		resp.Header.Get("x-amzn-RequestId") == "" {
		t.Errorf("unsigned GET /nowhere: %d %s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
	}
	if status, code, _ := signedRaw(t, "GET", s.url+"/nowhere", "", adminKey); status != http.StatusNotFound || code != "NotFoundException" {
		t.Errorf("signed GET /nowhere: %d %s, want 404 NotFoundException", status, code)
	}
	big := `{"meshName":"` + strings.Repeat("a", api.MaxBodyBytes) + `"}`
	if status, code, _ := signedRaw(t, "PUT", s.url+"/v20190125/meshes", big, adminKey); status != http.StatusRequestEntityTooLarge || code != "BadRequestException" {
		t.Errorf("a body over the cap: %d %s, want 413 BadRequestException", status, code)
	}
}

// TestAuthPresigned: a presigned ListMeshes URL works as a plain GET.
func TestAuthPresigned(t *testing.T) {
	s := startAuthServer(t)
	req, _ := http.NewRequest("GET", s.url+"/v20190125/meshes?X-Amz-Expires=60", nil)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: readerKey, SecretAccessKey: authSecret},
		req, hex.EncodeToString(sha256.New().Sum(nil)), "appmesh", testRegion, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"meshes"`)) {
		t.Errorf("presigned ListMeshes: %d %s", resp.StatusCode, b)
	}
}
