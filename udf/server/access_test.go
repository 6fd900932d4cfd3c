package server

import "testing"

// TestAccessNetworkMode: a server started for a network (non-loopback
// listener with a token) accepts any Host, and as its own origin the one the
// client reached it at; a loopback server accepts neither.
func TestAccessNetworkMode(t *testing.T) {
	network, err := newAccess("https", "8765", true, nil, "tok")
	if err != nil {
		t.Fatal(err)
	}
	local, err := newAccess("https", "8765", false, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		host, origin          string
		networkOK, loopbackOK bool
	}{
		{"192.168.1.5:8765", "", true, false},
		{"192.168.1.5:8765", "https://192.168.1.5:8765", true, false},
		{"pc.lan:8765", "https://pc.lan:8765", true, false},
		{"pc.lan:8765", "https://evil.example:8765", false, false},
		{"pc.lan:8765", "http://pc.lan:8765", false, false},
		{"localhost:8765", "https://localhost:8765", true, true},
		{"LOCALHOST:8765", "https://LocalHost:8765", true, true},
		{"127.0.0.2:8765", "", true, true},
	}
	for _, tc := range cases {
		for _, a := range []struct {
			acc  *access
			want bool
		}{{network, tc.networkOK}, {local, tc.loopbackOK}} {
			got := a.acc.hostAllowed(tc.host) && a.acc.originAllowed(tc.origin, tc.host)
			if got != a.want {
				t.Errorf("network=%v Host %q Origin %q: allowed %v, want %v", a.acc.network, tc.host, tc.origin, got, a.want)
			}
		}
	}
	if !network.tokenOK("tok") || network.tokenOK("to") || network.tokenOK("") || !local.tokenOK("") {
		t.Error("token comparison")
	}
	if _, err := newAccess("https", "1", false, []string{"not an origin"}, ""); err == nil {
		t.Error("a malformed --allow-origin was accepted")
	}
}
