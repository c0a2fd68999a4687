package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/testutil/echo"
)

// TestHTTP2PriorKnowledge: an http2 listener serves HTTP/2 with prior
// knowledge (h2c), and the request reaches the upstream (over h2c too,
// the cluster being http2) with its path, query and the service's name as
// authority.
func TestHTTP2PriorKnowledge(t *testing.T) {
	be := startEcho(t, "backend")
	cfg := oneBackend(t, ir.HTTP2, be.Addr, nil)
	startGateway(t, cfg)

	resp, body := get(t, h2cClient(t), listenURL(cfg, 0, "/hello/h2c?x=1"))
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Fatalf("status %d over %s, want 200 over HTTP/2: %s", resp.StatusCode, resp.Proto, body)
	}
	rep := echoReply(t, body)
	if rep.Node != "backend" || rep.Path != "/hello/h2c?x=1" || rep.Host != testSvc || rep.Proto != "HTTP/2.0" {
		t.Errorf("upstream saw node %q path %q host %q proto %q", rep.Node, rep.Path, rep.Host, rep.Proto)
	}
	if n := be.Requests.Load(); n != 1 {
		t.Errorf("backend saw %d requests, want 1", n)
	}
}

// rawCodec passes []byte messages through unchanged, so tests need no
// generated protobuf code.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	switch m := v.(type) {
	case []byte:
		return mem.BufferSlice{mem.SliceBuffer(m)}, nil
	case *[]byte:
		return mem.BufferSlice{mem.SliceBuffer(*m)}, nil
	}
	return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*p = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

var rawCall = grpc.ForceCodecV2(rawCodec{})

// startGRPCGoBackend is a real grpc-go server that answers every method:
// it sends the header x-hdr (echoing the x-meta metadata it got) and the
// trailer x-trl (the :authority it got), echoes each message prefixed
// with "re:", and fails methods ending in /Fail with FailedPrecondition.
func startGRPCGoBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodecV2(rawCodec{}), grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		md, _ := metadata.FromIncomingContext(ss.Context())
		ss.SetHeader(metadata.Pairs("x-hdr", "h-"+strings.Join(md.Get("x-meta"), ",")))
		ss.SetTrailer(metadata.Pairs("x-trl", "t-"+strings.Join(md.Get(":authority"), ",")))
		method, _ := grpc.MethodFromServerStream(ss)
		for {
			var m []byte
			if err := ss.RecvMsg(&m); err == io.EOF {
				break
			} else if err != nil {
				return err
			}
			if err := ss.SendMsg(append([]byte("re:"), m...)); err != nil {
				return err
			}
		}
		if strings.HasSuffix(method, "/Fail") {
			return status.Error(codes.FailedPrecondition, "told to fail")
		}
		return nil
	}))
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// grpcGateway is a grpc listener with routes to the echo backend (by
// prefix, and by prefix plus a metadata match), to a grpc-go backend, and
// to a virtual service without a provider.
func grpcGateway(t *testing.T, echoAddr, grpcGoAddr string) *ir.Gateway {
	const goSvc, orphan = "grpcgo.local", "orphan.local"
	ce := clusterTo(t, "backend", ir.GRPC, echoAddr)
	cg := clusterTo(t, "grpcgo", ir.GRPC, grpcGoAddr)
	device := gatewayRoute("device", "/color.Device/", testSvc)
	device.Match.Headers = []ir.HeaderMatch{{Name: "device", Exact: new("iphone")}}
	l := listenerOn(freePort(t), ir.GRPC,
		gatewayRoute("color", "/color.ColorService/", testSvc),
		device,
		gatewayRoute("grpcgo", "/grpcgo.Service/", goSvc),
		gatewayRoute("orphan", "/orphan.Service/", orphan),
	)
	return &ir.Gateway{Mesh: "m", Name: "gw", UID: "uid", Listeners: []ir.Listener{l},
		Services: []ir.Service{
			nodeService(testSvc, ir.GRPC, ce.Name, nil),
			nodeService(goSvc, ir.GRPC, cg.Name, nil),
			{Name: orphan, Port: testSvcPort}, // no provider
		},
		Clusters: []ir.Cluster{ce, cg}}
}

