package accesslog

// opKind is what a command operator renders.
type opKind uint8

const (
	opLiteral opKind = iota
	opStartTime
	opEmitTime
	opReq
	opReqWithoutQuery
	opResp
	opTrailer
	opResponseCode
	opResponseCodeDetails
	opResponseFlags
	opResponseFlagsLong
	opBytesReceived
	opBytesSent
	opDuration
	opRequestDuration
	opRequestTxDuration
	opResponseDuration
	opResponseTxDuration
	opUpstreamHost
	opUpstreamHostWithoutPort
	opUpstreamHostPort
	opUpstreamCluster
	opUpstreamLocalAddress
	opUpstreamLocalAddressWithoutPort
	opUpstreamLocalPort
	opUpstreamTransportFailureReason
	opUpstreamProtocol
	opUpstreamAttempts
	opDownstreamRemoteAddress
	opDownstreamRemoteAddressWithoutPort
	opDownstreamRemotePort
	opDownstreamDirectRemoteAddress
	opDownstreamDirectRemoteAddressWithoutPort
	opDownstreamDirectRemotePort
	opDownstreamLocalAddress
	opDownstreamLocalAddressWithoutPort
	opDownstreamLocalPort
	opProtocol
	opRouteName
	opConstant // HOSTNAME, ENVIRONMENT: fixed when the format is compiled
	opConnectionID
	opRequestedServerName
	opGrpcStatus
	opDownstreamTLSVersion
	opDownstreamTLSCipher
	opDownstreamPeerURISAN
	opDownstreamPeerDNSSAN
	opDownstreamPeerIPSAN
	opDownstreamPeerSubject
	opDownstreamPeerIssuer
	opDownstreamPeerSerial
	opDownstreamPeerFingerprint256
	opDownstreamPeerFingerprint1
	opDownstreamPeerCertVStart
	opDownstreamPeerCertVEnd
	opLocalReplyBody
	opAccessLogType
	opRequestHeadersBytes
	opResponseHeadersBytes
	opResponseTrailersBytes
	opUnsupported // an Envoy operator this gateway has no data for
)

// syntax is which of "(params)" and ":length" an operator takes, as in
// Envoy's CommandSyntaxChecker.
type syntax uint8

const (
	commandOnly    syntax = 0
	paramsOptional syntax = 1 << iota
	paramsRequired
	lengthAllowed
)

type opSpec struct {
	kind   opKind
	syntax syntax
	// number: typed JSON renders the value as a JSON number.
	number bool
}

