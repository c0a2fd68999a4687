package xds

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Tokens are the bearer tokens proxies may present on the xDS listener
// (`authorization: Bearer TOKEN` in the gRPC metadata), each with the
// gateways it may stream. The file is JSON:
//
//	{"tokens": [
//	  {"name": "prod-edge", "token": "…", "resources": ["mesh/prod/virtualGateway/*"]}
//	]}
//
// A resource is a short ARN (mesh/M/virtualGateway/G) or a full one
// (arn:aws:appmesh:REGION:ACCOUNT:mesh/M/virtualGateway/G), where `*`
// matches any run of characters, "/" included, as in IAM. A short pattern
// is matched against the gateway's short ARN, a full one against its full
// ARN. name is optional and only shows in logs; tokens never do.
type Tokens struct {
	byHash map[[32]byte]*token
}

type token struct {
	name      string
	hash      [32]byte
	resources []string
}

// MinTokenLength is the shortest token accepted: 16 characters.
const MinTokenLength = 16

type tokensFile struct {
	Tokens []struct {
		Name      string   `json:"name"`
		Token     string   `json:"token"`
		Resources []string `json:"resources"`
	} `json:"tokens"`
}

// LoadTokens reads a tokens file.
func LoadTokens(file string) (*Tokens, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("xds tokens: %w", err)
	}
	t, err := ParseTokens(b)
	if err != nil {
		return nil, fmt.Errorf("xds tokens %s: %w", file, err)
	}
	return t, nil
}

// ParseTokens reads the JSON of a tokens file.
func ParseTokens(b []byte) (*Tokens, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f tokensFile
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if len(f.Tokens) == 0 {
		return nil, errors.New(`no token: want {"tokens":[{"token":"…","resources":["mesh/M/virtualGateway/G"]}]}`)
	}
	out := &Tokens{byHash: map[[32]byte]*token{}}
	for i, e := range f.Tokens {
		name := e.Name
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		if len(e.Token) < MinTokenLength || strings.ContainsAny(e.Token, " \t\r\n") {
			return nil, fmt.Errorf("token %s: want at least %d characters and no white space", name, MinTokenLength)
		}
		if len(e.Resources) == 0 {
			return nil, fmt.Errorf("token %s: no resources", name)
		}
		for _, r := range e.Resources {
			if !strings.HasPrefix(r, "mesh/") && !strings.HasPrefix(r, "arn:") {
				return nil, fmt.Errorf("token %s: resource %q: want mesh/MESH/virtualGateway/NAME or an ARN (with * wildcards)", name, r)
			}
		}
		h := sha256.Sum256([]byte(e.Token))
		if _, dup := out.byHash[h]; dup {
			return nil, fmt.Errorf("token %s: the same token is listed twice", name)
		}
		out.byHash[h] = &token{name: name, hash: h, resources: e.Resources}
	}
	return out, nil
}

// Len is how many tokens there are.
func (t *Tokens) Len() int { return len(t.byHash) }

// lookup finds a presented token. The map is keyed by the token's SHA-256,
// so the time a lookup takes says nothing about the tokens; the final
// compare is constant-time all the same.
func (t *Tokens) lookup(presented string) (*token, bool) {
	if t == nil || presented == "" {
		return nil, false
	}
	h := sha256.Sum256([]byte(presented))
	e, ok := t.byHash[h]
	if !ok || subtle.ConstantTimeCompare(e.hash[:], h[:]) != 1 {
		return nil, false
	}
	return e, true
}

func (t *token) allows(short, arn string) bool {
	for _, r := range t.resources {
		subject := short
		if strings.HasPrefix(r, "arn:") {
			subject = arn
		}
		if wildcardMatch(r, subject) {
			return true
		}
	}
	return false
}

// wildcardMatch reports whether s matches pattern, where * matches any run
// of characters (IAM's resource matching without ?).
func wildcardMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}
