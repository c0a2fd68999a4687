package auth

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "arn:aws:appmesh:us-west-2:111122223333:mesh/a/virtualNode/b", true},
		{"arn:aws:appmesh:*:111122223333:mesh/prod/*", "arn:aws:appmesh:us-west-2:111122223333:mesh/prod/virtualNode/n", true},
		{"arn:aws:appmesh:*:111122223333:mesh/prod/*", "arn:aws:appmesh:us-west-2:111122223333:mesh/prod", false},
		{"arn:aws:appmesh:*:111122223333:mesh/prod*", "arn:aws:appmesh:us-west-2:111122223333:mesh/production", true},
		{"arn:aws:appmesh:*:*:mesh/*/virtualGateway/*", "arn:aws:appmesh:us-west-2:1:mesh/m/virtualGateway/g/gatewayRoute/r", true}, // * crosses /
		{"mesh/Prod", "mesh/prod", false}, // case-sensitive
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "abbc", false},
		{"a?c", "aüc", true}, // ? is one character, not one byte
		{"*b", "aaab", true},
		{"*a*b*c", "xaybzc", true},
		{"*a*b*c", "xaybz", false},
		{"", "", true},
		{"", "a", false},
		{"a**", "a", true},
		{"*", "*", true},
		{"arn:*", "*", false},
	}
	for _, tc := range cases {
		if got := match(tc.pattern, tc.s); got != tc.want {
			t.Errorf("match(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
		if got := referenceMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("reference(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func compile(t *testing.T, statements string) policy {
	t.Helper()
	keys, err := ParseKeys([]byte(`{"credentials":[{"accessKeyId":"AKIDPOLICYTEST","secretAccessKey":"0123456789abcdef0123",` +
		`"accountId":"111122223333","policy":` + statements + `}]}`))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := keys.Lookup("AKIDPOLICYTEST")
	return c.policy
}

func TestEvaluate(t *testing.T) {
	const arn = "arn:aws:appmesh:us-west-2:111122223333:"
	p := compile(t, `[
		{"effect":"Allow","action":["appmesh:Describe*","appmesh:List*"],"resource":["arn:aws:appmesh:*:111122223333:mesh/prod","arn:aws:appmesh:*:111122223333:mesh/prod/*"]},
		{"Effect":"Allow","Action":"appmesh:*","Resource":"arn:aws:appmesh:*:111122223333:mesh/dev*"},
		{"Sid":"no-secrets","Effect":"Deny","Action":"appmesh:*","Resource":"arn:aws:appmesh:*:*:mesh/dev/virtualNode/secret"},
		{"effect":"Allow","action":"APPMESH:listmeshes","resource":"*"}
	]`)
	cases := []struct {
		action, resource string
		want             decision
	}{
		{"appmesh:DescribeMesh", arn + "mesh/prod", allowed},
		{"appmesh:DescribeVirtualNode", arn + "mesh/prod/virtualNode/a", allowed},
		{"appmesh:ListVirtualNodes", arn + "mesh/prod", allowed},
		{"appmesh:CreateVirtualNode", arn + "mesh/prod/virtualNode/a", implicitDeny},
		{"appmesh:DeleteMesh", arn + "mesh/prod", implicitDeny},
		{"appmesh:DeleteMesh", arn + "mesh/dev", allowed},
		{"appmesh:CreateVirtualNode", arn + "mesh/dev/virtualNode/a", allowed},
		{"appmesh:DescribeVirtualNode", arn + "mesh/dev/virtualNode/secret", explicitDeny}, // Deny beats Allow
		{"appmesh:DescribeMesh", arn + "mesh/Prod", implicitDeny},                          // resources are case-sensitive
		{"APPMESH:DESCRIBEMESH", arn + "mesh/prod", allowed},                               // actions are not
		{"appmesh:ListMeshes", "*", allowed},
		{"appmesh:DescribeMesh", arn + "mesh/staging", implicitDeny},
	}
	for _, tc := range cases {
		if got := p.evaluate(tc.action, tc.resource); got != tc.want {
			t.Errorf("evaluate(%s, %s) = %v, want %v", tc.action, tc.resource, got, tc.want)
		}
	}
	if got := compile(t, `[]`).evaluate("appmesh:ListMeshes", "*"); got != implicitDeny {
		t.Errorf("an empty policy gives %v, want the default deny", got)
	}
}

func TestCompileStatementErrors(t *testing.T) {
	cases := map[string]string{
		`[{"effect":"allow","action":"appmesh:*","resource":"*"}]`:                               `effect "allow": want Allow or Deny`,
		`[{"action":"appmesh:*","resource":"*"}]`:                                                "effect is missing",
		`[{"effect":"Allow","resource":"*"}]`:                                                    "action is missing",
		`[{"effect":"Allow","action":"appmesh:*"}]`:                                              "resource is missing",
		`[{"effect":"Allow","action":"s3:GetObject","resource":"*"}]`:                            "only appmesh:OPERATION actions",
		`[{"effect":"Deny","action":"appmesh:DescribeMeshes","resource":"*"}]`:                   "matches no App Mesh action",
		`[{"effect":"Allow","action":"appmesh:*","resource":"mesh/prod"}]`:                       `want "*" or an ARN pattern`,
		`[{"effect":"Allow","action":"appmesh:*","resource":"*","condition":{}}]`:                `unknown field "condition"`,
		`[{"effect":"Allow","NotAction":"appmesh:*","resource":"*"}]`:                            `unknown field "NotAction"`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Principal":"*"}]}`: `unknown field "Principal"`,
		`[{"effect":"Allow","action":7,"resource":"*"}]`:                                         "want a string or a list of strings",
	}
	for policy, want := range cases {
		_, err := ParseKeys([]byte(`{"credentials":[{"accessKeyId":"AKIDPOLICYTEST","secretAccessKey":"0123456789abcdef0123",` +
			`"accountId":"111122223333","policy":` + policy + `}]}`))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("policy %s: error %v, want one containing %q", policy, err, want)
		}
	}
}

// TestPolicyDocumentForm: the xDS server's readers write IAM documents,
// with a single statement or a list; both mean what the list form means.
func TestPolicyDocumentForm(t *testing.T) {
	for _, doc := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["appmesh:StreamAggregatedResources","appmesh:List*"],"Resource":"*"}]}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["appmesh:StreamAggregatedResources","appmesh:List*"],"Resource":"*"}}`,
	} {
		p := compile(t, doc)
		if p.evaluate("appmesh:ListMeshes", "*") != allowed || p.evaluate("appmesh:DescribeMesh", "*") != implicitDeny {
			t.Errorf("document %s not evaluated like its statements", doc)
		}
	}
}
