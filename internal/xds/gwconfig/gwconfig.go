// Package gwconfig is the meshgate gateway's own xDS resource, GatewayConfig:
// one per virtual gateway, carrying its IR. The xDS server encodes it and
// the gateway's configuration client decodes it; it imports neither.
package gwconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/store"
)

// Type is the type URL of the meshgate gateway's own resource:
// one per virtual gateway, named by its short ARN, carrying the IR.
const Type = "type.googleapis.com/meshgate.v1.GatewayConfig"

// The message is
//
//	message GatewayConfig { string name = 1; string version = 2; bytes ir = 3; }
//
// built from a descriptor at init because there is no protoc in the build.
// The IR travels as JSON: it already has a stable, tested JSON form (the
// golden files), and the gateway decodes it with the same ir types.
var (
	gatewayConfigDesc protoreflect.MessageDescriptor
	fieldName         protoreflect.FieldDescriptor
	fieldVersion      protoreflect.FieldDescriptor
	fieldIR           protoreflect.FieldDescriptor
)

func init() {
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
	byts := descriptorpb.FieldDescriptorProto_TYPE_BYTES.Enum()
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	fd := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("meshgate/v1/gateway_config.proto"),
		Package: proto.String("meshgate.v1"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("GatewayConfig"),
			Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("name"), JsonName: proto.String("name"), Number: proto.Int32(1), Type: str, Label: opt},
				{Name: proto.String("version"), JsonName: proto.String("version"), Number: proto.Int32(2), Type: str, Label: opt},
				{Name: proto.String("ir"), JsonName: proto.String("ir"), Number: proto.Int32(3), Type: byts, Label: opt},
			},
		}},
	}
	file, err := protodesc.NewFile(fd, nil)
	if err != nil {
		// A constant descriptor that does not build is a programming error.
		panic("gwconfig: GatewayConfig descriptor: " + err.Error())
	}
	gatewayConfigDesc = file.Messages().ByName("GatewayConfig")
	fields := gatewayConfigDesc.Fields()
	fieldName, fieldVersion, fieldIR = fields.ByNumber(1), fields.ByNumber(2), fields.ByNumber(3)
	// Registered so that generic code (anypb.UnmarshalNew, protojson of
	// an Any) understands the type too. A conflict means another copy of
	// this descriptor is already there, which serves as well.
	_ = protoregistry.GlobalFiles.RegisterFile(file)
	_ = protoregistry.GlobalTypes.RegisterMessage(dynamicpb.NewMessageType(gatewayConfigDesc))
}

// gatewayConfig is a GatewayConfig message. It has GetName so that
// go-control-plane's caches can name it like their own resource types.
type gatewayConfig struct{ *dynamicpb.Message }

func (m gatewayConfig) GetName() string { return m.Get(fieldName).String() }

// gatewayName is a gateway's short ARN, the name of its resources.
func gatewayName(mesh, name string) string {
	return store.ResourcePath(store.Key{Kind: store.KindVirtualGateway, Mesh: mesh, Name: name})
}

// New returns the GatewayConfig resource of a gateway and its version.
// name is its short ARN (mesh/M/virtualGateway/G).
func New(name string, g *ir.Gateway) (proto.Message, string, error) {
	if want := gatewayName(g.Mesh, g.Name); name != want {
		return nil, "", fmt.Errorf("gateway config %q: the IR is gateway %s", name, want)
	}
	b, version := g.Encode()
	m := dynamicpb.NewMessage(gatewayConfigDesc)
	m.Set(fieldName, protoreflect.ValueOfString(name))
	m.Set(fieldVersion, protoreflect.ValueOfString(version))
	m.Set(fieldIR, protoreflect.ValueOfBytes(b))
	return gatewayConfig{m}, version, nil
}

// Decode reads a GatewayConfig: from an Any as it arrives in a
// DiscoveryResponse, or from any message of the GatewayConfig type. It
// returns the IR and its version, and refuses a payload whose content does
// not hash to the version it claims or whose name is not the gateway it
// carries, so a corrupted or mismatched config is never applied.
func Decode(msg proto.Message) (*ir.Gateway, string, error) {
	g, _, version, err := DecodeJSON(msg)
	return g, version, err
}

// DecodeJSON is Decode that also returns the IR's JSON form as it
// arrived (the server's encoding, ir.Gateway.JSON's), which a gateway
// can keep instead of the decoded IR.
func DecodeJSON(msg proto.Message) (g *ir.Gateway, raw []byte, version string, err error) {
	if msg == nil {
		return nil, nil, "", errors.New("gateway config: nil message")
	}
	var m protoreflect.Message
	switch v := msg.(type) {
	case *anypb.Any:
		if v.GetTypeUrl() != Type {
			return nil, nil, "", fmt.Errorf("gateway config: type %q, want %q", v.GetTypeUrl(), Type)
		}
		dm := dynamicpb.NewMessage(gatewayConfigDesc)
		if err := proto.Unmarshal(v.GetValue(), dm); err != nil {
			return nil, nil, "", fmt.Errorf("gateway config: %w", err)
		}
		m = dm
	default:
		m = msg.ProtoReflect()
		if m.Descriptor().FullName() != gatewayConfigDesc.FullName() {
			return nil, nil, "", fmt.Errorf("gateway config: message %s, want %s", m.Descriptor().FullName(), gatewayConfigDesc.FullName())
		}
		if m.Descriptor() != gatewayConfigDesc {
			// Same name, another descriptor (a generated type, say):
			// go through the wire form.
			b, err := proto.Marshal(msg)
			if err != nil {
				return nil, nil, "", fmt.Errorf("gateway config: %w", err)
			}
			dm := dynamicpb.NewMessage(gatewayConfigDesc)
			if err := proto.Unmarshal(b, dm); err != nil {
				return nil, nil, "", fmt.Errorf("gateway config: %w", err)
			}
			m = dm
		}
	}
	name := m.Get(fieldName).String()
	version = m.Get(fieldVersion).String()
	b := m.Get(fieldIR).Bytes()
	if got := ir.VersionOf(b); got != version {
		return nil, nil, "", fmt.Errorf("gateway config %s: content hashes to version %s, the resource says %s", name, got, version)
	}
	// The bytes are the server's encoding, as hashed. A field this
	// gateway does not know is a feature it would silently leave out (a
	// server newer than the gateway): refused, so the last good
	// configuration stays.
	g = new(ir.Gateway)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(g); err != nil {
		return nil, nil, "", fmt.Errorf("gateway config %s: ir: %w", name, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, "", fmt.Errorf("gateway config %s: ir: data after the gateway", name)
	}
	if want := gatewayName(g.Mesh, g.Name); name != want {
		return nil, nil, "", fmt.Errorf("gateway config %q carries gateway %s", name, want)
	}
	return g, b, version, nil
}
