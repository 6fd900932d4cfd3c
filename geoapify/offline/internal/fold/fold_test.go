package fold

import "testing"

func TestString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"Paris", "paris"},
		{"  NEW   york ", "new york"},
		{"São Paulo", "sao paulo"},
		{"Zürich", "zurich"},
		{"Łódź", "lodz"},
		{"Gießen", "giessen"},
		{"Ærøskøbing", "aeroskobing"},
		{"Reykjavík", "reykjavik"},
		{"İstanbul", "istanbul"},
		{"Ra’s al Khaymah", "ras al khaymah"},
		{"O'Fallon", "ofallon"},
		{"Winston-Salem", "winston salem"},
		{"St. Louis", "saint louis"},
		{"Mt Vernon", "mount vernon"},
		{"Ft. Worth", "fort worth"},
		{"Ste-Foy", "sainte foy"},
		{"Station Street", "station street"}, // "st" only as a whole word
		{"221B Baker St, London", "221b baker saint, london"},
		{"a,,b ; c", "a, b, c"},
		{", leading and trailing ,", "leading and trailing"},
		{"Line one\nLine two", "line one, line two"},
		{"Москва", "москва"},
		{"Йошкар-Ола", "иошкар ола"},
		{"東京", "東京"},
		{"Washington, D.C.", "washington, d c"},
		{"!!!", ""},
	}
	for _, tt := range tests {
		if got := String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Washington, D. C.", "washington d c"},
		{"Bonaire, Saint Eustatius and Saba ", "bonaire saint eustatius and saba"},
		{"Île-de-France", "ile de france"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Key(tt.in); got != tt.want {
			t.Errorf("Key(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAppendKeepsPrefix(t *testing.T) {
	got := string(Append([]byte("keep:"), "Ab Cd"))
	if got != "keep:ab cd" {
		t.Errorf("Append = %q", got)
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"São Paulo, Brazil", "a,,b", "ß\u0301", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		// Idempotent, and never a separator at either end or doubled.
		if again := String(out); again != out {
			t.Errorf("String(String(%q)) = %q, want %q", s, again, out)
		}
		if len(out) > 0 && (out[0] == ' ' || out[len(out)-1] == ' ' || out[0] == ',' || out[len(out)-1] == ',') {
			t.Errorf("String(%q) = %q has a separator at an end", s, out)
		}
	})
}