func dialGRPC(t *testing.T, port uint32) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(fmt.Sprintf("passthrough:///127.0.0.1:%d", port),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// TestGRPCThroughGateway drives a grpc listener with a real grpc-go client.
func TestGRPCThroughGateway(t *testing.T) {
	be := startEcho(t, "backend")
	goAddr := startGRPCGoBackend(t)
	cfg := grpcGateway(t, be.Addr, goAddr)
	startGateway(t, cfg)
	cc := dialGRPC(t, cfg.Listeners[0].Port)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	t.Run("unary", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(ctx, "x-meta", "m1")
		var out []byte
		var trailer metadata.MD
		if err := cc.Invoke(ctx, "/color.ColorService/Get", []byte("ping"), &out, rawCall, grpc.Trailer(&trailer)); err != nil {
			t.Fatalf("unary call: %v", err) // also fails if grpc-status never arrived in the trailers
		}
		rep, rest, err := echo.ParseReply(out)
		if err != nil {
			t.Fatalf("reply %q: %v", out, err)
		}
		if string(rest) != "ping" {
			t.Errorf("echoed message %q, want ping", rest)
		}
		if rep.Host != testSvc {
			t.Errorf("upstream :authority %q, want the virtual service %q", rep.Host, testSvc)
		}
		if rep.Path != "/color.ColorService/Get" || rep.Proto != "HTTP/2.0" || rep.Method != http.MethodPost {
			t.Errorf("upstream saw %s %s over %s", rep.Method, rep.Path, rep.Proto)
		}
		if got := rep.Header.Get("X-Meta"); got != "m1" {
			t.Errorf("metadata x-meta upstream %q, want m1", got)
		}
		if got := rep.Header.Get("Te"); got != "trailers" {
			t.Errorf("te upstream %q, want trailers", got)
		}
		if !strings.HasPrefix(rep.Header.Get("Content-Type"), "application/grpc") {
			t.Errorf("content-type upstream %q", rep.Header.Get("Content-Type"))
		}
	})

	t.Run("bidi stream", func(t *testing.T) {
		desc := &grpc.StreamDesc{StreamName: "Chat", ServerStreams: true, ClientStreams: true}
		cs, err := cc.NewStream(ctx, desc, "/color.ColorService/Chat", rawCall)
		if err != nil {
			t.Fatal(err)
		}
		// One message at a time: each reply must come back before the next
		// is sent, so the gateway must stream both ways (full duplex).
		for i := range 10 {
			msg := fmt.Sprintf("msg-%d", i)
			if err := cs.SendMsg([]byte(msg)); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
			var out []byte
			if err := cs.RecvMsg(&out); err != nil {
				t.Fatalf("recv %d: %v", i, err)
			}
			rep, rest, err := echo.ParseReply(out)
			if err != nil || string(rest) != msg || rep.Host != testSvc || rep.Path != "/color.ColorService/Chat" {
				t.Fatalf("reply %d: %q (%v), host %q path %q", i, rest, err, rep.Host, rep.Path)
			}
		}
		if err := cs.CloseSend(); err != nil {
			t.Fatal(err)
		}
		var out []byte
		if err := cs.RecvMsg(&out); err != io.EOF {
			t.Fatalf("end of stream: %v, want io.EOF (grpc-status 0)", err)
		}
	})

	t.Run("header and trailer metadata", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(ctx, "x-meta", "abc")
		var out []byte
		var header, trailer metadata.MD
		err := cc.Invoke(ctx, "/grpcgo.Service/Get", []byte("hi"), &out, rawCall, grpc.Header(&header), grpc.Trailer(&trailer))
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != "re:hi" {
			t.Errorf("reply %q", out)
		}
		if got := header.Get("x-hdr"); len(got) != 1 || got[0] != "h-abc" {
			t.Errorf("response header metadata x-hdr %v, want [h-abc]", got)
		}
		if got := trailer.Get("x-trl"); len(got) != 1 || got[0] != "t-grpcgo.local" {
			t.Errorf("trailer metadata x-trl %v, want [t-grpcgo.local] (the upstream :authority)", got)
		}

		// A failure status with its message passes through the trailers.
		trailer = nil
		err = cc.Invoke(ctx, "/grpcgo.Service/Fail", []byte("x"), &out, rawCall, grpc.Trailer(&trailer))
		if st := status.Convert(err); st.Code() != codes.FailedPrecondition || st.Message() != "told to fail" {
			t.Errorf("failing call: %v, want FailedPrecondition \"told to fail\"", err)
		}
		if got := trailer.Get("x-trl"); len(got) != 1 {
			t.Errorf("trailer metadata of the failed call %v", trailer)
		}
	})

	t.Run("metadata route", func(t *testing.T) {
		var out []byte
		ctx := metadata.AppendToOutgoingContext(ctx, "device", "iphone")
		if err := cc.Invoke(ctx, "/color.Device/Get", []byte("d"), &out, rawCall); err != nil {
			t.Fatalf("with the matching metadata: %v", err)
		}
		ctx = metadata.AppendToOutgoingContext(context.Background(), "device", "android")
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err := cc.Invoke(ctx, "/color.Device/Get", []byte("d"), &out, rawCall)
		if code := status.Code(err); code != codes.Unimplemented {
			t.Errorf("without the matching metadata: %v, want Unimplemented", err)
		}
	})

	t.Run("no route is Unimplemented", func(t *testing.T) {
		var out []byte
		err := cc.Invoke(ctx, "/unknown.Service/Get", []byte("x"), &out, rawCall)
		if code := status.Code(err); code != codes.Unimplemented {
			t.Errorf("got %v, want code Unimplemented (12)", err)
		}
		// A streaming call gets the same.
		cs, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, "/unknown.Service/Chat", rawCall)
		if err == nil {
			cs.CloseSend()
			err = cs.RecvMsg(&out)
		}
		if code := status.Code(err); code != codes.Unimplemented {
			t.Errorf("stream: got %v, want code Unimplemented (12)", err)
		}
	})

	t.Run("no provider is Unavailable", func(t *testing.T) {
		var out []byte
		err := cc.Invoke(ctx, "/orphan.Service/Get", []byte("x"), &out, rawCall)
		st := status.Convert(err)
		if st.Code() != codes.Unavailable {
			t.Errorf("got %v, want code Unavailable (14)", err)
		}
		if st.Message() != bodyNoHealthy {
			t.Errorf("grpc-message %q, want %q", st.Message(), bodyNoHealthy)
		}
	})

	if n := be.Requests.Load(); n < 3 {
		t.Errorf("echo backend saw %d requests", n)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("test ran out of time")
	}
}

