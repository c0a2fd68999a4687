package appmesh

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// spec is what every *Spec shape offers: the generated model check and the
// cross-field rules.
type spec interface {
	Check() error
	validate(v *validator, path string)
}

func newSpec(kind string) spec {
	switch kind {
	case "vg":
		return &VirtualGatewaySpec{}
	case "gr":
		return &GatewayRouteSpec{}
	case "vn":
		return &VirtualNodeSpec{}
	case "vr":
		return &VirtualRouterSpec{}
	case "route":
		return &RouteSpec{}
	case "vs":
		return &VirtualServiceSpec{}
	case "mesh":
		return &MeshSpec{}
	}
	return nil
}

var specKinds = []string{"vg", "gr", "vn", "vr", "route", "vs", "mesh"}

type ruleCase struct {
	name, kind, spec string
	want             string // "" = valid; otherwise a substring of the message, starting with the field path
}

// Small building blocks keep the JSON snippets readable.
const (
	vsTarget = `"target":{"virtualService":{"virtualServiceName":"svc.local"}}`
	wt       = `"action":{"weightedTargets":[{"virtualNode":"a","weight":1}]}`
	dnsSD    = `"serviceDiscovery":{"dns":{"hostname":"a.local"}}`
	hc       = `"healthyThreshold":2,"unhealthyThreshold":2,"intervalMillis":5000,"timeoutMillis":2000`
	fileCert = `"certificate":{"file":{"certificateChain":"/c.pem","privateKey":"/k.pem"}}`
)

func gwHTTP(match string) string {
	return `{"httpRoute":{"match":` + match + `,"action":{` + vsTarget + `}}}`
}
func gwRewrite(match, rw string) string {
	return `{"httpRoute":{"match":` + match + `,"action":{` + vsTarget + `,"rewrite":` + rw + `}}}`
}
func gwGRPC(match string) string {
	return `{"grpcRoute":{"match":` + match + `,"action":{` + vsTarget + `}}}`
}
func rtHTTP(match string) string { return `{"httpRoute":{"match":` + match + `,` + wt + `}}` }
func vgListener(l string) string { return `{"listeners":[` + l + `]}` }
func vnListener(l string) string { return `{"listeners":[` + l + `],` + dnsSD + `}` }
func vnBackendTLS(tls string) string {
	return `{"backends":[{"virtualService":{"virtualServiceName":"b.local","clientPolicy":{"tls":` + tls + `}}}]}`
}

