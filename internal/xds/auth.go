package xds

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/meshgate/meshgate/internal/auth"
	"github.com/meshgate/meshgate/internal/gateway/tlsfiles"
	"github.com/meshgate/meshgate/internal/model"
)

// Authentication and authorization of proxies on the TCP listener.
//
// Every stream and every unary call passes two gRPC interceptors before any
// handler runs (the CVE-2026-53714 lesson: a stream interceptor alone left
// go-control-plane's unary Fetch* open). The first (authenticate) finds who
// the caller is from its client certificate, its bearer token or its SigV4
// signature, and refuses the call with 16 UNAUTHENTICATED when it proves
// nothing. The second (authorize) checks the node of every request against
// what that caller may be: a node.id naming a gateway the caller may not
// stream ends the call with 7 PERMISSION_DENIED. The stream callbacks check
// the first request again before the cache sees it, pin node.id for the
// stream's life, and serve from the snapshot of that gateway only.
//
// The unix socket is a local relay (App Mesh's unix:// mode): its callers
// are trusted as whoever the socket file's permissions let in.

// AuthMode says how the TCP listener authenticates proxies.
type AuthMode string

const (
	// AuthNone trusts node.id: anyone who reaches the port and names an
	// existing gateway gets its configuration.
	AuthNone AuthMode = "none"
	// AuthMTLS requires a client certificate signed by the client CA at the
	// TLS handshake; its SANs name the gateways it may be. Bearer tokens
	// and SigV4 signatures, when configured, are accepted on top of it.
	AuthMTLS AuthMode = "mtls"
	// AuthToken requires a bearer token or a SigV4 signature on each call;
	// a client certificate, when the client CA is configured, also counts.
	AuthToken AuthMode = "token"
)

// ParseAuthMode reads a mode name.
func ParseAuthMode(s string) (AuthMode, error) {
	switch m := AuthMode(strings.ToLower(strings.TrimSpace(s))); m {
	case AuthNone, AuthMTLS, AuthToken:
		return m, nil
	}
	return "", fmt.Errorf("xDS auth mode %q: want none, mtls or token", s)
}

// AuthConfig configures the authentication of the TCP listener.
type AuthConfig struct {
	Mode AuthMode // "" = AuthNone
	// ClientCAFile is a PEM bundle of the CAs that sign proxies'
	// certificates. Required by AuthMTLS; optional with AuthToken.
	ClientCAFile string
	// Tokens are the accepted bearer tokens (WatchTokens: they follow
	// their file; ParseTokens: fixed).
	Tokens *Tokens
	// SigV4, when set, accepts the SigV4 signature the App Mesh Envoy image
	// adds to each call (its aws_iam call credentials), verified against the
	// API's credential file and authorized by its policies
	// (StreamAction on the gateway's ARN).
	SigV4 *auth.Verifier
	// Recheck is how often the client CA file is looked at for changes,
	// and how often open streams notice a new client CA or tokens file
	// (default DefaultRecheck).
	Recheck time.Duration
	// Logger receives the client CA file's reload messages (default
	// slog.Default()).
	Logger *slog.Logger
}

// StreamAction is the IAM action a proxy needs on its gateway, as in App
// Mesh.
const StreamAction = auth.StreamAction

// caller is who a call proved to be: the union of what its credentials
// allow. Every credential a call presents must be valid.
type caller struct {
	names []string // for logs: "cert:…", "token:…", "sigv4:…", "local", "anonymous"
	all   bool     // may be any gateway (auth off, or the unix socket)
	// may report whether one credential allows a gateway (short and full
	// ARN given).
	may []func(short, arn string) bool
	// What the credentials were, to check them again when the tokens file
	// or the client CA changes under an open stream (auth_reload.go).
	token *[32]byte           // the bearer token's SHA-256
	chain []*x509.Certificate // the client certificate chain, leaf first
}

func (c *caller) String() string {
	if c == nil {
		return "nobody"
	}
	return strings.Join(c.names, ",")
}

func (c *caller) allows(id identity, k model.GatewayKey, owner string) bool {
	if c == nil {
		return false
	}
	if c.all {
		return true
	}
	short, arn := k.String(), id.arn(k, owner)
	for _, f := range c.may {
		if f(short, arn) {
			return true
		}
	}
	return false
}

