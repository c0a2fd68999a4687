// Package auth guards the App Mesh API the way AWS guards its own: every
// request is verified with AWS Signature Version 4 against meshgate's
// credential file, then authorized by IAM-like identity policies, and a
// refusal carries the error code and message AWS would send so that SDKs
// and the aws CLI report it as they would for AWS.
//
// Nothing here logs or returns a secret access key, a signature or an
// Authorization header value.
package auth
