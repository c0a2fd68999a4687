package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// The mesh-sharing file, as documented in docs/security.md: what AWS RAM
// resource shares did for App Mesh. A mesh's owner shares it with consumer
// accounts:
//
//	{"shares": [{
//	    "meshName": "shared",
//	    "meshOwner": "111122223333",
//	    "consumers": ["444455556666"]
//	}]}
//
// meshOwner must be the account that owns the mesh: a share does not carry
// over to a mesh of the same name created later by another account.
type sharesJSON struct {
	Shares []shareJSON `json:"shares"`
}

type shareJSON struct {
	MeshName    string   `json:"meshName"`
	MeshOwner   string   `json:"meshOwner"`
	Consumers   []string `json:"consumers"`
	Description string   `json:"description"`
}

// shareKey names a shared mesh and one of its consumers.
type shareKey struct{ mesh, owner, consumer string }

// Shares is the mesh-sharing file. It implements service.Sharing.
type Shares struct {
	f *File[map[shareKey]bool]
}

func shareCount(m *map[shareKey]bool) int { return len(*m) }

// LoadShares reads the mesh-sharing file at path.
func LoadShares(path string) (*Shares, error) {
	f, err := LoadFile(path, "mesh shares", parseShares, shareCount)
	if err != nil {
		return nil, err
	}
	return &Shares{f: f}, nil
}

// ParseShares is a sharing read from data rather than a file.
func ParseShares(data []byte) (*Shares, error) {
	m, err := parseShares(data)
	if err != nil {
		return nil, err
	}
	return &Shares{f: staticFile("mesh shares", m, shareCount)}, nil
}

// Len is the number of (mesh, consumer) pairs shared.
func (s *Shares) Len() int { return shareCount(s.f.Load()) }

// Watch reloads the file whenever it changes (File.Watch).
func (s *Shares) Watch(ctx context.Context, interval time.Duration, log *slog.Logger) {
	s.f.Watch(ctx, interval, log)
}

// ReloadAndLog reloads at an operator's request (SIGHUP).
func (s *Shares) ReloadAndLog(log *slog.Logger, why string) { s.f.ReloadAndLog(log, why) }

// SharedWith reports whether mesh, owned by owner, is shared with account.
func (s *Shares) SharedWith(mesh, owner, account string) bool {
	if s == nil {
		return false
	}
	return (*s.f.Load())[shareKey{mesh, owner, account}]
}

func parseShares(data []byte) (*map[shareKey]bool, error) {
	var f sharesJSON
	if err := decodeFile(data, &f); err != nil {
		return nil, fmt.Errorf("not a mesh-sharing file: %w", err)
	}
	if f.Shares == nil {
		return nil, errors.New(`not a mesh-sharing file: want {"shares":[{"meshName":...,"meshOwner":...,"consumers":[...]}]}`)
	}
	m := map[shareKey]bool{}
	for i, sh := range f.Shares {
		if sh.MeshName == "" || len(sh.MeshName) > 255 {
			return nil, fmt.Errorf("shares[%d]: meshName: want 1 to 255 characters", i)
		}
		if !accountPattern.MatchString(sh.MeshOwner) {
			return nil, fmt.Errorf("shares[%d] %s: meshOwner: want 12 digits", i, sh.MeshName)
		}
		if len(sh.Consumers) == 0 {
			return nil, fmt.Errorf("shares[%d] %s: consumers: want at least one account", i, sh.MeshName)
		}
		for j, c := range sh.Consumers {
			switch {
			case !accountPattern.MatchString(c):
				return nil, fmt.Errorf("shares[%d] %s: consumers[%d]: want 12 digits", i, sh.MeshName, j)
			case c == sh.MeshOwner:
				return nil, fmt.Errorf("shares[%d] %s: consumers[%d]: the owner %s cannot be a consumer of its own mesh", i, sh.MeshName, j, c)
			}
			m[shareKey{sh.MeshName, sh.MeshOwner, c}] = true
		}
	}
	return &m, nil
}
