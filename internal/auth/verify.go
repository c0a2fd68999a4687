package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// MaxSkew is how far a request's date may be from the server's clock, as
// on AWS.
const MaxSkew = 5 * time.Minute

// KeySource finds a credential by access key id; *Keys is one.
type KeySource interface {
	Lookup(accessKeyID string) (*Credential, bool)
}

// Verifier authenticates requests signed for this server's region and the
// appmesh service, and authorizes what they ask.
type Verifier struct {
	Region    string // the credential scope's region must be this one
	AccountID string // the server's own account (--account-id)
	Keys      KeySource
	// Sharing is which meshes other accounts may reach (nil: none).
	Sharing *Shares
	Now     func() time.Time // default time.Now
	// Log gets, at debug level, the canonical request and string to sign
	// of a request whose signature did not match: what a client author
	// needs to find the difference, and no secret.
	Log *slog.Logger
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now().UTC()
	}
	return time.Now().UTC()
}

// Authenticate verifies the SigV4 signature of req, whose body the caller
// has read (at most the API's size cap) and passes as body. It returns the
// credential that signed the request or an error AWS would give.
func (v *Verifier) Authenticate(req *http.Request, body []byte) (*Credential, error) {
	c, err := readClaim(req)
	if err != nil {
		return nil, err
	}
	cred, ok := v.Keys.Lookup(c.accessKeyID)
	if !ok {
		return nil, errUnrecognizedClient()
	}
	if err := checkToken(cred, c); err != nil {
		return nil, err
	}
	if err := v.checkScope(c); err != nil {
		return nil, err
	}
	if err := v.checkDate(c); err != nil {
		return nil, err
	}
	if err := checkSignedHeaders(req, c); err != nil {
		return nil, err
	}
	payloadHash, err := payloadHash(req.Header, body)
	if err != nil {
		return nil, err
	}
	canonical := canonicalRequest(canonicalInput{
		method:      req.Method,
		escapedPath: req.URL.EscapedPath(),
		rawQuery:    req.URL.RawQuery,
		host:        req.Host,
		header:      req.Header,
		signed:      c.signedHeaders,
		payloadHash: payloadHash,
		presigned:   c.presigned,
	})
	toSign := stringToSign(c, canonical)
	want := hmacSHA256(signingKey(cred.secret.secretAccessKey, c), toSign)
	got, err := hex.DecodeString(c.signature)
	if err != nil || !hmac.Equal(want, got) {
		if v.Log != nil {
			v.Log.Debug("signature mismatch", "accessKeyId", c.accessKeyID,
				"canonicalRequest", redactSecrets(canonical), "stringToSign", toSign)
		}
		return nil, errInvalid("%s", msgSignatureMismatch)
	}
	return cred, nil
}

// readClaim finds the one signature the request carries.
func readClaim(req *http.Request) (*claim, error) {
	authz := req.Header.Values("Authorization")
	q := req.URL.Query()
	switch presigned := isPresigned(q); {
	case len(authz) > 0 && presigned:
		return nil, errInvalid("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.")
	case len(authz) > 1:
		return nil, errIncomplete("The request has more than one Authorization header.")
	case len(authz) == 1:
		return parseHeaderClaim(req, authz[0])
	case presigned:
		return parsePresignedClaim(q)
	}
	return nil, errMissingToken()
}

// checkToken enforces the credential's session token: a key configured
// without one refuses any token, a key configured with one requires it.
// The comparison takes constant time since the token is a secret.
func checkToken(cred *Credential, c *claim) error {
	want := cred.secret.sessionToken
	if want == "" && !c.hasToken {
		return nil
	}
	if !c.hasToken || subtle.ConstantTimeCompare([]byte(want), []byte(c.token)) != 1 {
		return errUnrecognizedClient()
	}
	return nil
}

func (v *Verifier) checkScope(c *claim) error {
	switch {
	case c.scopeRegion != v.Region:
		return errInvalid("Credential should be scoped to a valid region, not '%s'. This server serves region '%s'.", c.scopeRegion, v.Region)
	case c.scopeService != serviceName:
		return errInvalid("Credential should be scoped to correct service: '%s'. ", serviceName)
	case c.term != scopeTerminator:
		return errInvalid("Credential should be scoped with a valid terminator: '%s', not '%s'. ", scopeTerminator, c.term)
	}
	return nil
}

