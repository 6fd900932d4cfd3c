package server

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/xlbatch/xlbatch/udf"
)

func TestDecodeFrameValid(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []inMessage
	}{
		{"hello", `{"type":"hello","protocol":1,"client":"x/1","token":"t"}`,
			[]inMessage{{Type: "hello", Protocol: ptr(1), Client: "x/1", Token: ptr("t")}}},
		{"call", ` {"type":"call","id":42,"fn":"GEOLOCATE","args":["a", 1.5e2, true, null],"caller":"Sheet1!B2","preview":true} `,
			[]inMessage{{Type: "call", ID: 42, HasID: true, Fn: "GEOLOCATE", Caller: "Sheet1!B2", Preview: true,
				Values: []udf.Value{udf.Text("a"), udf.Number(150), udf.Bool(true), udf.Empty()}}}},
		{"array frame", "[\n{\"type\":\"cancel\",\"id\":-3},\t{\"type\":\"cancel\",\"id\":0}]",
			[]inMessage{{Type: "cancel", ID: -3, HasID: true}, {Type: "cancel", ID: 0, HasID: true}}},
		{"empty array", `[]`, []inMessage{}},
		{"unknown fields skipped", `{"x":{"a":[1,{"b":null}],"c":"}"},"type":"cancel","y":[],"id":1,"z":-0.5e-3}`,
			[]inMessage{{Type: "cancel", ID: 1, HasID: true}}},
		{"escapes", `{"type":"call","id":1,"fn":"F","args":["\u00e9\n\"\\\/\ud83d\ude00", "\ud800x"]}`,
			[]inMessage{{Type: "call", ID: 1, HasID: true, Fn: "F", Values: []udf.Value{udf.Text("é\n\"\\/😀"), udf.Text("\uFFFDx")}}}},
		{"error and range values", `{"type":"call","id":1,"args":[{"error":"#N/A","message":"m"},[[1,"a"],[null,{"error":"#REF!"}]]]}`,
			[]inMessage{{Type: "call", ID: 1, HasID: true, Values: []udf.Value{udf.Error(udf.ErrNA, "m"),
				udf.Array([][]udf.Value{{udf.Number(1), udf.Text("a")}, {udf.Empty(), udf.Error(udf.ErrRef, "")}})}}}},
		{"null fields", `{"type":"call","id":1,"fn":null,"args":null,"preview":null}`,
			[]inMessage{{Type: "call", ID: 1, HasID: true}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeFrame([]byte(tc.in), map[string]string{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if len(got[i].Values) == 0 {
					got[i].Values = nil
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestDecodeFrameInvalid(t *testing.T) {
	for _, in := range []string{
		``, ` `, `{`, `[`, `[{}`, `{"type":"call",}`, `{"type":"call" "id":1}`, `[{"type":"call"},]`,
		`{"id":01}`, `{"id":1.}`, `{"id":-}`, `{"id":1.5}`, `{"id":"1"}`, `{"id":1e2}`, `{"id":99999999999999999999}`,
		`"str"`, `123`, `null`, `{"type":"call"} {}`, "{\"type\":\"a\x01\"}", `{"args":[1,]}`, `{"args":{}}`,
		`{"type":"\x"}`, `{"type":tru}`, `{"preview":"yes"}`, `{"type":1}`, `{"protocol":"1"}`, `{"token":5}`,
		`{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, `{"type":"call"`, `{"a":"\u12"}`,
		`{"args":[[1,[2]]`, `{"args":["unterminated]}`, `[{"type":"a"} {"type":"b"}]`, `{"args":[.5]}`, `{"args":[+1]}`,
	} {
		if _, err := decodeFrame([]byte(in), nil); err == nil {
			t.Errorf("%q: accepted", in)
		}
	}
}

// TestDecodeArgumentsLikeValueUnmarshal: every argument decodes to what
// udf.Value's own JSON decoding gives, and is refused exactly when that
// refuses it, so the hand-written decoder keeps the value mapping of
// the wire protocol (README, "Call it from scripts").
func TestDecodeArgumentsLikeValueUnmarshal(t *testing.T) {
	args := []string{
		`0`, `-0`, `1.25`, `-3e-7`, `1e308`, `1e400`, `"x"`, `""`, `"\u0000"`, "\"\xff\xfe\"", `true`, `false`, `null`,
		`{"error":"#N/A"}`, `{"error":"#N/A","message":"why"}`, `{"error":"#DIV/0!","extra":[1]}`, `{"error":"#BOGUS"}`,
		`{"error":null}`, `{"error":1}`, `{}`, `{"message":"x"}`, `{"error":"#N/A","message":5}`,
		`[]`, `[[]]`, `[[1,2],[3,4]]`, `[[1],[2,3]]`, `[1,2]`, `[[[1]]]`, `[[{"error":"#REF!"},null,"a",true]]`,
		`[["a"],[{"error":"#X"}]]`, `[[],[]]`, `[[1],{}]`,
	}
	for _, a := range args {
		var want udf.Value
		werr := want.UnmarshalJSON([]byte(a))
		msgs, err := decodeFrame([]byte(`{"type":"call","id":1,"args":[`+a+`]}`), nil)
		if err != nil {
			t.Errorf("%s: frame refused: %v", a, err)
			continue
		}
		m := msgs[0]
		if (werr != nil) != (m.argErr != "") {
			t.Errorf("%s: udf says %v, decoder says %q", a, werr, m.argErr)
			continue
		}
		if werr == nil && !reflect.DeepEqual(m.Values[0], want) {
			t.Errorf("%s: decoded %#v, want %#v", a, m.Values[0], want)
		}
	}
}

// FuzzDecodeFrame checks the decoder against encoding/json: whatever it
// accepts is valid JSON, and a valid frame of well-typed messages is
// accepted with the same fields.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello","protocol":1}`, `[{"type":"call","id":1,"fn":"A","args":["x",[[1]],{"error":"#N/A"}]}]`,
		`{"type":"cancel","id":7,"extra":{"a":[true,false,null]}}`, `[]`, `{"a":"\ud83d\ude00"}`, `{"id":-0}`,
	} {
		f.Add([]byte(s))
	}
	type ref struct {
		Type     *string           `json:"type"`
		ID       *int64            `json:"id"`
		Fn       *string           `json:"fn"`
		Args     []json.RawMessage `json:"args"`
		Preview  *bool             `json:"preview"`
		Protocol *int              `json:"protocol"`
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msgs, err := decodeFrame(data, map[string]string{})
		if err == nil && !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		if !json.Valid(data) {
			return
		}
		// encoding/json matches keys regardless of case; the protocol's
		// keys are lower case, and so is the decoder.
		lower := bytes.ToLower(data)
		for _, k := range []string{`"type"`, `"id"`, `"fn"`, `"args"`, `"preview"`, `"protocol"`} {
			if bytes.Count(lower, []byte(k)) != bytes.Count(data, []byte(k)) {
				return
			}
		}
		trimmed := bytes.TrimSpace(data)
		var refs []ref
		if len(trimmed) > 0 && trimmed[0] == '[' {
			if json.Unmarshal(trimmed, &refs) != nil {
				return
			}
		} else {
			var r ref
			if json.Unmarshal(trimmed, &r) != nil {
				return
			}
			refs = []ref{r}
		}
		for _, r := range refs {
			if r.ID == nil && bytes.Contains(data, []byte(`"id"`)) {
				return // e.g. "id":null, which the protocol does not allow
			}
		}
		if err != nil {
			t.Fatalf("refused %q, which encoding/json reads: %v", data, err)
		}
		if len(msgs) != len(refs) {
			t.Fatalf("%d messages, encoding/json sees %d", len(msgs), len(refs))
		}
		for i, r := range refs {
			m := msgs[i]
			if r.Type != nil && m.Type != *r.Type || r.Fn != nil && m.Fn != *r.Fn ||
				r.ID != nil && (!m.HasID || m.ID != *r.ID) || len(r.Args) != len(m.Values) {
				t.Fatalf("message %d: %+v, encoding/json: %+v", i, m, r)
			}
		}
	})
}

// BenchmarkDecodeFrame decodes a frame of 32 GEOLOCATE calls, as the add-in
// sends them; ns/op divided by 32 is the cost per call.
func BenchmarkDecodeFrame(b *testing.B) {
	var parts []string
	for i := 0; i < 32; i++ {
		parts = append(parts, `{"type":"call","id":`+strings.Repeat("7", 1+i%5)+`,"fn":"GEOLOCATE","args":["221B Baker St, London",null],"caller":"Sheet1!B2"}`)
	}
	frame := []byte("[" + strings.Join(parts, ",") + "]")
	names := map[string]string{}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeFrame(frame, names); err != nil {
			b.Fatal(err)
		}
	}
}
