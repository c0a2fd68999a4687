package envoy

import (
	"fmt"
	"strings"

	accesslog "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filelog "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// accessLogs is the gateway's access log, written by the ingress listeners
// only: the egress hop sees every request a second time, and logging it
// would double each line.
func (t *translator) accessLogs() ([]*accesslog.AccessLog, error) {
	l := t.g.AccessLog
	if l == nil {
		return nil, nil
	}
	if l.Path == "" {
		return nil, fmt.Errorf("access log without a path")
	}
	cfg := &filelog.FileAccessLog{Path: l.Path}
	switch {
	case len(l.JSON) > 0:
		fields := map[string]any{}
		for _, f := range l.JSON {
			fields[f.Key] = f.Value
		}
		// A Struct has no key order: Envoy writes the keys in its own order,
		// not the user's (App Mesh's Envoy did the same).
		s, err := structpb.NewStruct(fields)
		if err != nil {
			return nil, err
		}
		cfg.AccessLogFormat = &filelog.FileAccessLog_LogFormat{LogFormat: &core.SubstitutionFormatString{
			Format: &core.SubstitutionFormatString_JsonFormat{JsonFormat: s},
		}}
	case l.Text != "":
		// Envoy writes a text format as is, without a line break of its own.
		text := l.Text
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		cfg.AccessLogFormat = &filelog.FileAccessLog_LogFormat{LogFormat: &core.SubstitutionFormatString{
			Format: &core.SubstitutionFormatString_TextFormatSource{TextFormatSource: &core.DataSource{
				Specifier: &core.DataSource_InlineString{InlineString: text},
			}},
		}}
	}
	// Neither: Envoy's default format.
	a, err := marshalAny(cfg)
	if err != nil {
		return nil, err
	}
	return []*accesslog.AccessLog{{
		Name:       "envoy.access_loggers.file",
		ConfigType: &accesslog.AccessLog_TypedConfig{TypedConfig: a},
	}}, nil
}
