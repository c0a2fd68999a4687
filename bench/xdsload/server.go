package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/meshgate/meshgate/internal/xds"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// server is a `meshgate server` process on loopback ports chosen by the
// kernel, with its store in a temporary SQLite file.
type server struct {
	cmd   *exec.Cmd
	api   string // http://127.0.0.1:PORT
	xds   string // 127.0.0.1:PORT
	admin string // http://127.0.0.1:PORT
	dir   string
	done  chan struct{}
	http  *http.Client
}

var servingLine = regexp.MustCompile(`msg="meshgate serving".*api=(http://127\.0\.0\.1:\d+).*xds=(127\.0\.0\.1:\d+).*admin=(127\.0\.0\.1:\d+)`)

// buildMeshgate builds the binary into dir.
func buildMeshgate(dir string) (string, error) {
	bin := filepath.Join(dir, "meshgate")
	cmd := exec.Command("go", "build", "-tags", "grpcnotrace", "-o", bin, "github.com/meshgate/meshgate/cmd/meshgate")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building meshgate: %w", err)
	}
	return bin, nil
}

// startServer runs bin server with args added, writes its log to logw and
// waits for its "meshgate serving" line.
func startServer(bin, dir string, logw io.Writer, extra ...string) (*server, error) {
	args := append([]string{"server", "--auth", "none", "--store", "sqlite:" + filepath.Join(dir, "meshgate.db"),
		"--api-listen", "127.0.0.1:0", "--xds-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--region", region, "--account-id", account}, extra...)
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, dir: dir, done: make(chan struct{}), http: &http.Client{Timeout: 30 * time.Second}}
	found := make(chan []string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if logw != nil {
				fmt.Fprintln(logw, line)
			}
			if m := servingLine.FindStringSubmatch(line); m != nil {
				select {
				case found <- m:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
	}()
	select {
	case m := <-found:
		s.api, s.xds, s.admin = m[1], m[2], "http://"+m[3]
	case <-s.done:
		return nil, fmt.Errorf("meshgate server exited before serving (see its log)")
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, fmt.Errorf("meshgate server did not start serving in 30s")
	}
	return s, nil
}

// stop sends SIGTERM and waits (SIGKILL after 20 s).
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// sample is the server's resource use at one moment.
type sample struct {
	At         time.Time `json:"at"`
	Elapsed    float64   `json:"elapsedSeconds"` // since the start of the phase
	RSSBytes   int64     `json:"rssBytes"`       // VmRSS
	HWMBytes   int64     `json:"hwmBytes"`       // VmHWM: peak RSS so far
	Goroutines float64   `json:"goroutines"`     // go_goroutines
	HeapInuse  float64   `json:"heapInuseBytes"` // go_memstats_heap_inuse_bytes
	// NextGC is go_memstats_next_gc_bytes, the heap size at which the next
	// collection starts: GOGC (100) above the heap live after the last
	// one, so it follows the live heap without the sawtooth of HeapInuse.
	NextGC       float64 `json:"nextGcBytes"`
	OpenFDs      float64 `json:"openFds"`     // process_open_fds
	CPUSeconds   float64 `json:"cpuSeconds"`  // process_cpu_seconds_total
	Proxies      float64 `json:"proxies"`     // sum of meshgate_xds_connected_proxies
	Pushes       float64 `json:"pushes"`      // sum of meshgate_xds_pushes_total
	Rejected     float64 `json:"rejected"`    // sum of meshgate_xds_rejected_streams_total
	ClientsLive  int     `json:"clientsLive"` // load clients with a live stream
	ClientsTotal int     `json:"clientsTotal"`
	// The machine, cumulative since boot: CPU time stolen by the
	// hypervisor (/proc/stat) and time some task waited for a CPU
	// (/proc/pressure/cpu). Their growth between samples says whether a
	// slow moment was the machine's.
	StealSeconds       float64 `json:"stealSeconds"`
	CPUPressureSeconds float64 `json:"cpuPressureSeconds"`
	SampleMs           float64 `json:"sampleMs"` // how long taking this sample took
}

// sample reads /proc/PID/status and the admin /metrics.
func (s *server) sample(ctx context.Context) (sample, error) {
	out := sample{At: time.Now()}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid()))
	if err != nil {
		return out, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "VmRSS":
			dst = &out.RSSBytes
		case "VmHWM":
			dst = &out.HWMBytes
		default:
			continue
		}
		f := strings.Fields(val) // "123456 kB"
		if len(f) == 2 && f[1] == "kB" {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			*dst = n << 10
		}
	}
	out.StealSeconds, out.CPUPressureSeconds = machine()
	m, err := s.metrics(ctx)
	if err != nil {
		return out, err
	}
	out.SampleMs = ms(time.Since(out.At))
	out.Goroutines = m["go_goroutines"]
	out.HeapInuse = m["go_memstats_heap_inuse_bytes"]
	out.NextGC = m["go_memstats_next_gc_bytes"]
	out.OpenFDs = m["process_open_fds"]
	out.CPUSeconds = m["process_cpu_seconds_total"]
	out.Proxies = m["meshgate_xds_connected_proxies"]
	out.Pushes = m["meshgate_xds_pushes_total"]
	out.Rejected = m["meshgate_xds_rejected_streams_total"]
	return out, nil
}

// metrics reads the admin /metrics, summing the series of each metric
// over their labels.
func (s *server) metrics(ctx context.Context) (map[string]float64, error) {
	resp, err := s.get(ctx, "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("/metrics: %w", err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case m.Counter != nil:
				out[name] += m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[name] += m.GetGauge().GetValue()
			case m.Untyped != nil:
				out[name] += m.GetUntyped().GetValue()
			case m.Histogram != nil:
				// As the text form names them: the phases read the
				// sync histogram's count and sum.
				out[name+"_count"] += float64(m.GetHistogram().GetSampleCount())
				out[name+"_sum"] += m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out, nil
}

// debug reads /debug/xds: the gateways' published versions (and every
// proxy; read it only at check points, it is large with 1,000 proxies).
func (s *server) debug(ctx context.Context) (*xds.Debug, error) {
	resp, err := s.get(ctx, "/debug/xds")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	d := &xds.Debug{}
	return d, json.NewDecoder(resp.Body).Decode(d)
}

// get GETs an admin path; a status other than 200 is an error.
func (s *server) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", s.admin+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		return nil, fmt.Errorf("%s: %s", path, resp.Status)
	}
	return resp, nil
}

// machine reads the hypervisor's steal time and the CPU pressure stall
// total, in seconds since boot (0 where the kernel does not say).
func machine() (steal, pressure float64) {
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
		if len(f) > 8 && f[0] == "cpu" {
			n, _ := strconv.ParseFloat(f[8], 64)
			steal = n / 100 // USER_HZ
		}
	}
	if b, err := os.ReadFile("/proc/pressure/cpu"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n") // some avg10=… total=MICROSECONDS
		if i := strings.Index(line, "total="); i >= 0 {
			n, _ := strconv.ParseFloat(strings.TrimSpace(line[i+6:]), 64)
			pressure = n / 1e6
		}
	}
	return steal, pressure
}
