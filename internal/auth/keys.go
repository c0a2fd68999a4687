package auth

import (
	"context"
	"log/slog"
	"time"
)

// Keys is the credential store, the credential file read by File.
type Keys struct {
	f *File[map[string]*Credential]
}

func keyCount(m *map[string]*Credential) int { return len(*m) }

func parseKeyFile(data []byte) (*map[string]*Credential, error) {
	byID, err := parseCredentials(data)
	if err != nil {
		return nil, err
	}
	return &byID, nil
}

// LoadKeys reads the credential file at path.
func LoadKeys(path string) (*Keys, error) {
	f, err := LoadFile(path, "credentials", parseKeyFile, keyCount)
	if err != nil {
		return nil, err
	}
	return &Keys{f: f}, nil
}

// ParseKeys is a store read from data rather than a file; Reload fails on it.
func ParseKeys(data []byte) (*Keys, error) {
	byID, err := parseKeyFile(data)
	if err != nil {
		return nil, err
	}
	return &Keys{f: staticFile("credentials", byID, keyCount)}, nil
}

// Lookup returns the credential with this access key id.
func (k *Keys) Lookup(accessKeyID string) (*Credential, bool) {
	c, ok := (*k.f.Load())[accessKeyID]
	return c, ok
}

// Len is the number of credentials.
func (k *Keys) Len() int { return keyCount(k.f.Load()) }

// Path is the credential file's path.
func (k *Keys) Path() string { return k.f.Path() }

// Reload reads the file again. A file that no longer parses leaves the
// credentials as they were: locking every client out because of a typo
// would be worse than keeping the last good set for a while.
func (k *Keys) Reload() (changed bool, err error) { return k.f.Reload() }

// Watch reloads the file whenever it changes (File.Watch).
func (k *Keys) Watch(ctx context.Context, interval time.Duration, log *slog.Logger) {
	k.f.Watch(ctx, interval, log)
}

// ReloadAndLog reloads at an operator's request (SIGHUP).
func (k *Keys) ReloadAndLog(log *slog.Logger, why string) { k.f.ReloadAndLog(log, why) }

// Credentials lists the credentials in no particular order.
func (k *Keys) Credentials() []*Credential {
	m := *k.f.Load()
	out := make([]*Credential, 0, len(m))
	for _, c := range m {
		out = append(out, c)
	}
	return out
}
