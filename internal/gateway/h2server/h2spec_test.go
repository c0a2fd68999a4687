package h2server

// TestH2Spec runs the h2spec conformance suite (RFC 7540/9113 and HPACK)
// against an h2server on 127.0.0.1 and fails listing each failed case.
// The same run against net/http's HTTP/2 server is logged for
// comparison (it fails a few cases; nothing here depends on it), and so
// is a run with --strict (h2spec's "strict" cases test SHOULDs too).
//
// h2spec: go install github.com/summerwind/h2spec/cmd/h2spec@latest

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// specFindH2spec returns the path of the h2spec binary: on PATH, in
// $HOME/go/bin, or in $(go env GOPATH)/bin.
func specFindH2spec() (string, error) {
	if p, err := exec.LookPath("h2spec"); err == nil {
		return p, nil
	}
	var candidates []string
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, "go", "bin", "h2spec"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			candidates = append(candidates, filepath.Join(dir, "bin", "h2spec"))
		}
	}
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("h2spec not found on PATH, in $HOME/go/bin or in $(go env GOPATH)/bin")
}

// specHandler is the handler h2spec talks to: it reads the request body
// and answers 200 with a small body.
func specHandler(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "hello from h2spec's server\n")
}

// JUnit report of h2spec (-j).
type specJUnit struct {
	Suites []specSuite `xml:"testsuite"`
}

type specSuite struct {
	Name    string     `xml:"name,attr"`
	Package string     `xml:"package,attr"`
	Cases   []specCase `xml:"testcase"`
}

type specCase struct {
	Package   string       `xml:"package,attr"`
	ClassName string       `xml:"classname,attr"`
	Failure   *specFailure `xml:"failure"`
	Error     *specFailure `xml:"error"`
	Skipped   *struct{}    `xml:"skipped"`
}

type specFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// specFailed is one failed h2spec case.
type specFailed struct {
	ID, Title, Detail string
}

// specResult is the outcome of one h2spec run.
type specResult struct {
	Passed, Skipped int
	Failed          []specFailed
	Output          string
}

// specParse reads h2spec's JUnit report. A case's id is its suite's
// package (e.g. "http2/6.5.3") and its position in the suite ("/1").
func specParse(data []byte) (specResult, error) {
	var rep specJUnit
	if err := xml.Unmarshal(data, &rep); err != nil {
		return specResult{}, err
	}
	var res specResult
	for _, s := range rep.Suites {
		for i, c := range s.Cases {
			pkg := c.Package
			if pkg == "" {
				pkg = s.Package
			}
			id := fmt.Sprintf("%s/%d", pkg, i+1)
			switch {
			case c.Failure != nil || c.Error != nil:
				f := c.Failure
				if f == nil {
					f = c.Error
				}
				// h2spec writes the expected frames (or events) one a line
				// and then what it got on the last line
				lines := strings.Split(strings.TrimSpace(f.Text), "\n")
				detail := fmt.Sprintf("expected: %s; actual: %s", strings.Join(lines[:len(lines)-1], " | "), lines[len(lines)-1])
				if f.Message != "" {
					detail = f.Message + ": " + detail
				}
				res.Failed = append(res.Failed, specFailed{ID: id, Title: s.Name + ": " + c.ClassName, Detail: detail})
			case c.Skipped != nil:
				res.Skipped++
			default:
				res.Passed++
			}
		}
	}
	return res, nil
}

// specRun runs h2spec against addr (host:port) and returns what its
// report says.
func specRun(t *testing.T, bin, addr string, strict bool) specResult {
	t.Helper()
	host, port, ok := strings.Cut(addr, ":")
	if !ok {
		t.Fatalf("bad address %q", addr)
	}
	report := filepath.Join(t.TempDir(), "h2spec.xml")
	args := []string{"-h", host, "-p", port, "--timeout", "2", "-j", report}
	if strict {
		args = append(args, "--strict")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("h2spec %s did not finish within 2 minutes; output:\n%s", strings.Join(args, " "), specTail(string(out), 4000))
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("h2spec: %v\n%s", err, out)
	}
	data, rerr := os.ReadFile(report)
	if rerr != nil {
		t.Fatalf("h2spec wrote no report (%v, exit %v); output:\n%s", rerr, err, specTail(string(out), 4000))
	}
	res, perr := specParse(data)
	if perr != nil {
		t.Fatalf("parsing h2spec's report: %v", perr)
	}
	res.Output = string(out)
	if res.Passed+len(res.Failed) == 0 {
		t.Fatalf("h2spec ran no case; output:\n%s", specTail(res.Output, 4000))
	}
	// h2spec exits non-zero exactly when a case failed
	if (err != nil) != (len(res.Failed) > 0) {
		t.Errorf("h2spec exit status %v but its report lists %d failures", err, len(res.Failed))
	}
	return res
}

func specTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

func (r specResult) summary() string {
	ids := make([]string, len(r.Failed))
	for i, f := range r.Failed {
		ids[i] = f.ID
	}
	sort.Strings(ids)
	return fmt.Sprintf("%d passed, %d failed, %d skipped; failed: %v", r.Passed, len(r.Failed), r.Skipped, ids)
}

func (r specResult) failures() string {
	var b strings.Builder
	for _, f := range r.Failed {
		fmt.Fprintf(&b, "  %s %s\n      %s\n", f.ID, f.Title, f.Detail)
	}
	return b.String()
}

func TestH2Spec(t *testing.T) {
	bin, err := specFindH2spec()
	if err != nil {
		msg := fmt.Sprintf("%v; install it with: go install github.com/summerwind/h2spec/cmd/h2spec@latest", err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	// --strict adds the cases of what the RFC leaves to the endpoint
	// (e.g. 5.1/12: HEADERS on a stream that ended both ways is a
	// connection error STREAM_CLOSED).
	for _, strict := range []bool{false, true} {
		name, run := "h2server", "h2spec"
		if strict {
			name, run = name+"-strict", run+" --strict"
		}
		t.Run(name, func(t *testing.T) {
			addr, _ := diffStartH2(t, http.HandlerFunc(specHandler), diffOpts{})
			res := specRun(t, bin, addr, strict)
			t.Logf("%s against h2server: %s", run, res.summary())
			if len(res.Failed) > 0 {
				t.Errorf("%s: %d case(s) failed against h2server:\n%s", run, len(res.Failed), res.failures())
			}
		})
	}

	// The reference, for comparison only (H2SPEC_REFERENCE=1; ~20 s, as
	// net/http's failing cases wait for h2spec's timeout): net/http's
	// HTTP/2 server fails 5 cases (3.5/2, 4.2/3, 6.5.3/1, 8.1.2.2/1-2).
	for _, strict := range []bool{false, true} {
		name := "net-http-reference"
		if strict {
			name += "-strict"
		}
		t.Run(name, func(t *testing.T) {
			if os.Getenv("H2SPEC_REFERENCE") == "" {
				t.Skip("set H2SPEC_REFERENCE=1 to run h2spec against net/http for comparison")
			}
			addr, _ := diffStartStd(t, http.HandlerFunc(specHandler), diffOpts{})
			res := specRun(t, bin, addr, strict)
			t.Logf("h2spec (strict=%v) against net/http (reference, not asserted): %s", strict, res.summary())
			if len(res.Failed) > 0 {
				t.Logf("net/http's failures:\n%s", res.failures())
			}
		})
	}
}