var ruleCases = []ruleCase{
	// VirtualGateway: listeners.
	{"vg one listener", "vg", vgListener(`{"portMapping":{"port":8080,"protocol":"http"}}`), ""},
	{"vg no listener", "vg", `{"listeners":[]}`, "spec.listeners must have at least 1 items"},
	{"vg distinct ports", "vg", vgListener(`{"portMapping":{"port":1111,"protocol":"http"}},{"portMapping":{"port":2222,"protocol":"grpc"}}`), ""},
	{"vg duplicate ports", "vg", vgListener(`{"portMapping":{"port":1111,"protocol":"http"}},{"portMapping":{"port":1111,"protocol":"http2"}}`), "spec.listeners[1].portMapping.port 1111 is already used by spec.listeners[0].portMapping.port"},
	// VirtualGateway: connection pool.
	{"vg http pool", "vg", vgListener(`{"portMapping":{"port":8080,"protocol":"http"},"connectionPool":{"http":{"maxConnections":10}}}`), ""},
	{"vg grpc pool", "vg", vgListener(`{"portMapping":{"port":8080,"protocol":"grpc"},"connectionPool":{"grpc":{"maxRequests":10}}}`), ""},
	{"vg pool mismatch", "vg", vgListener(`{"portMapping":{"port":8080,"protocol":"http"},"connectionPool":{"http2":{"maxRequests":10}}}`), "spec.listeners[0].connectionPool.http2 does not match the listener protocol http"},
	// VirtualGateway: health check.
	{"vg grpc hc on grpc", "vg", vgListener(`{"portMapping":{"port":8080,"protocol":"grpc"},"healthCheck":{` + hc + `,"protocol":"grpc"}}`), ""},
	{"vg grpc hc on http", "vg", vgListener(`{"portMapping":{"port":8080,"protocol":"http"},"healthCheck":{` + hc + `,"protocol":"grpc"}}`), "spec.listeners[0].healthCheck.protocol is invalid: GRPC HealthCheck requires listener type of HTTP2 or GRPC."},
	{"vg hc same port", "vg", vgListener(`{"portMapping":{"port":8080,"protocol":"http"},"healthCheck":{` + hc + `,"protocol":"http","path":"/ping","port":8080}}`), ""},
	{"vg hc other port", "vg", vgListener(`{"portMapping":{"port":8080,"protocol":"http"},"healthCheck":{` + hc + `,"protocol":"http","port":9090}}`), "spec.listeners[0].healthCheck.port must match the listener port 8080"},
	// VirtualGateway: TLS.
	{"vg file cert", "vg", vgListener(`{"portMapping":{"port":8080,"protocol":"http"},"tls":{"mode":"STRICT",` + fileCert + `}}`), ""},
	{"vg acm cert", "vg", vgListener(`{"portMapping":{"port":8080,"protocol":"http"},"tls":{"mode":"STRICT","certificate":{"acm":{"certificateArn":"arn:x"}}}}`), "spec.listeners[0].tls.certificate.acm is not supported by meshgate"},
	{"vg sds cert", "vg", vgListener(`{"portMapping":{"port":8080,"protocol":"http"},"tls":{"mode":"PERMISSIVE","certificate":{"sds":{"secretName":"gw"}}}}`), ""},
	{"vg sds empty secret", "vg", vgListener(`{"portMapping":{"port":8080,"protocol":"http"},"tls":{"mode":"PERMISSIVE","certificate":{"sds":{"secretName":""}}}}`), "spec.listeners[0].tls.certificate.sds.secretName must not be empty"},
	{"vg mtls with san", "vg", vgListener(`{"portMapping":{"port":8080,"protocol":"http"},"tls":{"mode":"STRICT",` + fileCert + `,"validation":{"trust":{"file":{"certificateChain":"/ca.pem"}},"subjectAlternativeNames":{"match":{"exact":["client.local"]}}}}}`), ""},
	{"vg mtls empty san", "vg", vgListener(`{"portMapping":{"port":8080,"protocol":"http"},"tls":{"mode":"STRICT",` + fileCert + `,"validation":{"trust":{"file":{"certificateChain":"/ca.pem"}},"subjectAlternativeNames":{"match":{"exact":[]}}}}}`), "spec.listeners[0].tls.validation.subjectAlternativeNames.match.exact must have at least 1 items"},
	{"vg backend file trust", "vg", `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"backendDefaults":{"clientPolicy":{"tls":{"ports":[80,443],"validation":{"trust":{"file":{"certificateChain":"/ca.pem"}}}}}}}`, ""},
	{"vg backend acm trust", "vg", `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"backendDefaults":{"clientPolicy":{"tls":{"validation":{"trust":{"acm":{"certificateAuthorityArns":["arn:ca"]}}}}}}}`, "spec.backendDefaults.clientPolicy.tls.validation.trust.acm is not supported by meshgate"},
	{"vg backend duplicate ports", "vg", `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"backendDefaults":{"clientPolicy":{"tls":{"ports":[443,443],"validation":{"trust":{"file":{"certificateChain":"/ca.pem"}}}}}}}`, "spec.backendDefaults.clientPolicy.tls.ports[1] 443 is already used by spec.backendDefaults.clientPolicy.tls.ports[0]"},
	{"vg backend empty san", "vg", `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"backendDefaults":{"clientPolicy":{"tls":{"validation":{"trust":{"sds":{"secretName":"ca"}},"subjectAlternativeNames":{"match":{"exact":[]}}}}}}}`, "spec.backendDefaults.clientPolicy.tls.validation.subjectAlternativeNames.match.exact must have at least 1 items"},
	// VirtualGateway: logging.
	{"vg json log", "vg", `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"logging":{"accessLog":{"file":{"path":"/dev/stdout","format":{"json":[{"key":"start","value":"%START_TIME%"},{"key":"method","value":"%REQ(:METHOD)%"}]}}}}}`, ""},
	{"vg json log duplicate key", "vg", `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"logging":{"accessLog":{"file":{"path":"/dev/stdout","format":{"json":[{"key":"a","value":"1"},{"key":"a","value":"2"}]}}}}}`, `spec.logging.accessLog.file.format.json[1].key "a" is already used by spec.logging.accessLog.file.format.json[0]`},
	{"vg json log empty", "vg", `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"logging":{"accessLog":{"file":{"path":"/dev/stdout","format":{"json":[]}}}}}`, "spec.logging.accessLog.file.format.json must have at least 1 items"},
	{"vg json log bad value", "vg", `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"logging":{"accessLog":{"file":{"path":"/dev/stdout","format":{"json":[{"key":"a","value":"%START_TIME"}]}}}}}`, "spec.logging.accessLog.file.format.json[0].value has an invalid or unterminated % command operator at position 0"},
	{"vg text log", "vg", `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"logging":{"accessLog":{"file":{"path":"/dev/stdout","format":{"text":"[%START_TIME%] %REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH):64% 100%% %RESPONSE_CODE%\n"}}}}}`, ""},
	{"vg text log unterminated", "vg", `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"logging":{"accessLog":{"file":{"path":"/dev/stdout","format":{"text":"%START_TIME% 100% done"}}}}}`, "spec.logging.accessLog.file.format.text has an invalid or unterminated % command operator at position 16"},

	// GatewayRoute V1: one route type.
	{"gr http route", "gr", gwHTTP(`{"prefix":"/color1"}`), ""},
	{"gr http2 route", "gr", `{"http2Route":{"match":{"prefix":"/"},"action":{` + vsTarget + `}}}`, ""},
	{"gr no route", "gr", `{"priority":1}`, "spec must set exactly one of grpcRoute, http2Route, httpRoute"},
	{"gr two routes", "gr", `{"httpRoute":{"match":{"prefix":"/"},"action":{` + vsTarget + `}},"grpcRoute":{"match":{"serviceName":"a.B"},"action":{` + vsTarget + `}}}`, "spec must set exactly one of grpcRoute, http2Route, httpRoute"},
	// V3 and the minimum match.
	{"gr path only", "gr", gwHTTP(`{"path":{"exact":"/paths/green"}}`), ""},
	{"gr port only", "gr", gwHTTP(`{"port":2222}`), ""},
	{"gr hostname only", "gr", gwHTTP(`{"hostname":{"exact":"www.example.com"}}`), ""},
	{"gr method only", "gr", gwHTTP(`{"method":"GET"}`), ""},
	{"gr empty match", "gr", gwHTTP(`{}`), "spec.httpRoute.match must specify at least one match criterion"},
	{"gr prefix and path", "gr", gwHTTP(`{"prefix":"/a","path":{"exact":"/a"}}`), "spec.httpRoute.match must not set both prefix and path"},
	// V4: path.
	{"gr path regex", "gr", gwHTTP(`{"path":{"regex":"/items/[0-9]+"}}`), ""},
	{"gr path exact and regex", "gr", gwHTTP(`{"path":{"exact":"/a","regex":"/a"}}`), "spec.httpRoute.match.path must set exactly one of exact, regex"},
	{"gr path empty", "gr", gwHTTP(`{"path":{}}`), "spec.httpRoute.match.path must set exactly one of exact, regex"},
	{"gr path exact no slash", "gr", gwHTTP(`{"path":{"exact":"a"}}`), `spec.httpRoute.match.path.exact must start with "/"`},
	{"gr path regex invalid", "gr", gwHTTP(`{"path":{"regex":"/a("}}`), "spec.httpRoute.match.path.regex is not a valid RE2 regular expression"},
	{"gr path regex lookahead", "gr", gwHTTP(`{"path":{"regex":"/(?=a)"}}`), "spec.httpRoute.match.path.regex is not a valid RE2 regular expression"},
	{"gr path regex too big", "gr", gwHTTP(`{"path":{"regex":"a{1000}"}}`), "spec.httpRoute.match.path.regex is too complex"},
	// V5: hostname.
	{"gr hostname suffix", "gr", gwHTTP(`{"prefix":"/","hostname":{"suffix":".example.com"}}`), ""},
	{"gr hostname both", "gr", gwHTTP(`{"prefix":"/","hostname":{"exact":"a.example.com","suffix":".example.com"}}`), "spec.httpRoute.match.hostname must set exactly one of exact, suffix"},
	{"gr hostname empty", "gr", gwHTTP(`{"prefix":"/","hostname":{}}`), "spec.httpRoute.match.hostname must set exactly one of exact, suffix"},
	{"gr hostname exact wildcard", "gr", gwHTTP(`{"prefix":"/","hostname":{"exact":"*.example.com"}}`), `spec.httpRoute.match.hostname.exact must not contain "*"`},
	{"gr hostname suffix wildcard", "gr", gwHTTP(`{"prefix":"/","hostname":{"suffix":"*.example.com"}}`), `spec.httpRoute.match.hostname.suffix must not contain "*"`},
	// V6: prefix.
	{"gr prefix no slash", "gr", gwHTTP(`{"prefix":"color"}`), `spec.httpRoute.match.prefix must start with "/"`},
	{"gr prefix reserved", "gr", gwHTTP(`{"prefix":"/aws-appmesh/x"}`), "spec.httpRoute.match.prefix must not start with the reserved"},
	{"gr prefix reserved dash", "gr", gwHTTP(`{"prefix":"/aws-app-mesh"}`), "spec.httpRoute.match.prefix must not start with the reserved"},
	{"gr http2 prefix no slash", "gr", `{"http2Route":{"match":{"prefix":"x"},"action":{` + vsTarget + `}}}`, `spec.http2Route.match.prefix must start with "/"`},
	{"gr prefix aws lookalike", "gr", gwHTTP(`{"prefix":"/aws"}`), ""},
	// V7-V9: prefix rewrite.
	{"gr default prefix disabled", "gr", gwRewrite(`{"prefix":"/conor"}`, `{"prefix":{"defaultPrefix":"DISABLED"}}`), ""},
	{"gr prefix rewrite value", "gr", gwRewrite(`{"prefix":"/maroon/","queryParameters":[{"name":"fishes","match":{"exact":"nemo"}}]}`, `{"prefix":{"value":"/red/"}}`), ""},
	{"gr prefix rewrite match without slash", "gr", gwRewrite(`{"prefix":"/maroon"}`, `{"prefix":{"value":"/red/"}}`), ""},
	{"gr prefix rewrite both", "gr", gwRewrite(`{"prefix":"/a/"}`, `{"prefix":{"defaultPrefix":"ENABLED","value":"/b/"}}`), "spec.httpRoute.action.rewrite.prefix must set exactly one of defaultPrefix, value"},
	{"gr prefix rewrite neither", "gr", gwRewrite(`{"prefix":"/a/"}`, `{"prefix":{}}`), "spec.httpRoute.action.rewrite.prefix must set exactly one of defaultPrefix, value"},
	{"gr prefix rewrite no slashes", "gr", gwRewrite(`{"prefix":"/a/"}`, `{"prefix":{"value":"red"}}`), `spec.httpRoute.action.rewrite.prefix.value must start and end with "/"`},
	{"gr prefix rewrite no trailing slash", "gr", gwRewrite(`{"prefix":"/a/"}`, `{"prefix":{"value":"/red"}}`), `spec.httpRoute.action.rewrite.prefix.value must start and end with "/"`},
	// V10-V12: rewrite against match.
	{"gr prefix rewrite with path match", "gr", gwRewrite(`{"path":{"exact":"/a"}}`, `{"prefix":{"value":"/b/"}}`), "spec.httpRoute.action.rewrite.prefix cannot be used with spec.httpRoute.match.path"},
	{"gr path rewrite with prefix match", "gr", gwRewrite(`{"prefix":"/a"}`, `{"path":{"exact":"/b"}}`), "spec.httpRoute.action.rewrite.path cannot be used with spec.httpRoute.match.prefix"},
	{"gr prefix and path rewrite", "gr", gwRewrite(`{"hostname":{"exact":"a.com"}}`, `{"prefix":{"value":"/b/"},"path":{"exact":"/b"}}`), "spec.httpRoute.action.rewrite must not set both prefix and path"},
	{"gr path rewrite", "gr", gwRewrite(`{"path":{"exact":"/rewrite/path/blue"}}`, `{"path":{"exact":"/blue"}}`), ""},
	{"gr hostname only prefix rewrite", "gr", gwRewrite(`{"hostname":{"exact":"www.example.com"}}`, `{"prefix":{"value":"/rewritten/"},"hostname":{"defaultTargetHostname":"ENABLED"}}`), ""},
	{"gr hostname only path rewrite", "gr", gwRewrite(`{"hostname":{"suffix":".example.com"}}`, `{"path":{"exact":"/x"}}`), ""},
	{"gr empty rewrite", "gr", gwRewrite(`{"prefix":"/"}`, `{}`), ""},
	{"gr empty hostname rewrite", "gr", gwRewrite(`{"prefix":"/"}`, `{"hostname":{}}`), ""},
	{"gr path rewrite no slash", "gr", gwRewrite(`{"path":{"exact":"/a"}}`, `{"path":{"exact":"blue"}}`), `spec.httpRoute.action.rewrite.path.exact must start with "/"`},
	{"gr path rewrite empty", "gr", gwRewrite(`{"path":{"exact":"/a"}}`, `{"path":{}}`), "spec.httpRoute.action.rewrite.path.exact is required"},
	// V13: headers and metadata.
	{"gr headers", "gr", gwHTTP(`{"prefix":"/","headers":[{"name":"color_header","match":{"exact":"yellow"}},{"name":"x-present"},{"name":"x-ver","invert":true,"match":{"range":{"start":1,"end":5}}},{"name":"x-re","match":{"regex":"ab+c"}}]}`), ""},
	{"gr header range empty", "gr", gwHTTP(`{"prefix":"/","headers":[{"name":"x-ver","match":{"range":{"start":5,"end":5}}}]}`), "spec.httpRoute.match.headers[0].match.range start must be less than end"},
	{"gr header regex invalid", "gr", gwHTTP(`{"prefix":"/","headers":[{"name":"x","match":{"regex":"[a-"}}]}`), "spec.httpRoute.match.headers[0].match.regex is not a valid RE2 regular expression"},
	{"gr header pseudo", "gr", gwHTTP(`{"prefix":"/","headers":[{"name":":authority","match":{"exact":"a"}}]}`), "spec.httpRoute.match.headers[0].name must contain only printable ASCII"},
	{"gr header space", "gr", gwHTTP(`{"prefix":"/","headers":[{"name":"x y"}]}`), "spec.httpRoute.match.headers[0].name must contain only printable ASCII"},
	{"gr header host", "gr", gwHTTP(`{"prefix":"/","headers":[{"name":"Host","match":{"suffix":".com"}}]}`), ""},
	{"gr metadata", "gr", gwGRPC(`{"serviceName":"color.ColorService","metadata":[{"name":"device","match":{"exact":"iphone"}},{"name":"x-present"}]}`), ""},
	{"gr metadata range", "gr", gwGRPC(`{"serviceName":"a.B","metadata":[{"name":"n","match":{"range":{"start":9,"end":1}}}]}`), "spec.grpcRoute.match.metadata[0].match.range start must be less than end"},
	{"gr metadata regex", "gr", gwGRPC(`{"serviceName":"a.B","metadata":[{"name":"n","match":{"regex":"("}}]}`), "spec.grpcRoute.match.metadata[0].match.regex is not a valid"},
	// V14: query parameters.
	{"gr query presence", "gr", gwHTTP(`{"prefix":"/","queryParameters":[{"name":"debug"}]}`), ""},
	{"gr query match without exact", "gr", gwHTTP(`{"prefix":"/","queryParameters":[{"name":"debug","match":{}}]}`), "spec.httpRoute.match.queryParameters[0].match.exact is required"},
	{"gr query empty name", "gr", gwHTTP(`{"prefix":"/","queryParameters":[{"name":""}]}`), "spec.httpRoute.match.queryParameters[0].name must not be empty"},
	// V18 and the gRPC minimum match.
	{"gr grpc service", "gr", gwGRPC(`{"serviceName":"color.ColorService"}`), ""},
	{"gr grpc port only", "gr", gwGRPC(`{"port":8080}`), ""},
	{"gr grpc hostname only", "gr", gwGRPC(`{"hostname":{"suffix":".example.com"}}`), ""},
	{"gr grpc empty match", "gr", gwGRPC(`{}`), "spec.grpcRoute.match must specify at least one match criterion"},
	{"gr grpc empty service", "gr", gwGRPC(`{"serviceName":""}`), "spec.grpcRoute.match.serviceName must not be empty"},
	{"gr grpc reserved aws.appmesh", "gr", gwGRPC(`{"serviceName":"aws.appmesh.Envoy"}`), "spec.grpcRoute.match.serviceName must not use the reserved"},
	{"gr grpc reserved aws.app-mesh", "gr", gwGRPC(`{"serviceName":"aws.app-mesh.X"}`), "spec.grpcRoute.match.serviceName must not use the reserved"},
	{"gr grpc reserved slash", "gr", gwGRPC(`{"serviceName":"/aws.app-mesh"}`), "spec.grpcRoute.match.serviceName must not use the reserved"},
	{"gr grpc hostname wildcard", "gr", gwGRPC(`{"hostname":{"exact":"*"}}`), `spec.grpcRoute.match.hostname.exact must not contain "*"`},

	// VirtualNode: listeners and service discovery.
	{"vn backend only", "vn", `{"backends":[{"virtualService":{"virtualServiceName":"b.local"}}]}`, ""},
	{"vn listener with dns", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"http"}}`), ""},
	{"vn listener without sd", "vn", `{"listeners":[{"portMapping":{"port":9080,"protocol":"http"}}]}`, "spec.serviceDiscovery is required when listeners are specified"},
	{"vn duplicate ports", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"http"}},{"portMapping":{"port":9080,"protocol":"tcp"}}`), "spec.listeners[1].portMapping.port 9080 is already used"},
	{"vn two listeners", "vn", vnListener(`{"portMapping":{"port":5555,"protocol":"http"}},{"portMapping":{"port":6666,"protocol":"http"}}`), ""},
	{"vn dns empty hostname", "vn", `{"serviceDiscovery":{"dns":{"hostname":""}}}`, "spec.serviceDiscovery.dns.hostname must not be empty"},
	{"vn cloud map", "vn", `{"listeners":[{"portMapping":{"port":8080,"protocol":"grpc"}}],"serviceDiscovery":{"awsCloudMap":{"namespaceName":"ns.local","serviceName":"color"}}}`, ""},
	{"vn cloud map attributes", "vn", `{"serviceDiscovery":{"awsCloudMap":{"namespaceName":"ns.local","serviceName":"color","attributes":[{"key":"stage","value":"prod"}]}}}`, "spec.serviceDiscovery.awsCloudMap.attributes is not supported by meshgate"},
	// VirtualNode: health check.
	{"vn hc", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"http"},"healthCheck":{` + hc + `,"protocol":"http","path":"/ping","port":9080}}`), ""},
	{"vn grpc hc on http2", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"http2"},"healthCheck":{` + hc + `,"protocol":"grpc"}}`), ""},
	{"vn grpc hc on tcp", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"tcp"},"healthCheck":{` + hc + `,"protocol":"grpc"}}`), "spec.listeners[0].healthCheck.protocol is invalid: GRPC HealthCheck requires listener type of HTTP2 or GRPC."},
	{"vn hc other port", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"tcp"},"healthCheck":{` + hc + `,"protocol":"tcp","port":1}}`), "spec.listeners[0].healthCheck.port must match the listener port 9080, got 1"},
	// VirtualNode: connection pool and timeouts.
	{"vn tcp pool", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"tcp"},"connectionPool":{"tcp":{"maxConnections":5}}}`), ""},
	{"vn pool mismatch", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"http"},"connectionPool":{"tcp":{"maxConnections":5}}}`), "spec.listeners[0].connectionPool.tcp does not match the listener protocol http"},
	{"vn http timeout", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"http"},"timeout":{"http":{"idle":{"value":300,"unit":"s"},"perRequest":{"value":0,"unit":"ms"}}}}`), ""},
	{"vn grpc timeout", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"grpc"},"timeout":{"grpc":{"perRequest":{"value":15,"unit":"s"}}}}`), ""},
	{"vn timeout mismatch", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"http"},"timeout":{"http2":{"idle":{"value":1,"unit":"s"}}}}`), "spec.listeners[0].timeout.http2 does not match the listener protocol http"},
	{"vn timeout no unit", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"http"},"timeout":{"http":{"perRequest":{"value":5}}}}`), "spec.listeners[0].timeout.http.perRequest.unit is required"},
	{"vn timeout no value", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"grpc"},"timeout":{"grpc":{"idle":{"unit":"s"}}}}`), "spec.listeners[0].timeout.grpc.idle.value is required"},
	{"vn tcp timeout too long", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"tcp"},"timeout":{"tcp":{"idle":{"value":315576000001,"unit":"s"}}}}`), "spec.listeners[0].timeout.tcp.idle.value must be at most 315576000000s"},
	// VirtualNode: outlier detection.
	{"vn outlier", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"http"},"outlierDetection":{"maxServerErrors":5,"maxEjectionPercent":50,"interval":{"value":10,"unit":"s"},"baseEjectionDuration":{"value":30000,"unit":"ms"}}}`), ""},
	{"vn outlier zero interval", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"http"},"outlierDetection":{"maxServerErrors":5,"maxEjectionPercent":50,"interval":{"value":0,"unit":"s"},"baseEjectionDuration":{"value":30,"unit":"s"}}}`), "spec.listeners[0].outlierDetection.interval.value must be greater than 0"},
	{"vn outlier no unit", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"http"},"outlierDetection":{"maxServerErrors":5,"maxEjectionPercent":50,"interval":{"value":10,"unit":"s"},"baseEjectionDuration":{"value":30}}}`), "spec.listeners[0].outlierDetection.baseEjectionDuration.unit is required"},
	// VirtualNode: TLS.
	{"vn listener file tls", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"http"},"tls":{"mode":"STRICT",` + fileCert + `,"validation":{"trust":{"sds":{"secretName":"ca"}}}}}`), ""},
	{"vn listener acm", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"http"},"tls":{"mode":"STRICT","certificate":{"acm":{"certificateArn":"arn:x"}}}}`), "spec.listeners[0].tls.certificate.acm is not supported by meshgate"},
	{"vn listener empty san", "vn", vnListener(`{"portMapping":{"port":9080,"protocol":"http"},"tls":{"mode":"STRICT",` + fileCert + `,"validation":{"trust":{"file":{"certificateChain":"/ca.pem"}},"subjectAlternativeNames":{"match":{"exact":[]}}}}}`), "spec.listeners[0].tls.validation.subjectAlternativeNames.match.exact must have at least 1 items"},
	{"vn backend tls", "vn", vnBackendTLS(`{"enforce":true,"ports":[8080],"certificate":{"sds":{"secretName":"me"}},"validation":{"trust":{"file":{"certificateChain":"/ca.pem"}},"subjectAlternativeNames":{"match":{"exact":["b.local"]}}}}`), ""},
	{"vn backend acm trust", "vn", vnBackendTLS(`{"validation":{"trust":{"acm":{"certificateAuthorityArns":["arn:ca"]}}}}`), "spec.backends[0].virtualService.clientPolicy.tls.validation.trust.acm is not supported by meshgate"},
	{"vn backend duplicate ports", "vn", vnBackendTLS(`{"ports":[1,2,1],"validation":{"trust":{"file":{"certificateChain":"/ca.pem"}}}}`), "spec.backends[0].virtualService.clientPolicy.tls.ports[2] 1 is already used"},
	{"vn backend empty secret", "vn", vnBackendTLS(`{"certificate":{"sds":{"secretName":""}},"validation":{"trust":{"file":{"certificateChain":"/ca.pem"}}}}`), "spec.backends[0].virtualService.clientPolicy.tls.certificate.sds.secretName must not be empty"},
	{"vn backend defaults acm", "vn", `{"backendDefaults":{"clientPolicy":{"tls":{"validation":{"trust":{"acm":{"certificateAuthorityArns":["arn:ca"]}}}}}}}`, "spec.backendDefaults.clientPolicy.tls.validation.trust.acm is not supported by meshgate"},
	{"vn backend defaults sds", "vn", `{"backendDefaults":{"clientPolicy":{"tls":{"validation":{"trust":{"sds":{"secretName":"ca"}}}}}}}`, ""},
	// VirtualNode: backends and logging.
	{"vn two backends", "vn", `{"backends":[{"virtualService":{"virtualServiceName":"a.local"}},{"virtualService":{"virtualServiceName":"b.local"}}]}`, ""},
	{"vn backend empty name", "vn", `{"backends":[{"virtualService":{"virtualServiceName":""}}]}`, "spec.backends[0].virtualService.virtualServiceName must not be empty"},
	{"vn backend duplicate", "vn", `{"backends":[{"virtualService":{"virtualServiceName":"a.local"}},{"virtualService":{"virtualServiceName":"a.local"}}]}`, `spec.backends[1].virtualService.virtualServiceName "a.local" is already a backend at spec.backends[0].virtualService`},
	{"vn text log", "vn", `{"logging":{"accessLog":{"file":{"path":"/dev/stdout","format":{"text":"%DOWNSTREAM_REMOTE_ADDRESS% %DURATION%"}}}}}`, ""},
	{"vn text log bad", "vn", `{"logging":{"accessLog":{"file":{"path":"/dev/stdout","format":{"text":"%duration%"}}}}}`, "spec.logging.accessLog.file.format.text has an invalid or unterminated % command operator at position 0"},

	// VirtualRouter.
	{"vr one listener", "vr", `{"listeners":[{"portMapping":{"port":9080,"protocol":"http"}}]}`, ""},
	{"vr tcp and http", "vr", `{"listeners":[{"portMapping":{"port":3333,"protocol":"tcp"}},{"portMapping":{"port":4444,"protocol":"http"}}]}`, ""},
	{"vr no listeners", "vr", `{}`, "spec.listeners must have at least 1 items"},
	{"vr empty listeners", "vr", `{"listeners":[]}`, "spec.listeners must have at least 1 items"},
	{"vr duplicate ports", "vr", `{"listeners":[{"portMapping":{"port":3333,"protocol":"http"}},{"portMapping":{"port":3333,"protocol":"grpc"}}]}`, "spec.listeners[1].portMapping.port 3333 is already used by spec.listeners[0].portMapping.port"},

	// Route: one route type.
	{"route http", "route", rtHTTP(`{"prefix":"/tell"}`), ""},
	{"route tcp", "route", `{"tcpRoute":{"match":{"port":3333},` + wt + `,"timeout":{"idle":{"value":60,"unit":"s"}}}}`, ""},
	{"route none", "route", `{"priority":3}`, "spec must set exactly one of grpcRoute, http2Route, httpRoute, tcpRoute"},
	{"route two", "route", `{"httpRoute":{"match":{"prefix":"/"},` + wt + `},"tcpRoute":{` + wt + `}}`, "spec must set exactly one of grpcRoute, http2Route, httpRoute, tcpRoute"},
	// Route: http match.
	{"route port only", "route", rtHTTP(`{"port":3333}`), ""},
	{"route reserved prefix allowed", "route", rtHTTP(`{"prefix":"/aws-appmesh"}`), ""},
	{"route empty match", "route", rtHTTP(`{}`), "spec.httpRoute.match must specify at least one match criterion"},
	{"route prefix no slash", "route", rtHTTP(`{"prefix":"tell"}`), `spec.httpRoute.match.prefix must start with "/"`},
	{"route prefix and path", "route", rtHTTP(`{"prefix":"/","path":{"regex":".*"}}`), "spec.httpRoute.match must not set both prefix and path"},
	{"route path exact no slash", "route", rtHTTP(`{"path":{"exact":"tell"}}`), `spec.httpRoute.match.path.exact must start with "/"`},
	{"route path regex invalid", "route", rtHTTP(`{"path":{"regex":"*"}}`), "spec.httpRoute.match.path.regex is not a valid RE2 regular expression"},
	{"route header regex invalid", "route", rtHTTP(`{"prefix":"/","headers":[{"name":"x","match":{"regex":"a)"}}]}`), "spec.httpRoute.match.headers[0].match.regex is not a valid"},
	{"route header range", "route", rtHTTP(`{"prefix":"/","headers":[{"name":"x","match":{"range":{"start":10,"end":1}}}]}`), "spec.httpRoute.match.headers[0].match.range start must be less than end"},
	{"route query match", "route", rtHTTP(`{"prefix":"/","queryParameters":[{"name":"q","match":{}}]}`), "spec.httpRoute.match.queryParameters[0].match.exact is required"},
	{"route http2 scheme", "route", `{"http2Route":{"match":{"prefix":"/","scheme":"https"},` + wt + `}}`, ""},
	{"route http scheme", "route", rtHTTP(`{"prefix":"/","scheme":"http"}`), "spec.httpRoute.match.scheme is only allowed on http2Route"},
	// Route: weights.
	{"route zero weight allowed", "route", `{"httpRoute":{"match":{"prefix":"/"},"action":{"weightedTargets":[{"virtualNode":"a","weight":0},{"virtualNode":"b","weight":100}]}}}`, ""},
	{"route weights over 100", "route", `{"httpRoute":{"match":{"prefix":"/"},"action":{"weightedTargets":[{"virtualNode":"a","weight":60},{"virtualNode":"b","weight":50}]}}}`, "spec.httpRoute.action.weightedTargets total weight must be at most 100, got 110"},
	{"route weights all zero", "route", `{"tcpRoute":{"action":{"weightedTargets":[{"virtualNode":"a","weight":0}]}}}`, "spec.tcpRoute.action.weightedTargets total weight must be greater than 0"},
	{"route grpc weights over 100", "route", `{"grpcRoute":{"match":{"serviceName":"a.B"},"action":{"weightedTargets":[{"virtualNode":"a","weight":100},{"virtualNode":"b","weight":1}]}}}`, "spec.grpcRoute.action.weightedTargets total weight must be at most 100"},
	// Route: grpc match.
	{"route grpc method", "route", `{"grpcRoute":{"match":{"serviceName":"color.ColorService","methodName":"GetColor","metadata":[{"name":"a","match":{"prefix":"x"}}]},` + wt + `}}`, ""},
	{"route grpc method without service", "route", `{"grpcRoute":{"match":{"methodName":"GetColor"},` + wt + `}}`, "spec.grpcRoute.match.methodName requires serviceName"},
	{"route grpc empty match", "route", `{"grpcRoute":{"match":{},` + wt + `}}`, "spec.grpcRoute.match must specify at least one match criterion"},
	{"route grpc metadata name", "route", `{"grpcRoute":{"match":{"metadata":[{"name":":path"}]},` + wt + `}}`, "spec.grpcRoute.match.metadata[0].name must contain only printable ASCII"},
	{"route grpc reserved allowed", "route", `{"grpcRoute":{"match":{"serviceName":"aws.appmesh.X"},` + wt + `}}`, ""},
	// Route: retry policy and timeouts.
	{"route http retry", "route", `{"httpRoute":{"match":{"prefix":"/"},` + wt + `,"retryPolicy":{"maxRetries":3,"perRetryTimeout":{"value":2,"unit":"s"},"httpRetryEvents":["server-error","gateway-error","client-error","stream-error"],"tcpRetryEvents":["connection-error"]}}}`, ""},
	{"route http retry tcp only", "route", `{"httpRoute":{"match":{"prefix":"/"},` + wt + `,"retryPolicy":{"maxRetries":3,"perRetryTimeout":{"value":2,"unit":"s"},"tcpRetryEvents":["connection-error"]}}}`, ""},
	{"route http retry no events", "route", `{"httpRoute":{"match":{"prefix":"/"},` + wt + `,"retryPolicy":{"maxRetries":3,"perRetryTimeout":{"value":2,"unit":"s"}}}}`, "spec.httpRoute.retryPolicy must specify at least one retry event in httpRetryEvents, tcpRetryEvents"},
	{"route http retry bad event", "route", `{"httpRoute":{"match":{"prefix":"/"},` + wt + `,"retryPolicy":{"maxRetries":3,"perRetryTimeout":{"value":2,"unit":"s"},"httpRetryEvents":["server-error","5xx"]}}}`, `spec.httpRoute.retryPolicy.httpRetryEvents[1] must be one of server-error, gateway-error, client-error, stream-error, got "5xx"`},
	{"route http retry timeout no unit", "route", `{"http2Route":{"match":{"prefix":"/"},` + wt + `,"retryPolicy":{"maxRetries":3,"perRetryTimeout":{"value":2},"httpRetryEvents":["server-error"]}}}`, "spec.http2Route.retryPolicy.perRetryTimeout.unit is required"},
	{"route grpc retry", "route", `{"grpcRoute":{"match":{"serviceName":"a.B"},` + wt + `,"retryPolicy":{"maxRetries":1,"perRetryTimeout":{"value":500,"unit":"ms"},"grpcRetryEvents":["unavailable"]}}}`, ""},
	{"route grpc retry no events", "route", `{"grpcRoute":{"match":{"serviceName":"a.B"},` + wt + `,"retryPolicy":{"maxRetries":1,"perRetryTimeout":{"value":500,"unit":"ms"}}}}`, "spec.grpcRoute.retryPolicy must specify at least one retry event in grpcRetryEvents, httpRetryEvents, tcpRetryEvents"},
	{"route http timeout", "route", `{"httpRoute":{"match":{"prefix":"/"},` + wt + `,"timeout":{"perRequest":{"value":30,"unit":"s"},"idle":{"value":0,"unit":"s"}}}}`, ""},
	{"route http timeout no value", "route", `{"httpRoute":{"match":{"prefix":"/"},` + wt + `,"timeout":{"idle":{"unit":"s"}}}}`, "spec.httpRoute.timeout.idle.value is required"},
	{"route grpc timeout no unit", "route", `{"grpcRoute":{"match":{"serviceName":"a.B"},` + wt + `,"timeout":{"perRequest":{"value":1}}}}`, "spec.grpcRoute.timeout.perRequest.unit is required"},
	{"route tcp timeout no unit", "route", `{"tcpRoute":{` + wt + `,"timeout":{"idle":{"value":1}}}}`, "spec.tcpRoute.timeout.idle.unit is required"},

	// VirtualService and Mesh: the model covers them.
	{"vs router provider", "vs", `{"provider":{"virtualRouter":{"virtualRouterName":"vr"}}}`, ""},
	{"vs no provider", "vs", `{}`, ""},
	{"mesh allow all", "mesh", `{"egressFilter":{"type":"ALLOW_ALL"},"serviceDiscovery":{"ipPreference":"IPv4_ONLY"}}`, ""},
}

func decodeSpec(kind string, data []byte, strict bool) (spec, error) {
	s := newSpec(kind)
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	return s, dec.Decode(s)
}

func TestRules(t *testing.T) {
	for _, tc := range ruleCases {
		t.Run(tc.kind+"/"+tc.name, func(t *testing.T) {
			s, err := decodeSpec(tc.kind, []byte(tc.spec), true)
			if err != nil {
				t.Fatalf("decode %s: %v", tc.spec, err)
			}
			// Check runs after the model validation, so every input must pass it.
			var model validator
			s.validate(&model, ".spec")
			if model.err != nil {
				t.Fatalf("input is not model-valid: %v", model.err)
			}
			err = s.Check()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check() = %v, want nil", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Check() = %v, want *Error containing %q", err, tc.want)
			}
			if e.Code != "BadRequestException" || e.Status != 400 {
				t.Errorf("code = %s/%d, want BadRequestException/400", e.Code, e.Status)
			}
			if !strings.Contains(e.Message, tc.want) {
				t.Errorf("message = %q, want it to contain %q", e.Message, tc.want)
			}
			if !strings.HasPrefix(e.Message, "spec") {
				t.Errorf("message = %q, want it to start with the spec path", e.Message)
			}
		})
	}
}

// TestRulesNilSafe: Check is reached through pointers that may be nil, and
// on zero values it must not panic.
func TestRulesNilSafe(t *testing.T) {
	for _, kind := range specKinds {
		_ = newSpec(kind).Check()
	}
	var vg *VirtualGatewaySpec
	var gr *GatewayRouteSpec
	var vn *VirtualNodeSpec
	var vr *VirtualRouterSpec
	var rt *RouteSpec
	var vs *VirtualServiceSpec
	var mesh *MeshSpec
	for _, err := range []error{vg.Check(), gr.Check(), vn.Check(), vr.Check(), rt.Check(), vs.Check(), mesh.Check()} {
		if err != nil {
			t.Errorf("nil spec: %v", err)
		}
	}
}