// operators is every command operator Envoy knows (its built-in parsers
// plus REQ_WITHOUT_QUERY, which the App Mesh Envoy image shipped and the
// App Mesh docs recommend). Anything else is rejected at compile time.
var operators = map[string]opSpec{
	"START_TIME":       {opStartTime, paramsOptional, false},
	"START_TIME_LOCAL": {opStartTime, paramsOptional, false},
	"EMIT_TIME":        {opEmitTime, paramsOptional, false},
	"EMIT_TIME_LOCAL":  {opEmitTime, paramsOptional, false},

	"REQ":               {opReq, paramsRequired | lengthAllowed, false},
	"REQ_WITHOUT_QUERY": {opReqWithoutQuery, paramsRequired | lengthAllowed, false},
	"RESP":              {opResp, paramsRequired | lengthAllowed, false},
	"TRAILER":           {opTrailer, paramsRequired | lengthAllowed, false},

	"RESPONSE_CODE":         {opResponseCode, commandOnly, true},
	"RESPONSE_CODE_DETAILS": {opResponseCodeDetails, commandOnly, false},
	"RESPONSE_FLAGS":        {opResponseFlags, commandOnly, false},
	"RESPONSE_FLAGS_LONG":   {opResponseFlagsLong, commandOnly, false},
	"BYTES_RECEIVED":        {opBytesReceived, commandOnly, true},
	"BYTES_SENT":            {opBytesSent, commandOnly, true},
	"DURATION":              {opDuration, commandOnly, true},
	"REQUEST_DURATION":      {opRequestDuration, commandOnly, true},
	"REQUEST_TX_DURATION":   {opRequestTxDuration, commandOnly, true},
	"RESPONSE_DURATION":     {opResponseDuration, commandOnly, true},
	"RESPONSE_TX_DURATION":  {opResponseTxDuration, commandOnly, true},

	"UPSTREAM_HOST":                        {opUpstreamHost, commandOnly, false},
	"UPSTREAM_REMOTE_ADDRESS":              {opUpstreamHost, commandOnly, false},
	"UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT": {opUpstreamHostWithoutPort, commandOnly, false},
	"UPSTREAM_REMOTE_PORT":                 {opUpstreamHostPort, commandOnly, true},
	"UPSTREAM_CLUSTER":                     {opUpstreamCluster, commandOnly, false},
	"UPSTREAM_CLUSTER_RAW":                 {opUpstreamCluster, commandOnly, false},
	"UPSTREAM_LOCAL_ADDRESS":               {opUpstreamLocalAddress, commandOnly, false},
	"UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT":  {opUpstreamLocalAddressWithoutPort, commandOnly, false},
	"UPSTREAM_LOCAL_PORT":                  {opUpstreamLocalPort, commandOnly, true},
	"UPSTREAM_TRANSPORT_FAILURE_REASON":    {opUpstreamTransportFailureReason, commandOnly, false},
	"UPSTREAM_PROTOCOL":                    {opUpstreamProtocol, commandOnly, false},
	"UPSTREAM_REQUEST_ATTEMPT_COUNT":       {opUpstreamAttempts, commandOnly, true},

	"DOWNSTREAM_REMOTE_ADDRESS":                     {opDownstreamRemoteAddress, commandOnly, false},
	"DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT":        {opDownstreamRemoteAddressWithoutPort, commandOnly, false},
	"DOWNSTREAM_REMOTE_PORT":                        {opDownstreamRemotePort, commandOnly, true},
	"DOWNSTREAM_DIRECT_REMOTE_ADDRESS":              {opDownstreamDirectRemoteAddress, commandOnly, false},
	"DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT": {opDownstreamDirectRemoteAddressWithoutPort, commandOnly, false},
	"DOWNSTREAM_DIRECT_REMOTE_PORT":                 {opDownstreamDirectRemotePort, commandOnly, true},
	"DOWNSTREAM_LOCAL_ADDRESS":                      {opDownstreamLocalAddress, commandOnly, false},
	"DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT":         {opDownstreamLocalAddressWithoutPort, commandOnly, false},
	"DOWNSTREAM_LOCAL_PORT":                         {opDownstreamLocalPort, commandOnly, true},

	"PROTOCOL":              {opProtocol, commandOnly, false},
	"ROUTE_NAME":            {opRouteName, commandOnly, false},
	"HOSTNAME":              {opConstant, commandOnly, false},
	"ENVIRONMENT":           {opConstant, paramsRequired | lengthAllowed, false},
	"CONNECTION_ID":         {opConnectionID, commandOnly, true},
	"REQUESTED_SERVER_NAME": {opRequestedServerName, commandOnly, false},
	"GRPC_STATUS":           {opGrpcStatus, paramsOptional, false},
	"GRPC_STATUS_NUMBER":    {opGrpcStatus, commandOnly, true},

	"DOWNSTREAM_TLS_VERSION":          {opDownstreamTLSVersion, commandOnly, false},
	"DOWNSTREAM_TLS_CIPHER":           {opDownstreamTLSCipher, commandOnly, false},
	"DOWNSTREAM_PEER_URI_SAN":         {opDownstreamPeerURISAN, commandOnly, false},
	"DOWNSTREAM_PEER_DNS_SAN":         {opDownstreamPeerDNSSAN, commandOnly, false},
	"DOWNSTREAM_PEER_IP_SAN":          {opDownstreamPeerIPSAN, commandOnly, false},
	"DOWNSTREAM_PEER_SUBJECT":         {opDownstreamPeerSubject, commandOnly, false},
	"DOWNSTREAM_PEER_ISSUER":          {opDownstreamPeerIssuer, commandOnly, false},
	"DOWNSTREAM_PEER_SERIAL":          {opDownstreamPeerSerial, commandOnly, false},
	"DOWNSTREAM_PEER_FINGERPRINT_256": {opDownstreamPeerFingerprint256, commandOnly, false},
	"DOWNSTREAM_PEER_FINGERPRINT_1":   {opDownstreamPeerFingerprint1, commandOnly, false},
	"DOWNSTREAM_PEER_CERT_V_START":    {opDownstreamPeerCertVStart, paramsOptional, false},
	"DOWNSTREAM_PEER_CERT_V_END":      {opDownstreamPeerCertVEnd, paramsOptional, false},

	"LOCAL_REPLY_BODY":        {opLocalReplyBody, commandOnly, false},
	"ACCESS_LOG_TYPE":         {opAccessLogType, commandOnly, false},
	"REQUEST_HEADERS_BYTES":   {opRequestHeadersBytes, commandOnly, true},
	"RESPONSE_HEADERS_BYTES":  {opResponseHeadersBytes, commandOnly, true},
	"RESPONSE_TRAILERS_BYTES": {opResponseTrailersBytes, commandOnly, true},

	// Known to Envoy, no data here: they render as missing.
	"CONNECTION_TERMINATION_DETAILS":          {opUnsupported, commandOnly, false},
	"DOWNSTREAM_TRANSPORT_FAILURE_REASON":     {opUnsupported, commandOnly, false},
	"DOWNSTREAM_HANDSHAKE_DURATION":           {opUnsupported, commandOnly, true},
	"ROUNDTRIP_DURATION":                      {opUnsupported, commandOnly, true},
	"BYTES_RETRANSMITTED":                     {opUnsupported, commandOnly, true},
	"PACKETS_RETRANSMITTED":                   {opUnsupported, commandOnly, true},
	"UPSTREAM_WIRE_BYTES_SENT":                {opUnsupported, commandOnly, true},
	"UPSTREAM_WIRE_BYTES_RECEIVED":            {opUnsupported, commandOnly, true},
	"UPSTREAM_HEADER_BYTES_SENT":              {opUnsupported, commandOnly, true},
	"UPSTREAM_HEADER_BYTES_RECEIVED":          {opUnsupported, commandOnly, true},
	"DOWNSTREAM_WIRE_BYTES_SENT":              {opUnsupported, commandOnly, true},
	"DOWNSTREAM_WIRE_BYTES_RECEIVED":          {opUnsupported, commandOnly, true},
	"DOWNSTREAM_HEADER_BYTES_SENT":            {opUnsupported, commandOnly, true},
	"DOWNSTREAM_HEADER_BYTES_RECEIVED":        {opUnsupported, commandOnly, true},
	"UPSTREAM_CONNECTION_POOL_READY_DURATION": {opUnsupported, commandOnly, true},
	"UPSTREAM_HOST_NAME":                      {opUnsupported, commandOnly, false},
	"UPSTREAM_HOST_NAME_WITHOUT_PORT":         {opUnsupported, commandOnly, false},
	"UPSTREAM_CONNECTION_ID":                  {opUnsupported, commandOnly, true},
	"UPSTREAM_TLS_CIPHER":                     {opUnsupported, commandOnly, false},
	"UPSTREAM_TLS_VERSION":                    {opUnsupported, commandOnly, false},
	"UPSTREAM_TLS_SESSION_ID":                 {opUnsupported, commandOnly, false},
	"UPSTREAM_PEER_ISSUER":                    {opUnsupported, commandOnly, false},
	"UPSTREAM_PEER_CERT":                      {opUnsupported, commandOnly, false},
	"UPSTREAM_PEER_SUBJECT":                   {opUnsupported, commandOnly, false},
	"UPSTREAM_PEER_URI_SAN":                   {opUnsupported, commandOnly, false},
	"UPSTREAM_PEER_DNS_SAN":                   {opUnsupported, commandOnly, false},
	"UPSTREAM_PEER_IP_SAN":                    {opUnsupported, commandOnly, false},
	"UPSTREAM_LOCAL_URI_SAN":                  {opUnsupported, commandOnly, false},
	"UPSTREAM_LOCAL_DNS_SAN":                  {opUnsupported, commandOnly, false},
	"UPSTREAM_LOCAL_IP_SAN":                   {opUnsupported, commandOnly, false},
	"UPSTREAM_LOCAL_SUBJECT":                  {opUnsupported, commandOnly, false},
	"UPSTREAM_PEER_CERT_V_START":              {opUnsupported, paramsOptional, false},
	"UPSTREAM_PEER_CERT_V_END":                {opUnsupported, paramsOptional, false},
	"DOWNSTREAM_LOCAL_URI_SAN":                {opUnsupported, commandOnly, false},
	"DOWNSTREAM_LOCAL_DNS_SAN":                {opUnsupported, commandOnly, false},
	"DOWNSTREAM_LOCAL_IP_SAN":                 {opUnsupported, commandOnly, false},
	"DOWNSTREAM_LOCAL_SUBJECT":                {opUnsupported, commandOnly, false},
	"DOWNSTREAM_TLS_SESSION_ID":               {opUnsupported, commandOnly, false},
	"DOWNSTREAM_PEER_CERT":                    {opUnsupported, commandOnly, false},
	"VIRTUAL_CLUSTER_NAME":                    {opUnsupported, commandOnly, false},
	"FILTER_CHAIN_NAME":                       {opUnsupported, commandOnly, false},
	"TRACE_ID":                                {opUnsupported, commandOnly, false},
	"STREAM_ID":                               {opUnsupported, commandOnly, false},
	"TLS_JA3_FINGERPRINT":                     {opUnsupported, commandOnly, false},
	"COMMON_DURATION":                         {opUnsupported, paramsRequired, true},
	"DYNAMIC_METADATA":                        {opUnsupported, paramsRequired | lengthAllowed, false},
	"CLUSTER_METADATA":                        {opUnsupported, paramsRequired | lengthAllowed, false},
	"UPSTREAM_METADATA":                       {opUnsupported, paramsRequired | lengthAllowed, false},
	"FILTER_STATE":                            {opUnsupported, paramsRequired | lengthAllowed, false},
	"UPSTREAM_FILTER_STATE":                   {opUnsupported, paramsRequired | lengthAllowed, false},
	"METADATA":                                {opUnsupported, paramsRequired | lengthAllowed, false},
	"CEL":                                     {opUnsupported, paramsRequired | lengthAllowed, false},
}
