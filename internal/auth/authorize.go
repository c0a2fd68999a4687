package auth

// Authorize decides whether the credential may perform action
// ("appmesh:CreateMesh") on resource (an ARN, or "*" for an operation
// that acts on no resource). Credentials of another account are refused
// everything: this server keeps one account's resources, and there is no
// mesh sharing through which another account could reach them.
func (v *Verifier) Authorize(c *Credential, action, resource string) error {
	const format = "User: %s is not authorized to perform: %s on resource: %s"
	if c.AccountID != v.AccountID {
		return forbidden(CodeAccessDenied, format+" because the resources of account %s are not served here",
			c.ARN(), action, resource, c.AccountID)
	}
	switch c.policy.evaluate(action, resource) {
	case allowed:
		return nil
	case explicitDeny:
		return forbidden(CodeAccessDenied, format+" with an explicit deny in an identity-based policy", c.ARN(), action, resource)
	}
	return forbidden(CodeAccessDenied, format+" because no identity-based policy allows the %s action", c.ARN(), action, resource, action)
}
