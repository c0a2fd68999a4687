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
	Version string      `json:"version"`
	Config  *ir.Gateway `json:"config"`
}

// writeCache replaces the file atomically (write, sync, rename), so a crash
// leaves the old or the new configuration, never half of one.
func writeCache(path string, cfg *ir.Gateway, version string) error {
	b, err := json.Marshal(cached{Version: version, Config: cfg})
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

func readCache(path string) (*ir.Gateway, string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", errNoCache
	}
	if err != nil {
		return nil, "", err
	}
	var c cached
	if err := json.Unmarshal(b, &c); err != nil || c.Config == nil || c.Version == "" {
		return nil, "", fmt.Errorf("cached configuration %s is damaged: %v", path, err)
	}
	return c.Config, c.Version, nil
}