// checkDate keeps a captured request from being replayed later: its date
// must be within MaxSkew of now, or, for a presigned URL with
// X-Amz-Expires, between MaxSkew before its date and its expiry.
func (v *Verifier) checkDate(c *claim) error {
	if day := c.date.Format(scopeDateLayout); c.scopeDate != day {
		return errInvalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			c.scopeDate, day, c.dateStamp)
	}
	now := v.now()
	stamp := func(t time.Time) string { return t.Format(amzDateLayout) }
	if earliest := now.Add(MaxSkew); c.date.After(earliest) {
		return errInvalid("Signature not yet current: %s is still later than %s (%s + 5 min.)", c.dateStamp, stamp(earliest), stamp(now))
	}
	if c.presigned && c.expires > 0 {
		if oldest := now.Add(-c.expires); c.date.Before(oldest) {
			return errInvalid("Signature expired: %s is now earlier than %s (%s - %d sec.)", c.dateStamp, stamp(oldest), stamp(now), int(c.expires.Seconds()))
		}
		return nil
	}
	if oldest := now.Add(-MaxSkew); c.date.Before(oldest) {
		return errInvalid("Signature expired: %s is now earlier than %s (%s - 5 min.)", c.dateStamp, stamp(oldest), stamp(now))
	}
	return nil
}

// checkSignedHeaders insists that what binds the signature to this server
// and this moment is signed: the host, the date header the request's date
// came from and a session token sent as a header.
func checkSignedHeaders(req *http.Request, c *claim) error {
	if !c.signs("host") {
		return errInvalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if c.dateHeader != "" && !c.signs(c.dateHeader) {
		return errInvalid("'%s' must be a 'SignedHeader' in the AWS Authorization.", http.CanonicalHeaderKey(c.dateHeader))
	}
	if !c.presigned && c.hasToken && !c.signs("x-amz-security-token") {
		return errInvalid("'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return nil
}

// payloadHash is the hex SHA-256 of the body. A client's
// x-amz-content-sha256 is only believed when it is that hash: taking it on
// trust would let a changed body ride on the original's signature, and
// UNSIGNED-PAYLOAD (an S3 feature) is refused for the same reason.
func payloadHash(h http.Header, body []byte) (string, error) {
	sum := sha256.Sum256(body)
	computed := hex.EncodeToString(sum[:])
	claimed, err := single(h.Values("X-Amz-Content-Sha256"), "x-amz-content-sha256 header")
	if err != nil {
		return "", err
	}
	if claimed == nil {
		return computed, nil
	}
	if !strings.EqualFold(*claimed, computed) {
		return "", errInvalid("The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	return *claimed, nil
}

func stringToSign(c *claim, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return algorithm + "\n" + c.dateStamp + "\n" + c.scope() + "\n" + hex.EncodeToString(sum[:])
}

// signingKey derives SigV4's key: the secret HMAC-chained with the
// credential scope.
func signingKey(secret string, c *claim) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), c.scopeDate)
	k = hmacSHA256(k, c.scopeRegion)
	k = hmacSHA256(k, c.scopeService)
	return hmacSHA256(k, c.term)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// redactSecrets hides, in a canonical request bound for the log, what a
// client may have put in it that is secret: a session token (a signed
// header, or a presigned URL's parameter) and an Authorization header a
// hostile client listed among its signed headers.
func redactSecrets(canonical string) string {
	lines := strings.Split(canonical, "\n")
	for i, l := range lines {
		if i == 2 { // the canonical query
			lines[i] = redactParam(l, "X-Amz-Security-Token=")
			continue
		}
		for _, h := range []string{"x-amz-security-token:", "authorization:"} {
			if strings.HasPrefix(l, h) {
				lines[i] = h + "REDACTED"
			}
		}
	}
	return strings.Join(lines, "\n")
}

func redactParam(query, prefix string) string {
	pairs := strings.Split(query, "&")
	for i, p := range pairs {
		if strings.HasPrefix(p, prefix) {
			pairs[i] = prefix + "REDACTED"
		}
	}
	return strings.Join(pairs, "&")
}