// TestHTTP2Bodies: over h2c, request and response bodies larger than the
// HTTP/2 windows cross the gateway intact in both directions, to an
// HTTP/1.1 and to an HTTP/2 cluster; a streamed response reaches the
// client before the upstream has finished it; concurrent uploads on one
// connection do not mix.
func TestHTTP2Bodies(t *testing.T) {
	release := make(chan struct{})
	pattern := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + i/251)
		}
		return b
	}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	be := &http.Server{Protocols: &p, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/up":
			h := sha256.New()
			n, err := io.Copy(h, r.Body)
			fmt.Fprintf(w, "len=%d sha=%x err=%v", n, h.Sum(nil), err)
		case "/down":
			n, _ := strconv.Atoi(r.URL.Query().Get("n"))
			b := pattern(n)
			for len(b) > 0 {
				k := min(len(b), 16<<10)
				w.Write(b[:k])
				b = b[k:]
			}
		case "/stream":
			io.WriteString(w, "first;")
			http.NewResponseController(w).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, "second")
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go be.Serve(ln)
	t.Cleanup(func() { be.Close() })
	sum := func(b []byte) string { return fmt.Sprintf("len=%d sha=%x err=<nil>", len(b), sha256.Sum256(b)) }

	for _, cluster := range []ir.Protocol{ir.HTTP, ir.HTTP2} {
		t.Run(string(cluster), func(t *testing.T) {
			c := clusterTo(t, "backend", cluster, ln.Addr().String())
			cfg := &ir.Gateway{Mesh: "m", Name: "gw", UID: "uid",
				Listeners: []ir.Listener{listenerOn(freePort(t), ir.HTTP2, gatewayRoute("all", "/", testSvc))},
				Services:  []ir.Service{nodeService(testSvc, cluster, c.Name, nil)},
				Clusters:  []ir.Cluster{c}}
			startGateway(t, cfg)
			client := h2cClient(t)

			up := pattern(3 << 20)
			resp, err := client.Post(listenURL(cfg, 0, "/up"), "application/octet-stream", bytes.NewReader(up))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 2 || string(got) != sum(up) {
				t.Errorf("3 MiB upload over %s: %q, want %q", resp.Proto, got, sum(up))
			}

			resp, body := get(t, client, listenURL(cfg, 0, "/down?n=3145728"))
			if resp.StatusCode != http.StatusOK || !bytes.Equal([]byte(body), pattern(3<<20)) {
				t.Errorf("3 MiB download: status %d, %d bytes, equal %v", resp.StatusCode, len(body), bytes.Equal([]byte(body), pattern(3<<20)))
			}

			resp, err = client.Get(listenURL(cfg, 0, "/stream"))
			if err != nil {
				t.Fatal(err)
			}
			first := make([]byte, len("first;"))
			if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first;" {
				t.Fatalf("streamed response: %q, %v before the upstream finished", first, err)
			}
			release <- struct{}{}
			rest, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(rest) != "second" {
				t.Errorf("streamed response's rest: %q", rest)
			}

			var wg sync.WaitGroup
			errs := make(chan string, 20)
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					b := pattern(256<<10 + i*1000)
					resp, err := client.Post(listenURL(cfg, 0, "/up"), "application/octet-stream", bytes.NewReader(b))
					if err != nil {
						errs <- err.Error()
						return
					}
					got, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if string(got) != sum(b) {
						errs <- fmt.Sprintf("upload %d: %q", i, got)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
		})
	}
}
