package xds

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/tlsfiles"
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
//
// Tokens from WatchTokens follow their file: a new version replaces the
// whole set at once (the next lookup sees it), and a version that does not
// parse leaves the last good set in force. Open streams are checked
// against a new set by the listener (auth_reload.go).
type Tokens struct {
	fixed *tokenSet                  // ParseTokens
	file  *tlsfiles.Files[*tokenSet] // WatchTokens
}

// tokenSet is one version of the tokens, never changed once built.
type tokenSet struct {
	byHash map[[32]byte]*token
}

type token struct {
	name      string
	hash      [32]byte
	resources []string
}

// MinTokenLength is the shortest token accepted: 16 characters.
const MinTokenLength = 16

// DefaultRecheck is how often a watched tokens file or client CA bundle is
// looked at for changes: the gateway's certificate files' interval.
const DefaultRecheck = tlsfiles.CheckEvery

type tokensFile struct {
	Tokens []struct {
		Name      string   `json:"name"`
		Token     string   `json:"token"`
		Resources []string `json:"resources"`
	} `json:"tokens"`
}

// WatchTokens reads a tokens file, and reads it again whenever its
// modification time or size changes, looked at no more than once per
// every (DefaultRecheck when 0) when tokens are looked up or open streams
// are checked. The first read must succeed. Later failures (a file that
// is missing, half written or does not parse) keep the last good set and
// are logged once each; errors never quote the file, so no token reaches
// a log.
func WatchTokens(file string, every time.Duration, log *slog.Logger) (*Tokens, error) {
	if every <= 0 {
		every = DefaultRecheck
	}
	if log == nil {
		log = slog.Default()
	}
	f := tlsfiles.Watch([]string{file}, every, log.With("files", "xDS tokens", "file", file),
		func(contents [][]byte) (*tokenSet, error) { return parseTokenSet(contents[0]) })
	if _, err := f.Get(); err != nil {
		return nil, fmt.Errorf("xds tokens %s: %w", file, err)
	}
	return &Tokens{file: f}, nil
}

// ParseTokens reads the JSON of a tokens file.
func ParseTokens(b []byte) (*Tokens, error) {
	s, err := parseTokenSet(b)
	if err != nil {
		return nil, err
	}
	return &Tokens{fixed: s}, nil
}

func parseTokenSet(b []byte) (*tokenSet, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f tokensFile
	if err := dec.Decode(&f); err != nil {
		return nil, jsonError(err, dec.InputOffset())
	}
	if len(f.Tokens) == 0 {
		return nil, errors.New(`no token: want {"tokens":[{"token":"…","resources":["mesh/M/virtualGateway/G"]}]}`)
	}
	out := &tokenSet{byHash: map[[32]byte]*token{}}
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

// jsonError describes a decoding error without quoting the input:
// encoding/json's messages can carry a character of a token (a syntax
// error) or a member name (an unknown member), and these errors are
// logged when a reload fails.
func jsonError(err error, offset int64) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("not valid JSON (at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Errorf("member %s has the wrong type (at byte %d): want a %s", cmp.Or(typ.Field, "(top level)"), typ.Offset, typ.Type)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("not valid JSON: the file is empty or cut short")
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return fmt.Errorf("an unknown member (at byte %d): want name, token and resources", offset)
	}
	return fmt.Errorf("not a tokens file (at byte %d)", offset)
}

// current is the set in force: the last good version of a watched file.
func (t *Tokens) current() *tokenSet {
	if t == nil {
		return nil
	}
	if t.file != nil {
		s, _ := t.file.Get() // loaded by WatchTokens; errors keep the last good set
		return s
	}
	return t.fixed
}

// Len is how many tokens there are.
func (t *Tokens) Len() int {
	if s := t.current(); s != nil {
		return len(s.byHash)
	}
	return 0
}

// lookup finds a presented token in the current set.
func (t *Tokens) lookup(presented string) (*token, bool) {
	return t.current().lookup(presented)
}

// lookup finds a presented token. The map is keyed by the token's SHA-256,
// so the time a lookup takes says nothing about the tokens; the final
// compare is constant-time all the same.
func (s *tokenSet) lookup(presented string) (*token, bool) {
	if s == nil || presented == "" {
		return nil, false
	}
	h := sha256.Sum256([]byte(presented))
	e, ok := s.byHash[h]
	if !ok || subtle.ConstantTimeCompare(e.hash[:], h[:]) != 1 {
		return nil, false
	}
	return e, true
}

// find finds a token by its hash: what a stream authenticated with, in
// the set now in force.
func (s *tokenSet) find(h [32]byte) (*token, bool) {
	if s == nil {
		return nil, false
	}
	e, ok := s.byHash[h]
	return e, ok
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
