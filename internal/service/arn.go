package service

import (
	"strings"

	"github.com/meshgate/meshgate/internal/store"
)

// kindTitle is how App Mesh names a kind in messages ("VirtualGateway").
func kindTitle(k store.Kind) string { return strings.ToUpper(string(k[:1])) + string(k[1:]) }