type callerKey struct{}

func callerFrom(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey{}).(*caller)
	return c
}

// authn authenticates calls on one listener.
type authn struct {
	id     identity
	mode   AuthMode
	local  bool // the unix socket: every caller is trusted
	certs  bool // client certificates are verified and count
	tokens *Tokens
	sigv4  *auth.Verifier
	// ca is the client CA bundle in force, shared with the listener's TLS
	// handshakes (watchClientCA); nil without certs.
	ca      *tlsfiles.Files[*x509.CertPool]
	recheck time.Duration
	live    liveStreams // open streams whose credentials may change
}

// errNoCredentials is App Mesh's message for status 16.
const errNoCredentials = "Missing Authentication Token"

// authenticate returns who the call is. fullMethod is the gRPC method
// ("/package.Service/Method"), which a SigV4 signature covers.
func (a *authn) authenticate(ctx context.Context, fullMethod string) (*caller, error) {
	if a.local {
		return &caller{names: []string{"local"}, all: true}, nil
	}
	if a.mode == AuthNone || a.mode == "" {
		return &caller{names: []string{"anonymous"}, all: true}, nil
	}
	c := &caller{}
	if a.certs {
		if chain := verifiedPeerChain(ctx); chain != nil {
			cert := chain[0]
			c.chain = chain
			gws, names := a.id.certGateways(cert)
			c.names = append(c.names, "cert:"+certName(cert, names))
			c.may = append(c.may, func(short, arn string) bool {
				for _, g := range gws {
					if g.key.String() == short && (g.owner == "" || arn == a.id.arn(g.key, g.owner)) {
						return true
					}
				}
				return false
			})
		}
	}
	md, _ := metadata.FromIncomingContext(ctx)
	auths := md.Get("authorization")
	if len(auths) > 1 {
		return nil, status.Error(codes.Unauthenticated, "more than one authorization header")
	}
	if len(auths) == 1 {
		v := auths[0]
		switch scheme, rest, _ := strings.Cut(v, " "); {
		case strings.EqualFold(scheme, "Bearer"):
			if a.tokens == nil {
				return nil, status.Error(codes.Unauthenticated, "bearer tokens are not accepted by this server")
			}
			t, ok := a.tokens.lookup(strings.TrimSpace(rest))
			if !ok {
				return nil, status.Error(codes.Unauthenticated, "the bearer token is not valid")
			}
			c.names = append(c.names, "token:"+t.name)
			// What the token allows is read from the set in force at each
			// check, so a narrowed or revoked token stops allowing at once.
			h, tokens := t.hash, a.tokens
			c.token = &h
			c.may = append(c.may, func(short, arn string) bool {
				cur, ok := tokens.current().find(h)
				return ok && cur.allows(short, arn)
			})
		case scheme == "AWS4-HMAC-SHA256":
			if a.sigv4 == nil {
				return nil, status.Error(codes.Unauthenticated, "SigV4 signatures are not accepted by this server (no --credentials)")
			}
			v := a.sigv4
			cred, err := v.Authenticate(sigV4Request(md, fullMethod), nil)
			if err != nil {
				return nil, status.Error(codes.Unauthenticated, err.Error()) // "CODE: message", as AWS words it
			}
			c.names = append(c.names, "sigv4:"+cred.ARN())
			c.may = append(c.may, func(_, arn string) bool { return v.Authorize(cred, StreamAction, arn) == nil })
		default:
			return nil, status.Error(codes.Unauthenticated, "the authorization header is neither a bearer token nor a SigV4 signature")
		}
	}
	if len(c.names) == 0 {
		return nil, status.Error(codes.Unauthenticated, errNoCredentials)
	}
	return c, nil
}

// verifiedPeerChain is the client's certificate chain as presented (leaf
// first) when the TLS handshake verified it against the client CA.
func verifiedPeerChain(ctx context.Context) []*x509.Certificate {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.PeerCertificates) == 0 {
		return nil
	}
	return ti.State.PeerCertificates
}

