package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
)

// The credential file, as documented in docs/security.md:
//
//	{"credentials": [{
//	    "accessKeyId": "AKIAMESHGATEEXAMPLE1",
//	    "secretAccessKey": "...",
//	    "accountId": "111122223333",
//	    "policy": [{"effect": "Allow", "action": ["appmesh:*"], "resource": ["*"]}]
//	}]}
//
// Member names match case-insensitively (encoding/json), so statements
// copied from an IAM policy ("Effect", "Action", "Resource") read as they
// are, and policy may also be a whole IAM policy document
// ({"Version": ..., "Statement": [...]}). Statement members meshgate does
// not enforce (Condition, NotAction, NotResource, Principal) are refused
// rather than ignored. The xDS server reads the same file.
type fileJSON struct {
	Credentials []credentialJSON `json:"credentials"`
}

type credentialJSON struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken"`
	AccountID       string `json:"accountId"`
	// Principal names the key in the xDS server's logs; the API names a
	// caller by its access key id, as AccessDenied messages show.
	Principal   string     `json:"principal"`
	Description string     `json:"description"`
	Policy      policyJSON `json:"policy"`
}

// policyJSON reads a list of statements or an IAM policy document.
type policyJSON []statementJSON

func (p *policyJSON) UnmarshalJSON(b []byte) error {
	var list []statementJSON
	if err := strictUnmarshal(b, &list); err == nil {
		*p = list
		return nil
	} else if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		return err
	}
	var doc struct {
		Version   string         `json:"version"`
		ID        string         `json:"id"`
		Statement statementsJSON `json:"statement"`
	}
	if err := strictUnmarshal(b, &doc); err != nil {
		return err
	}
	*p = policyJSON(doc.Statement)
	return nil
}

// statementsJSON is IAM's Statement: one statement or a list of them.
type statementsJSON []statementJSON

func (s *statementsJSON) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		var one statementJSON
		if err := strictUnmarshal(b, &one); err != nil {
			return err
		}
		*s = statementsJSON{one}
		return nil
	}
	var many []statementJSON
	if err := strictUnmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// strictUnmarshal refuses unknown members even below a custom
// UnmarshalJSON, where the outer decoder's setting does not reach.
// decodeFile reads a whole configuration file into v: unknown members and
// anything after the JSON object are refused.
func decodeFile(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

type statementJSON struct {
	Sid      string     `json:"sid"`
	Effect   string     `json:"effect"`
	Action   stringList `json:"action"`
	Resource stringList `json:"resource"`
}

// stringList reads a JSON string or array of strings, as IAM does for
// Action and Resource.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("want a string or a list of strings")
	}
	*l = many
	return nil
}

// MinSecretLength is the shortest secret access key accepted: AWS's are
// 40 characters, and a short one can be guessed offline from a single
// signed request.
const MinSecretLength = 16

var (
	accessKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_+=,.@-]{4,128}$`)
	accountPattern   = regexp.MustCompile(`^[0-9]{12}$`)
)

// Credential is one access key of the credential file with its policy.
type Credential struct {
	AccessKeyID string
	AccountID   string
	// The secret parts sit behind a pointer so that printing a Credential
	// with %v shows an address, not the key.
	secret *secretParts
	policy policy
}

type secretParts struct {
	secretAccessKey string
	sessionToken    string // "" means the key takes no session token
}

// ARN is the caller's identity in AccessDenied messages and logs. meshgate
// has no IAM users, so the access key id stands in for the user name.
func (c *Credential) ARN() string { return "arn:aws:iam::" + c.AccountID + ":user/" + c.AccessKeyID }

// LogValue keeps the secret parts out of structured logs.
func (c *Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("accessKeyId", c.AccessKeyID), slog.String("account", c.AccountID))
}

// parseCredentials reads and checks a credential file. Errors name the
// credential by position and access key id, never by secret.
func parseCredentials(data []byte) (map[string]*Credential, error) {
	var f fileJSON
	if err := decodeFile(data, &f); err != nil {
		return nil, fmt.Errorf("not a credential file: %w", err)
	}
	if len(f.Credentials) == 0 {
		return nil, errors.New(`no credentials: want {"credentials":[{"accessKeyId":...}]}`)
	}
	byID := make(map[string]*Credential, len(f.Credentials))
	for i, cj := range f.Credentials {
		c, err := compileCredential(cj)
		if err != nil {
			return nil, fmt.Errorf("credentials[%d] %s: %w", i, printableKeyID(cj.AccessKeyID), err)
		}
		if byID[c.AccessKeyID] != nil {
			return nil, fmt.Errorf("credentials[%d]: access key id %s appears twice", i, c.AccessKeyID)
		}
		byID[c.AccessKeyID] = c
	}
	return byID, nil
}

func compileCredential(cj credentialJSON) (*Credential, error) {
	if !accessKeyPattern.MatchString(cj.AccessKeyID) {
		return nil, errors.New("accessKeyId: want 4 to 128 letters, digits or _+=,.@-")
	}
	if len(cj.SecretAccessKey) < MinSecretLength {
		return nil, fmt.Errorf("secretAccessKey: want at least %d characters", MinSecretLength)
	}
	if strings.TrimSpace(cj.SecretAccessKey) != cj.SecretAccessKey {
		return nil, errors.New("secretAccessKey: has leading or trailing white space")
	}
	if !accountPattern.MatchString(cj.AccountID) {
		return nil, errors.New("accountId: want 12 digits")
	}
	c := &Credential{
		AccessKeyID: cj.AccessKeyID,
		AccountID:   cj.AccountID,
		secret:      &secretParts{secretAccessKey: cj.SecretAccessKey, sessionToken: cj.SessionToken},
	}
	for j, sj := range cj.Policy {
		st, err := compileStatement(sj)
		if err != nil {
			return nil, fmt.Errorf("policy[%d]: %w", j, err)
		}
		c.policy = append(c.policy, st)
	}
	return c, nil
}

// printableKeyID is an access key id fit for an error message about a file
// that may be malformed, say with the secret pasted in the wrong member.
func printableKeyID(id string) string {
	if accessKeyPattern.MatchString(id) && len(id) <= 32 {
		return id
	}
	return "(bad accessKeyId)"
}
