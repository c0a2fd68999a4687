package auth

import "strings"

// Authorize decides whether the credential may perform action
// ("appmesh:CreateMesh") on resource (an ARN, or "*" for an operation
// that acts on no resource). As in IAM, a credential's policy reaches the
// resources of its own account; another account's resource only in a mesh
// that account shares with it (the mesh-sharing file, RAM's part in App
// Mesh), and never for a proxy's stream: virtual gateways are their mesh
// owner's alone.
func (v *Verifier) Authorize(c *Credential, action, resource string) error {
	const format = "User: %s is not authorized to perform: %s on resource: %s"
	if owner, mesh, ok := arnAccountMesh(resource); ok && owner != c.AccountID {
		if action == StreamAction || !v.Sharing.SharedWith(mesh, owner, c.AccountID) {
			return forbidden(CodeAccessDenied, format+" because account %s has not shared mesh %s with account %s",
				c.ARN(), action, resource, owner, mesh, c.AccountID)
		}
	}
	switch c.policy.evaluate(action, resource) {
	case allowed:
		return nil
	case explicitDeny:
		return forbidden(CodeAccessDenied, format+" with an explicit deny in an identity-based policy", c.ARN(), action, resource)
	}
	return forbidden(CodeAccessDenied, format+" because no identity-based policy allows the %s action", c.ARN(), action, resource, action)
}

// StreamAction is the IAM action a proxy needs on its virtual gateway.
const StreamAction = "appmesh:StreamAggregatedResources"

// arnAccountMesh reads the account and the mesh name of an App Mesh ARN
// (arn:aws:appmesh:REGION:ACCOUNT:mesh/NAME[/...]).
func arnAccountMesh(arn string) (account, mesh string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "appmesh" {
		return "", "", false
	}
	path, ok := strings.CutPrefix(parts[5], "mesh/")
	if !ok {
		return "", "", false
	}
	mesh, _, _ = strings.Cut(path, "/")
	return parts[4], mesh, true
}
