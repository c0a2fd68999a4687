package appmesh

// Stateless rules for VirtualNodeSpec (reference §12.3).
//
// Decisions (one line each, for docs/api-compatibility.md):
//   - VirtualNode: serviceDiscovery is required when at least one listener is given (M-doc); an empty listeners list
//     counts as no listener.
//   - VirtualNode: listener ports must be unique.
//   - VirtualNode: the connectionPool and timeout members must be the listener protocol (tcp, http, http2 or grpc).
//   - VirtualNode: healthCheck.protocol grpc needs an http2 or grpc listener; healthCheck.port, when set, must equal the
//     listener port.
//   - VirtualNode: every Duration (timeouts, outlierDetection) needs both value and unit; outlierDetection.interval and
//     baseEjectionDuration must also be greater than 0 (a zero sweep interval or ejection time is meaningless and
//     Envoy refuses it).
//   - VirtualNode: any ACM member (listener tls.certificate.acm; backend and backendDefaults clientPolicy
//     tls.validation.trust.acm) is rejected: no ACM in a self-hosted deployment; use file or sds.
//   - VirtualNode: awsCloudMap is accepted and resolved through DNS as serviceName.namespaceName; a non-empty
//     attributes list is rejected because instance-attribute filtering needs AWS Cloud Map.
//   - VirtualNode: dns.hostname must not be empty (the model only requires the member).
//   - VirtualNode: each backend virtualServiceName must not be empty and must be unique within the node (two entries
//     for the same service would carry two client policies for one upstream).

// Check applies the VirtualNode rules the model cannot express.
func (s *VirtualNodeSpec) Check() error {
	if s == nil {
		return nil
	}
	var v validator
	if len(s.Listeners) > 0 && s.ServiceDiscovery == nil {
		v.fail("spec.serviceDiscovery", "is required when listeners are specified")
	}
	seen := map[int64]string{}
	for i := range s.Listeners {
		s.Listeners[i].checkRules(&v, index("spec.listeners", i), seen)
	}
	s.ServiceDiscovery.checkRules(&v, "spec.serviceDiscovery")
	names := map[string]string{}
	for i := range s.Backends {
		s.Backends[i].checkRules(&v, index("spec.backends", i), names)
	}
	if b := s.BackendDefaults; b != nil && b.ClientPolicy != nil {
		b.ClientPolicy.Tls.checkRules(&v, "spec.backendDefaults.clientPolicy.tls")
	}
	if l := s.Logging; l != nil && l.AccessLog != nil && l.AccessLog.File != nil {
		accessLogFormat(&v, "spec.logging.accessLog.file.format", l.AccessLog.File.Format)
	}
	return v.err
}

var listenerProtocols = []string{"grpc", "http", "http2", "tcp"}

func (l *Listener) checkRules(v *validator, path string, seen map[int64]string) {
	var protocol *string
	var port *int64
	if pm := l.PortMapping; pm != nil {
		protocol, port = pm.Protocol, pm.Port
		uniquePort(v, seen, path+".portMapping.port", port)
	}
	if cp := l.ConnectionPool; cp != nil {
		protocolMember(v, path+".connectionPool", protocol, listenerProtocols,
			cp.Grpc != nil, cp.Http != nil, cp.Http2 != nil, cp.Tcp != nil)
	}
	if t := l.Timeout; t != nil {
		tp := path + ".timeout"
		protocolMember(v, tp, protocol, listenerProtocols, t.Grpc != nil, t.Http != nil, t.Http2 != nil, t.Tcp != nil)
		timeouts(v, tp+".grpc", (*HttpTimeout)(t.Grpc))
		timeouts(v, tp+".http", t.Http)
		timeouts(v, tp+".http2", t.Http2)
		tcpTimeout(v, tp+".tcp", t.Tcp)
	}
	if hc := l.HealthCheck; hc != nil {
		healthCheck(v, path+".healthCheck", protocol, port, hc.Port, hc.Protocol)
	}
	if od := l.OutlierDetection; od != nil {
		duration(v, path+".outlierDetection.interval", od.Interval, true)
		duration(v, path+".outlierDetection.baseEjectionDuration", od.BaseEjectionDuration, true)
	}
	l.Tls.checkRules(v, path+".tls")
}

func (t *ListenerTls) checkRules(v *validator, path string) {
	if t == nil {
		return
	}
	if c := t.Certificate; c != nil {
		if c.Acm != nil {
			rejectACM(v, path+".certificate.acm")
		}
		if c.Sds != nil {
			nonEmpty(v, path+".certificate.sds.secretName", c.Sds.SecretName)
		}
	}
	if val := t.Validation; val != nil {
		if tr := val.Trust; tr != nil && tr.Sds != nil {
			nonEmpty(v, path+".validation.trust.sds.secretName", tr.Sds.SecretName)
		}
		subjectAltNames(v, path+".validation.subjectAlternativeNames", val.SubjectAlternativeNames)
	}
}

func (t *ClientPolicyTls) checkRules(v *validator, path string) {
	if t == nil {
		return
	}
	uniquePorts(v, path+".ports", t.Ports)
	if c := t.Certificate; c != nil && c.Sds != nil {
		nonEmpty(v, path+".certificate.sds.secretName", c.Sds.SecretName)
	}
	if val := t.Validation; val != nil {
		if tr := val.Trust; tr != nil {
			if tr.Acm != nil {
				rejectACM(v, path+".validation.trust.acm")
			}
			if tr.Sds != nil {
				nonEmpty(v, path+".validation.trust.sds.secretName", tr.Sds.SecretName)
			}
		}
		subjectAltNames(v, path+".validation.subjectAlternativeNames", val.SubjectAlternativeNames)
	}
}

func (sd *ServiceDiscovery) checkRules(v *validator, path string) {
	if sd == nil {
		return
	}
	if sd.Dns != nil {
		nonEmpty(v, path+".dns.hostname", sd.Dns.Hostname)
	}
	if cm := sd.AwsCloudMap; cm != nil && len(cm.Attributes) > 0 {
		v.fail(path+".awsCloudMap.attributes", "is not supported by meshgate: instance attribute filtering needs AWS Cloud Map; "+
			"remove attributes (the node resolves serviceName.namespaceName through DNS)")
	}
}

func (b *Backend) checkRules(v *validator, path string, names map[string]string) {
	vs := b.VirtualService
	if vs == nil {
		return
	}
	path += ".virtualService"
	if n := vs.VirtualServiceName; n != nil {
		if *n == "" {
			v.fail(path+".virtualServiceName", "must not be empty")
		} else if prev, ok := names[*n]; ok {
			v.fail(path+".virtualServiceName", "%q is already a backend at %s", *n, prev)
		} else {
			names[*n] = path
		}
	}
	if cp := vs.ClientPolicy; cp != nil {
		cp.Tls.checkRules(v, path+".clientPolicy.tls")
	}
}
