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

func TestGatewayHeapFloorFlag(t *testing.T) {
	const gw = "mesh/m/virtualGateway/gw"
	for _, tc := range []struct {
		name, env string
		args      []string
		want      uint64
		wantErr   bool
	}{
		{name: "default", want: 8},
		{name: "flag", args: []string{"--gc-heap-floor", "0"}, want: 0},
		{name: "env", env: "32", want: 32},
		{name: "flag over env", env: "32", args: []string{"--gc-heap-floor", "4"}, want: 4},
		{name: "bad env", env: "8MiB", wantErr: true},
		{name: "negative flag", args: []string{"--gc-heap-floor", "-1"}, wantErr: true},
		{name: "too large", args: []string{"--gc-heap-floor", "1048577"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("MESHGATE_GC_HEAP_FLOOR_MIB", tc.env)
			f, err := parseGatewayFlags(append([]string{"--resource", gw}, tc.args...))
			switch {
			case tc.wantErr && err == nil:
				t.Fatalf("accepted: floor %d", f.heapFloor)
			case !tc.wantErr && err != nil:
				t.Fatal(err)
			case !tc.wantErr && f.heapFloor != tc.want:
				t.Fatalf("floor %d MiB, want %d", f.heapFloor, tc.want)
			}
		})
	}
}
