package auth

import (
	"fmt"
	"strings"

	"github.com/meshgate/meshgate/internal/appmesh"
)

// decision is the outcome of evaluating a policy for one request.
type decision int

const (
	implicitDeny decision = iota // no statement allows it: IAM's default
	allowed
	explicitDeny // a Deny statement matches: nothing overrides it
)

// statement is one compiled policy statement. Actions are kept lower-cased
// because IAM matches action names case-insensitively; resources keep
// their case because ARNs are compared case-sensitively.
type statement struct {
	deny      bool
	actions   []string
	resources []string
}

// policy is a credential's identity policy.
type policy []statement

// evaluate applies IAM's evaluation logic for a single identity policy:
// an explicit Deny wins, otherwise any Allow allows, otherwise deny.
func (p policy) evaluate(action, resource string) decision {
	action = strings.ToLower(action)
	d := implicitDeny
	for _, st := range p {
		if !anyMatch(st.actions, action) || !anyMatch(st.resources, resource) {
			continue
		}
		if st.deny {
			return explicitDeny
		}
		d = allowed
	}
	return d
}

func anyMatch(patterns []string, s string) bool {
	for _, p := range patterns {
		if match(p, s) {
			return true
		}
	}
	return false
}

// compileStatement checks one statement of the credential file. It refuses
// rather than ignores anything it cannot enforce, because a silently
// dropped Deny or condition would grant more than the author meant.
func compileStatement(st statementJSON) (statement, error) {
	var out statement
	switch st.Effect {
	case "Allow":
	case "Deny":
		out.deny = true
	case "":
		return out, fmt.Errorf("effect is missing: want Allow or Deny")
	default:
		return out, fmt.Errorf("effect %q: want Allow or Deny", st.Effect)
	}
	if len(st.Action) == 0 {
		return out, fmt.Errorf("action is missing")
	}
	for _, a := range st.Action {
		la, err := compileAction(a)
		if err != nil {
			return out, err
		}
		out.actions = append(out.actions, la)
	}
	if len(st.Resource) == 0 {
		return out, fmt.Errorf("resource is missing: use \"*\" for every resource")
	}
	for _, r := range st.Resource {
		if r != "*" && !strings.HasPrefix(r, "arn:") {
			return out, fmt.Errorf("resource %q: want \"*\" or an ARN pattern (arn:aws:appmesh:REGION:ACCOUNT:mesh/...)", r)
		}
		out.resources = append(out.resources, r)
	}
	return out, nil
}

// compileAction lower-cases an action pattern after checking that it can
// match at least one App Mesh operation: a typo in a Deny would otherwise
// deny nothing and nobody would notice.
func compileAction(a string) (string, error) {
	la := strings.ToLower(a)
	if la != "*" && !strings.HasPrefix(la, "appmesh:") {
		return "", fmt.Errorf("action %q: only appmesh:OPERATION actions (with * and ? wildcards) apply to meshgate", a)
	}
	for _, known := range knownActions {
		if match(la, known) {
			return la, nil
		}
	}
	return "", fmt.Errorf("action %q matches no App Mesh action", a)
}

// knownActions are the lower-cased App Mesh IAM actions meshgate
// enforces: one per API operation, and the xDS stream's.
var knownActions = func() []string {
	out := []string{"appmesh:streamaggregatedresources"}
	for _, op := range appmesh.Operations {
		out = append(out, "appmesh:"+strings.ToLower(op.Name))
	}
	return out
}()