func certName(cert *x509.Certificate, sans []string) string {
	if len(sans) > 0 {
		return strings.Join(sans, "|")
	}
	return "CN=" + cert.Subject.CommonName
}

// certGateways returns the gateways a certificate's SANs name, and those
// SANs. A SAN (URI or DNS) names gateway G of mesh M when it is:
//
//   - the short ARN mesh/M/virtualGateway/G (mesh/M@ACCOUNT/… with this
//     server's account),
//   - the full ARN arn:aws:appmesh:REGION:ACCOUNT:mesh/M/virtualGateway/G
//     with this server's region and account, or
//   - a URI with a host (spiffe://TRUST-DOMAIN/…) whose path ends with
//     the segments /mesh/M/virtualGateway/G.
//
// The subject's common name is not read. Wildcards are not expanded.
func (id identity) certGateways(cert *x509.Certificate) ([]gatewayClaim, []string) {
	var out []gatewayClaim
	var names []string
	try := func(v string) {
		if k, owner, err := id.claim(v); err == nil {
			out = append(out, gatewayClaim{k, owner})
			names = append(names, v)
		}
	}
	for _, d := range cert.DNSNames {
		try(d)
	}
	for _, u := range cert.URIs {
		s := u.String()
		if u.Host != "" {
			// spiffe://td/any/prefix/mesh/M/virtualGateway/G
			segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
			if len(segs) >= 4 && u.RawQuery == "" && u.Fragment == "" {
				tail := segs[len(segs)-4:]
				for i, sg := range tail {
					if uq, err := url.PathUnescape(sg); err == nil {
						tail[i] = uq
					}
				}
				if tail[0] == "mesh" && tail[2] == "virtualGateway" && !strings.ContainsAny(tail[1]+tail[3], "*/") {
					if k, owner, err := id.claim(strings.Join(tail, "/")); err == nil {
						out = append(out, gatewayClaim{k, owner})
						names = append(names, s)
					}
				}
			}
			continue
		}
		try(s) // arn:aws:appmesh:… (an opaque URI) or a relative mesh/… reference
	}
	return out, names
}

// gatewayClaim is a gateway a SAN names, with the owner it states ("" for
// none).
type gatewayClaim struct {
	key   model.GatewayKey
	owner string
}

// checkNode says whether the caller may be node: 3 for a node id that is
// not a gateway of this server (or states an owner that is not the
// gateway's), 7 for one it may not be. The caller is authorized on the
// gateway's ARN in its owner's account, so a credential of another
// account never streams it (auth.Verifier.Authorize).
func (s *Server) checkNode(ctx context.Context, c *caller, node *core.Node) (model.GatewayKey, error) {
	k, claimed, err := s.id.claim(node.GetId())
	if err != nil {
		return k, status.Error(codes.InvalidArgument, err.Error())
	}
	if c == nil {
		return k, status.Error(codes.Unauthenticated, errNoCredentials)
	}
	owner, err := s.sync.owner(ctx, k)
	if err != nil {
		return k, status.Errorf(codes.Unavailable, "cannot look up %s: %v", k, err)
	}
	switch {
	case owner == "":
		// No such gateway (yet): authorize as if it were the stated
		// owner's, or this server's; identify answers 3 if it stays absent.
		owner = cmp.Or(claimed, s.id.account)
	case claimed != "" && claimed != owner:
		return k, status.Errorf(codes.InvalidArgument, "node.id %q names account %s, which does not own %s", node.GetId(), claimed, k)
	}
	if !c.allows(s.id, k, owner) {
		return k, status.Errorf(codes.PermissionDenied, "%s is not authorized to perform %s on resource %s (node.id %q)",
			c, StreamAction, s.id.arn(k, owner), node.GetId())
	}
	return k, nil
}

