package auth

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	serviceName     = "appmesh"
	scopeTerminator = "aws4_request"
	amzDateLayout   = "20060102T150405Z"
	scopeDateLayout = "20060102"
	// maxPresignExpiry is AWS's limit on X-Amz-Expires: a week.
	maxPresignExpiry = 604800
)

// claim is what a request says about how it was signed. Nothing in it is
// trusted until the signature has been recomputed.
type claim struct {
	accessKeyID                                string
	scopeDate, scopeRegion, scopeService, term string
	signedHeaders                              []string
	signature                                  string // hex, as sent

	date       time.Time
	dateStamp  string // the timestamp of the string to sign
	dateHeader string // the header the date came from ("" for a presigned URL)

	presigned bool
	expires   time.Duration // X-Amz-Expires of a presigned URL; 0 if absent

	token    string
	hasToken bool
}

func (c *claim) scope() string {
	return c.scopeDate + "/" + c.scopeRegion + "/" + c.scopeService + "/" + c.term
}

func (c *claim) signs(name string) bool {
	for _, h := range c.signedHeaders {
		if h == name {
			return true
		}
	}
	return false
}

// presignParams are the query parameters of a presigned URL.
var presignParams = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"}

// isPresigned tells whether the query tries to carry a signature, even an
// incomplete one, so that it is refused as such and not as missing.
func isPresigned(q url.Values) bool {
	for _, p := range presignParams {
		if q.Has(p) {
			return true
		}
	}
	return false
}

// HasSignature tells whether req carries any attempt at SigV4, so that a
// request without one is refused before its body is read.
func HasSignature(req *http.Request) bool {
	return len(req.Header.Values("Authorization")) > 0 || isPresigned(req.URL.Query())
}

// parseHeaderClaim reads the Authorization header form:
//
//	AWS4-HMAC-SHA256 Credential=AKID/20240101/us-west-2/appmesh/aws4_request,
//	    SignedHeaders=host;x-amz-date, Signature=hex
func parseHeaderClaim(req *http.Request, authorization string) (*claim, error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	if alg != algorithm {
		return nil, errIncomplete("Unsupported authorization type: only %s (AWS Signature Version 4) is accepted.", algorithm)
	}
	params := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		if _, dup := params[k]; dup {
			return nil, errIncomplete("Authorization header has more than one '%s' parameter.", k)
		}
		params[k] = v
	}
	var missing []string
	for _, k := range []string{"Credential", "Signature", "SignedHeaders"} {
		if params[k] == "" {
			missing = append(missing, "Authorization header requires '"+k+"' parameter.")
		}
	}
	if len(missing) > 0 {
		return nil, errIncomplete("%s", strings.Join(missing, " "))
	}
	c := &claim{signature: params["Signature"]}
	if err := c.parseCredential(params["Credential"]); err != nil {
		return nil, err
	}
	if err := c.parseSignedHeaders(params["SignedHeaders"]); err != nil {
		return nil, err
	}
	if err := c.parseHeaderDate(req.Header); err != nil {
		return nil, err
	}
	if tok, err := single(req.Header.Values("X-Amz-Security-Token"), "X-Amz-Security-Token header"); err != nil {
		return nil, err
	} else if tok != nil {
		c.token, c.hasToken = *tok, true
	}
	return c, nil
}

