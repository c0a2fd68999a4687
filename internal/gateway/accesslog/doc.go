// Package accesslog renders and writes access-log lines the way App Mesh's
// Envoy did, so log pipelines built for App Mesh keep parsing them.
//
// A format is compiled once per configuration (Compile for an Envoy format
// string, CompileJSON for App Mesh's JSON key/value form, CompileConfig for
// an ir.AccessLog) and rendered per request with Format.Append, which
// appends to a caller-owned buffer and allocates nothing for the common
// operators. Logger moves rendered lines to a file on one goroutine so a
// slow disk never stalls a request.
//
// Behaviour decisions, each matching Envoy unless noted:
//
//   - Compile uses a text format exactly as given, as Envoy's formatter
//     does ("does not make any assumptions about a new line separator").
//     CompileConfig, which turns a gateway's configuration into a format,
//     adds a final "\n" when the text lacks one, as the project's Envoy
//     translation (internal/translate/envoy) does, so both data planes
//     write the same lines and a format without "\n" does not run every
//     request into one line. The default format ends with a newline.
//   - A missing value renders as "-" in text formats.
//   - JSON formats follow Envoy v3 SubstitutionFormatString.json_format,
//     which is typed: a value that is exactly one operator keeps the
//     operator's type (RESPONSE_CODE, DURATION, BYTES_SENT, ... are JSON
//     numbers) and renders null when missing; a value that mixes text and
//     operators is a string with "-" for missing parts. Each JSON line ends
//     with "\n" like Envoy's.
//   - JSON keys keep the configured order. Envoy's order came from a
//     protobuf map and was unspecified, so any fixed order is compatible;
//     the user's is the most useful.
//   - Unknown operators are a compile error (Envoy NACKs such a config).
//     Operators Envoy knows but this gateway has no data for (metadata,
//     filter state, upstream TLS details, ...) compile and render as
//     missing, as Envoy renders operators that do not apply ("Not
//     implemented" in its docs), so a configuration Envoy accepted is
//     accepted here too.
//   - START_TIME and other timestamps are UTC, as in Envoy; the default
//     is "%Y-%m-%dT%H:%M:%E3SZ" (2016-04-15T20:17:00.310Z).
package accesslog