// interceptors returns the authentication and authorization interceptors
// of one listener. The stream one runs inside streamInterceptor, whose
// handle it uses to end a stream with its own status.
func (s *Server) interceptors(a *authn) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		c, err := a.authenticate(ctx, info.FullMethod)
		if err != nil {
			s.refuse(ctx, nil, nodeOf(req).GetId(), info.FullMethod, err)
			return nil, err
		}
		// Every unary method of the xDS services carries the node: one
		// that does not is refused rather than served unchecked.
		if _, err := s.checkNode(ctx, c, nodeOf(req)); err != nil {
			s.refuse(ctx, c, nodeOf(req).GetId(), info.FullMethod, err)
			return nil, err
		}
		return handler(context.WithValue(ctx, callerKey{}, c), req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		c, err := a.authenticate(ss.Context(), info.FullMethod)
		if err != nil {
			s.refuse(ss.Context(), nil, "", info.FullMethod, err)
			return err
		}
		as := &authStream{ServerStream: ss, ctx: context.WithValue(ss.Context(), callerKey{}, c),
			s: s, c: c, method: info.FullMethod}
		// A stream lives for hours: when the tokens file or the client CA
		// changes under it, its credentials are checked again.
		if untrack, err := a.track(as); err != nil {
			return err
		} else if untrack != nil {
			defer untrack()
		}
		return handler(srv, as)
	}
	return unary, stream
}

func nodeOf(req any) *core.Node {
	if n, ok := req.(interface{ GetNode() *core.Node }); ok {
		return n.GetNode()
	}
	return nil
}

// authStream checks the node of every request a stream receives, before
// go-control-plane sees it.
type authStream struct {
	grpc.ServerStream
	ctx    context.Context
	s      *Server
	c      *caller
	method string
	// node is the first node.id the stream was allowed to be: what a
	// re-check of its credentials authorizes again.
	node atomic.Pointer[string]
}

func (a *authStream) Context() context.Context { return a.ctx }

func (a *authStream) RecvMsg(m any) error {
	if err := a.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	node := nodeOf(m)
	if node == nil {
		return nil // later requests leave it out; the stream is pinned
	}
	if _, err := a.s.checkNode(a.ctx, a.c, node); err != nil {
		a.s.refuse(a.ctx, a.c, node.GetId(), a.method, err)
		if h := handleFrom(a.ctx); h != nil {
			h.kill(err)
		}
		return err
	}
	id := node.GetId()
	a.node.CompareAndSwap(nil, &id)
	return nil
}

// refuse logs and counts a refused call: the audit trail of who tried to be
// which gateway.
func (s *Server) refuse(ctx context.Context, c *caller, nodeID, method string, err error) {
	s.audit(ctx, "xds request refused", c, nodeID, method, err)
}

// audit logs and counts a refused call or a stream ended for its
// credentials.
func (s *Server) audit(ctx context.Context, msg string, c *caller, nodeID, method string, err error) {
	code := status.Code(err)
	s.m.rejected.WithLabelValues(code.String()).Inc()
	addr := ""
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		addr = p.Addr.String()
	}
	s.log.Warn(msg, "node", nodeID, "code", fmt.Sprintf("%d %s", code, code),
		"error", status.Convert(err).Message(), "caller", c.String(), "peer", addr, "method", method)
}

// newAuthn checks an AuthConfig.
func newAuthn(id identity, cfg AuthConfig) (*authn, error) {
	a := &authn{id: id, mode: cfg.Mode, tokens: cfg.Tokens, sigv4: cfg.SigV4, recheck: cfg.Recheck}
	if a.recheck <= 0 {
		a.recheck = DefaultRecheck
	}
	if a.mode == "" {
		a.mode = AuthNone
	}
	if _, err := ParseAuthMode(string(a.mode)); err != nil {
		return nil, err
	}
	a.certs = cfg.ClientCAFile != ""
	switch a.mode {
	case AuthMTLS:
		if cfg.ClientCAFile == "" {
			return nil, errors.New("xDS auth mtls: a client CA (--xds-client-ca) is required")
		}
	case AuthToken:
		if cfg.Tokens == nil && cfg.SigV4 == nil {
			return nil, errors.New("xDS auth token: a tokens file (--xds-tokens) or a credentials file (--credentials) is required")
		}
	}
	if a.certs {
		a.ca = watchClientCA(cfg.ClientCAFile, a.recheck, cfg.Logger)
		if _, err := a.ca.Get(); err != nil {
			return nil, fmt.Errorf("xds client CA %s: %w", cfg.ClientCAFile, err)
		}
	}
	return a, nil
}
