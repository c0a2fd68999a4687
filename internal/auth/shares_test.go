package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseShares(t *testing.T) {
	cases := []struct {
		name, file, err string
	}{
		{"one share", `{"shares":[{"meshName":"m","meshOwner":"111122223333","consumers":["444455556666","777788889999"],"description":"team b"}]}`, ""},
		{"nothing shared", `{"shares":[]}`, ""},
		{"no shares member", `{}`, "want {\"shares\""},
		{"unknown member", `{"shares":[{"meshName":"m","meshOwner":"111122223333","consumers":["444455556666"],"principals":["*"]}]}`, "unknown field"},
		{"trailing data", `{"shares":[]} {}`, "data after the JSON object"},
		{"no mesh", `{"shares":[{"meshOwner":"111122223333","consumers":["444455556666"]}]}`, "meshName"},
		{"bad owner", `{"shares":[{"meshName":"m","meshOwner":"11112222333","consumers":["444455556666"]}]}`, "meshOwner: want 12 digits"},
		{"no consumers", `{"shares":[{"meshName":"m","meshOwner":"111122223333","consumers":[]}]}`, "want at least one account"},
		{"bad consumer", `{"shares":[{"meshName":"m","meshOwner":"111122223333","consumers":["*"]}]}`, "consumers[0]: want 12 digits"},
		{"owner as consumer", `{"shares":[{"meshName":"m","meshOwner":"111122223333","consumers":["111122223333"]}]}`, "cannot be a consumer of its own mesh"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sh, err := ParseShares([]byte(tc.file))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "one share" {
				for _, c := range []struct {
					mesh, owner, account string
					want                 bool
				}{
					{"m", "111122223333", "444455556666", true},
					{"m", "111122223333", "777788889999", true},
					{"m", "111122223333", "000000000000", false},
					{"m", "999999999999", "444455556666", false}, // same name, other owner
					{"n", "111122223333", "444455556666", false},
				} {
					if got := sh.SharedWith(c.mesh, c.owner, c.account); got != c.want {
						t.Errorf("SharedWith(%s, %s, %s) = %v", c.mesh, c.owner, c.account, got)
					}
				}
			}
		})
	}
	var none *Shares
	if none.SharedWith("m", "111122223333", "444455556666") {
		t.Error("nil Shares shares something")
	}
}

// TestSharesReload: a changed file takes effect; a broken one keeps the
// last good shares.
func TestSharesReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shares.json")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"shares":[{"meshName":"m","meshOwner":"111122223333","consumers":["444455556666"]}]}`)
	sh, err := LoadShares(path)
	if err != nil {
		t.Fatal(err)
	}
	write(`{"shares":[]}`)
	if changed, err := sh.f.Reload(); !changed || err != nil {
		t.Fatalf("reload: %v %v", changed, err)
	}
	if sh.SharedWith("m", "111122223333", "444455556666") {
		t.Fatal("an unshared mesh is still shared")
	}
	write(`{"shares":[{"meshName":"m","meshOwner":"111122223333","consumers":["444455556666"]}]}`)
	sh.f.Reload()
	write(`{"shares":[`)
	if _, err := sh.f.Reload(); err == nil {
		t.Fatal("a broken file reloaded")
	}
	if !sh.SharedWith("m", "111122223333", "444455556666") {
		t.Fatal("a broken file dropped the shares")
	}
}
