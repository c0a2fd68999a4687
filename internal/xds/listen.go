package xds

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"
)

// SocketMode is the xDS unix socket's permission bits.
const SocketMode fs.FileMode = 0o660

// ListenUnix listens on a unix socket at path, creating its folder. A
// socket file left behind by a process that died is replaced; a socket
// something still answers on is not (two servers on one socket would
// split the proxies between them).
func ListenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("xds socket %s: %w", path, err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("xds socket %s: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("xds socket %s: another process is listening on it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("xds socket %s: removing the stale socket: %w", path, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("xds socket %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("xds socket: %w", err)
	}
	// The socket is plaintext and unauthenticated: a local relay, like App
	// Mesh's unix:// mode. Connecting takes write permission on it, so its
	// mode is what protects it: the owner and the owner's group (0660).
	// Envoy usually runs as another user (1337 in the App Mesh image) in
	// another container that gets the socket by a bind mount: give that
	// user meshgate's group (docker run --group-add), and keep the folder
	// closed to everyone else.
	if err := os.Chmod(path, SocketMode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("xds socket %s: %w", path, err)
	}
	// Go removes the socket file when the listener closes.
	return ln, nil
}
