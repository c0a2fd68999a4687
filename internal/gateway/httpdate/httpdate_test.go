package httpdate

import (
	"net/http"
	"testing"
	"time"
)

func TestNow(t *testing.T) {
	before := time.Now().Truncate(time.Second)
	got := Now()
	after := time.Now()
	d, err := http.ParseTime(got)
	if err != nil {
		t.Fatalf("Now() = %q: %v", got, err)
	}
	if d.Before(before) || d.After(after) {
		t.Errorf("Now() = %s, want between %s and %s", d, before, after)
	}
	if got != d.UTC().Format(http.TimeFormat) {
		t.Errorf("Now() = %q is not in http.TimeFormat", got)
	}
	// Within one second the cached text is returned; a later second
	// gets a new one.
	for Now() == got {
		if time.Since(before) > 3*time.Second {
			t.Fatal("Now() did not change after its second ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
