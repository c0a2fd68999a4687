// Package echo is a test backend that reports what it received: the node
// it plays, method, path with query, Host, headers and protocol, for HTTP/1.1,
// HTTP/2 (h2c and TLS) and gRPC (unary and streaming), and it echoes
// upgraded (websocket) connections byte for byte. Tests put one on each
// 127.0.0.x address a scenario's nodes resolve to.
package echo

import (
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Reply is what the backend saw.
type Reply struct {
	Node   string      `json:"node"`
	Addr   string      `json:"addr"` // the address it listens on
	Method string      `json:"method"`
	Path   string      `json:"path"` // request URI: path and query as received
	Host   string      `json:"host"`
	Proto  string      `json:"proto"`
	TLS    bool        `json:"tls"`
	Header http.Header `json:"header"`
}

// Server is one running echo backend.
type Server struct {
	Node     string
	Addr     string
	Requests atomic.Int64
	// Status, when set, is the status of plain HTTP replies (for retry and
	// outlier tests).
	Status atomic.Int32
	srv    *http.Server
}

// Start listens on addr ("127.0.1.11:9080") and serves until the test ends.
// tlsCfg, when not nil, serves TLS (with ALPN h2 and http/1.1).
func Start(t testing.TB, node, addr string, tlsCfg *tls.Config) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("echo %s on %s: %v", node, addr, err)
	}
	s := &Server{Node: node, Addr: ln.Addr().String()}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	s.srv = &http.Server{Handler: s, Protocols: &p, ReadHeaderTimeout: 10 * time.Second}
	if tlsCfg != nil {
		cfg := tlsCfg.Clone()
		cfg.NextProtos = []string{"h2", "http/1.1"}
		s.srv.TLSConfig = cfg
		ln = tls.NewListener(ln, cfg)
	}
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	reply := Reply{Node: s.Node, Addr: s.Addr, Method: r.Method, Path: r.RequestURI, Host: r.Host,
		Proto: r.Proto, TLS: r.TLS != nil, Header: r.Header}
	switch {
	case strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc"):
		s.grpc(w, r, reply)
	case r.Header.Get("Upgrade") != "":
		s.upgrade(w, r)
	default:
		body, _ := json.Marshal(reply)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo-Node", s.Node)
		if st := s.Status.Load(); st != 0 {
			w.WriteHeader(int(st))
		}
		w.Write(body)
	}
}

// grpc answers a gRPC call: each request message is answered with a
// message holding the Reply as JSON followed by the request message, so a
// bidirectional stream echoes as it goes; then grpc-status 0.
func (s *Server) grpc(w http.ResponseWriter, r *http.Request, reply Reply) {
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.EnableFullDuplex()
	info, _ := json.Marshal(reply)
	if r.URL.Path == "/grpc.health.v1.Health/Check" {
		ReadFrame(r.Body)
		w.Write(Frame([]byte{0x08, 0x01})) // HealthCheckResponse{status: SERVING}
		rc.Flush()
		w.Header().Set("Grpc-Status", "0")
		return
	}
	for {
		msg, err := ReadFrame(r.Body)
		if err != nil {
			break
		}
		out := append(append(append([]byte{}, info...), '\n'), msg...)
		w.Write(Frame(out))
		rc.Flush()
	}
	w.Header().Set("Grpc-Status", "0")
	w.Header().Set("Grpc-Message", "")
}

// upgrade accepts any upgrade (websocket) and echoes the raw bytes.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + r.Header.Get("Upgrade") + "\r\nX-Echo-Node: " + s.Node + "\r\n\r\n")
	brw.Flush()
	io.Copy(conn, brw)
}

// Frame wraps a gRPC message in its 5-byte length prefix.
func Frame(msg []byte) []byte {
	b := make([]byte, 5+len(msg))
	binary.BigEndian.PutUint32(b[1:5], uint32(len(msg)))
	copy(b[5:], msg)
	return b
}

// ReadFrame reads one length-prefixed gRPC message.
func ReadFrame(r io.Reader) ([]byte, error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	if h[0] != 0 {
		return nil, errors.New("compressed gRPC messages are not supported")
	}
	n := binary.BigEndian.Uint32(h[1:])
	if n > 4<<20 {
		return nil, errors.New("gRPC message too large")
	}
	msg := make([]byte, n)
	_, err := io.ReadFull(r, msg)
	return msg, err
}

// ParseReply decodes the Reply at the start of a gRPC echo message.
func ParseReply(msg []byte) (Reply, []byte, error) {
	line, rest, _ := strings.Cut(string(msg), "\n")
	var rep Reply
	err := json.Unmarshal([]byte(line), &rep)
	return rep, []byte(rest), err
}
