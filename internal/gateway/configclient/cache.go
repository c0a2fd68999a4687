package configclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/meshgate/meshgate/internal/ir"
)

var errNoCache = errors.New("no cached configuration")

type cached struct {
	Version string          `json:"version"`
	Config  json.RawMessage `json:"config"` // the IR's JSON form
}

// writeCache replaces the file atomically (write, sync, rename), so a crash
// leaves the old or the new configuration, never half of one. raw is the
// IR's JSON form.
func writeCache(path string, raw []byte, version string) error {
	b, err := json.Marshal(cached{Version: version, Config: raw})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gateway-config-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// readCache returns the cached IR, its JSON form and its version.
func readCache(path string) (cfg *ir.Gateway, raw []byte, version string, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, "", errNoCache
	}
	if err != nil {
		return nil, nil, "", err
	}
	var c cached
	if err := json.Unmarshal(b, &c); err != nil || len(c.Config) == 0 || c.Version == "" {
		return nil, nil, "", fmt.Errorf("cached configuration %s is damaged: %v", path, err)
	}
	cfg = new(ir.Gateway)
	if err := json.Unmarshal(c.Config, cfg); err != nil {
		return nil, nil, "", fmt.Errorf("cached configuration %s is damaged: %v", path, err)
	}
	return cfg, c.Config, c.Version, nil
}