// parsePresignedClaim reads the query-string form (a presigned URL).
func parsePresignedClaim(q url.Values) (*claim, error) {
	for _, p := range presignParams {
		if len(q[p]) != 1 || q.Get(p) == "" {
			return nil, errIncomplete("AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', " +
				"'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date', each once. Re-examine the query-string parameters.")
		}
	}
	if alg := q.Get("X-Amz-Algorithm"); alg != algorithm {
		return nil, errIncomplete("X-Amz-Algorithm only supports '%s'.", algorithm)
	}
	c := &claim{signature: q.Get("X-Amz-Signature"), presigned: true}
	if err := c.parseCredential(q.Get("X-Amz-Credential")); err != nil {
		return nil, err
	}
	if err := c.parseSignedHeaders(q.Get("X-Amz-SignedHeaders")); err != nil {
		return nil, err
	}
	if err := c.parseAmzDate(q.Get("X-Amz-Date")); err != nil {
		return nil, err
	}
	if vs, ok := q["X-Amz-Expires"]; ok {
		n, err := strconv.Atoi(q.Get("X-Amz-Expires"))
		if len(vs) != 1 || err != nil || n < 1 {
			return nil, errIncomplete("X-Amz-Expires must be a positive whole number of seconds.")
		}
		if n > maxPresignExpiry {
			return nil, errInvalid("X-Amz-Expires must be less than a week (in seconds) that is %d.", maxPresignExpiry)
		}
		c.expires = time.Duration(n) * time.Second
	}
	if tok, err := single(q["X-Amz-Security-Token"], "X-Amz-Security-Token parameter"); err != nil {
		return nil, err
	} else if tok != nil {
		c.token, c.hasToken = *tok, true
	}
	return c, nil
}

// parseCredential reads KEYID/DATE/REGION/SERVICE/aws4_request.
func (c *claim) parseCredential(s string) error {
	parts := strings.Split(s, "/")
	if len(parts) != 5 || parts[0] == "" {
		return errIncomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got %d.", len(parts))
	}
	c.accessKeyID, c.scopeDate, c.scopeRegion, c.scopeService, c.term = parts[0], parts[1], parts[2], parts[3], parts[4]
	return nil
}

// parseSignedHeaders reads "host;x-amz-date". The names are used as the
// client listed them: a list that is not lower-case and sorted was not
// made by a SigV4 signer and will not verify.
func (c *claim) parseSignedHeaders(s string) error {
	c.signedHeaders = strings.Split(s, ";")
	for _, h := range c.signedHeaders {
		if h == "" {
			return errIncomplete("SignedHeaders has an empty header name.")
		}
	}
	return nil
}

// parseHeaderDate takes the date from X-Amz-Date, or else from Date.
func (c *claim) parseHeaderDate(h http.Header) error {
	amz, err := single(h.Values("X-Amz-Date"), "X-Amz-Date header")
	if err != nil {
		return err
	}
	if amz != nil {
		c.dateHeader = "x-amz-date"
		return c.parseAmzDate(*amz)
	}
	date, err := single(h.Values("Date"), "Date header")
	if err != nil {
		return err
	}
	if date == nil {
		return errIncomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	t, err := http.ParseTime(*date)
	if err != nil {
		return errIncomplete("Date header is not an HTTP date.")
	}
	c.dateHeader = "date"
	c.date = t.UTC()
	c.dateStamp = c.date.Format(amzDateLayout)
	return nil
}

func (c *claim) parseAmzDate(s string) error {
	t, err := time.Parse(amzDateLayout, s)
	if err != nil {
		return errIncomplete("Date must be in ISO-8601 'basic format' (%s).", amzDateLayout)
	}
	c.date, c.dateStamp = t, s
	return nil
}

// single returns the only value of a header or parameter, nil when absent;
// several values are refused because the signer and the verifier could
// each pick a different one.
func single(vs []string, what string) (*string, error) {
	switch len(vs) {
	case 0:
		return nil, nil
	case 1:
		return &vs[0], nil
	}
	return nil, errIncomplete("The request has more than one %s.", what)
}

// ClaimedKeyID is the access key id a request says it was signed with, for
// logging refusals: it is not a secret, unlike everything else in the
// Authorization header. It is "" when the request names none.
func ClaimedKeyID(req *http.Request) string {
	cred := req.URL.Query().Get("X-Amz-Credential")
	if authz := req.Header.Get("Authorization"); authz != "" {
		_, after, ok := strings.Cut(authz, "Credential=")
		if !ok {
			return ""
		}
		cred = after
	}
	id, _, ok := strings.Cut(cred, "/")
	if !ok || !accessKeyPattern.MatchString(id) {
		return ""
	}
	return id
}
