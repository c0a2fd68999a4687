// Package xds is meshgate's xDS management server: one ADS v3 server
// (state of the world and delta, plus the per-type LDS/RDS/CDS/EDS/SDS
// services) that feeds stock Envoy and the meshgate gateway from the same
// per-gateway snapshots.
//
// The shape, and why:
//
//   - Identity. node.id is the virtual gateway's ARN, full or short, exactly
//     as the App Mesh Envoy image sends APPMESH_RESOURCE_ARN. It is
//     normalized to the short form (mesh/M/virtualGateway/G), which is the
//     snapshot cache key, so every proxy of one gateway shares one snapshot
//     and a proxy can only ever be served its own gateway's resources.
//   - Authentication (auth.go). On TCP, --xds-auth mtls or token makes
//     every stream and unary call prove who it is (a client certificate
//     whose SANs name gateways, a bearer token, or the App Mesh image's
//     SigV4 signature checked with internal/auth) in gRPC interceptors that
//     run before any handler, and authorizes the node of every request
//     against it (16 UNAUTHENTICATED, 7 PERMISSION_DENIED); the stream
//     callbacks check the first request again and pin node.id. The unix
//     socket is a trusted local relay (mode 0660).
//   - Sync. A loop polls the store's revision (cheap) and can be kicked by
//     in-process writers; on a change it rebuilds every gateway (model →
//     IR → Envoy), versions each resource type by a content hash, and sets a
//     snapshot only for gateways whose versions changed. Equal input gives
//     equal versions on every replica, so an equivalent change pushes
//     nothing.
//   - Make before break. A change that adds clusters first publishes them
//     next to the old routes, and a change that removes clusters publishes
//     the new routes next to the union of old and new clusters; each step
//     waits for the gateway's proxies to ACK (or a grace period).
//   - Errors. A translation error keeps the gateway's last good snapshot; a
//     NACK keeps the proxy on its last good config and nothing is re-sent
//     until the configuration changes.
//   - The meshgate gateway's own resource type (gwconfig.Type) lives in
//     the same per-gateway snapshot, so it shares identity, versioning and
//     the ADS stream with the Envoy types.
package xds
