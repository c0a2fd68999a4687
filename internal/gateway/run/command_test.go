package run

import "testing"

func TestGatewayXDSCredentialFlags(t *testing.T) {
	f, err := parseGatewayFlags([]string{"--resource", "mesh/m/virtualGateway/gw", "--xds-cert", "c.pem", "--xds-key", "k.pem",
		"--xds-token-file", "tok"})
	if err != nil || f.xdsCert != "c.pem" || f.xdsKey != "k.pem" || f.xdsToken != "tok" {
		t.Errorf("flags: %+v %v", f, err)
	}
	t.Setenv("MESHGATE_XDS_CERT", "env.crt")
	t.Setenv("MESHGATE_XDS_KEY", "env.key")
	t.Setenv("MESHGATE_XDS_TOKEN_FILE", "env.tok")
	f, err = parseGatewayFlags([]string{"--resource", "mesh/m/virtualGateway/gw"})
	if err != nil || f.xdsCert != "env.crt" || f.xdsKey != "env.key" || f.xdsToken != "env.tok" {
		t.Errorf("environment: %+v %v", f, err)
	}
}
