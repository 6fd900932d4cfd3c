package udf

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Validate checks a spec against Office's custom-function rules and the
// registry's own, so that a spec that registers also makes a functions.json
// Excel accepts:
//   - the name is an id: upper-case letters, digits and periods, starting with
//     a letter, at least three characters, not a cell reference (A1, R1C1)
//     and not a reserved Excel name such as RUN or SUM;
//   - each parameter has a unique lower-case name, a known type and
//     dimensionality; optional parameters follow the required ones; only the
//     last parameter may repeat;
//   - the result has a known type and dimensionality.
func (s *Spec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if err := checkID(s.Name); err != nil {
		bad("%v", err)
	}
	if strings.TrimSpace(s.Description) == "" {
		bad("no description")
	}
	if s.HelpURL != "" && !strings.HasPrefix(s.HelpURL, "https://") && !strings.HasPrefix(s.HelpURL, "http://") {
		bad("help URL %q is not an http(s) URL", s.HelpURL)
	}
	seen := map[string]bool{}
	optional := false
	for i, p := range s.Params {
		where := fmt.Sprintf("parameter %d (%s)", i+1, p.Name)
		if !validParamName(p.Name) {
			bad("%s: name must be lower-case letters, digits and underscores, starting with a letter", where)
		}
		if seen[p.Name] {
			bad("%s: duplicate name", where)
		}
		seen[p.Name] = true
		if !p.Type.valid() {
			bad("%s: unknown type %q", where, p.Type)
		}
		if !p.Dim.valid() {
			bad("%s: unknown dimensionality %q", where, p.Dim)
		}
		if p.Optional {
			optional = true
		} else if optional && !p.Repeating {
			bad("%s: a required parameter cannot follow an optional one", where)
		}
		if p.Repeating && i != len(s.Params)-1 {
			bad("%s: only the last parameter may repeat", where)
		}
	}
	if !s.Result.valid() {
		bad("unknown result type %q", s.Result)
	}
	if !s.ResultDim.valid() {
		bad("unknown result dimensionality %q", s.ResultDim)
	}
	if len(errs) > 0 {
		return fmt.Errorf("udf: invalid spec %s: %w", s.Name, errors.Join(errs...))
	}
	return nil
}

// Signature renders the spec as a formula user reads it:
// "GEOCODE(address, field, [country])".
func (s *Spec) Signature() string {
	var b strings.Builder
	b.WriteString(s.Name)
	b.WriteByte('(')
	for i, p := range s.Params {
		if i > 0 {
			b.WriteString(", ")
		}
		name := p.Name
		if p.Repeating {
			name += ", …"
		}
		if p.Optional {
			b.WriteString("[" + name + "]")
		} else {
			b.WriteString(name)
		}
	}
	b.WriteByte(')')
	return b.String()
}

// minArgs and maxArgs bound the number of arguments a call may pass; maxArgs
// is -1 when the last parameter repeats.
func (s *Spec) minArgs() int {
	n := 0
	for i, p := range s.Params {
		if !p.Optional {
			n = i + 1
		}
	}
	return n
}

func (s *Spec) maxArgs() int {
	if n := len(s.Params); n > 0 && s.Params[n-1].Repeating {
		return -1
	}
	return len(s.Params)
}

func (t Type) valid() bool {
	switch t {
	case TypeAny, TypeNumber, TypeString, TypeBoolean:
		return true
	}
	return false
}

func (d Dim) valid() bool { return d == Scalar || d == Matrix }

func validParamName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// checkID applies Office's id rules, narrowed to what survives every written
// form: no underscores, because Excel stores XLB.A.B as _xldudf_XLB_A_B.
func checkID(id string) error {
	if len(id) < 3 {
		return fmt.Errorf("name %q: at least three characters", id)
	}
	if id[0] < 'A' || id[0] > 'Z' {
		return fmt.Errorf("name %q: must start with an upper-case letter", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.') {
			return fmt.Errorf("name %q: only upper-case letters A-Z, digits and periods are allowed", id)
		}
	}
	if strings.HasSuffix(id, ".") || strings.Contains(id, "..") {
		return fmt.Errorf("name %q: periods must separate words", id)
	}
	if isCellReference(id) {
		return fmt.Errorf("name %q: reads as a cell reference", id)
	}
	if reservedNames[id] {
		return fmt.Errorf("name %q: reserved by Excel", id)
	}
	return nil
}

// isCellReference reports whether s reads as an A1 reference (A1 to
// XFD1048576) or an R1C1 reference (R1C1 to R1048576C16384), which Excel
// would parse instead of a function name.
func isCellReference(s string) bool {
	i := 0
	for i < len(s) && s[i] >= 'A' && s[i] <= 'Z' {
		i++
	}
	if i >= 1 && i <= 3 && i < len(s) {
		col := 0
		for _, c := range s[:i] {
			col = col*26 + int(c-'A'+1)
		}
		if row, err := strconv.Atoi(s[i:]); err == nil && s[i] != '0' && row <= 1048576 && col <= 16384 {
			return true
		}
	}
	if strings.HasPrefix(s, "R") {
		if r, c, ok := strings.Cut(s[1:], "C"); ok {
			rn, err1 := strconv.Atoi(r)
			cn, err2 := strconv.Atoi(c)
			if err1 == nil && err2 == nil && rn >= 1 && rn <= 1048576 && cn >= 1 && cn <= 16384 {
				return true
			}
		}
	}
	return false
}

// reservedNames holds Excel 4.0 macro functions that Office says to avoid
// and the built-in worksheet functions a bare call in a workbook could be
// confused with. It is deliberately short: the namespace keeps the rest apart.
var reservedNames = map[string]bool{
	"RUN": true, "ECHO": true, "CALL": true, "REGISTER": true, "EXEC": true, "HALT": true,
	"RETURN": true, "RESULT": true, "ARGUMENT": true, "GOTO": true, "FORMULA": true,
	"SUM": true, "IF": true, "IFERROR": true, "IFNA": true, "VALUE": true, "TEXT": true,
	"LEN": true, "MIN": true, "MAX": true, "AVERAGE": true, "COUNT": true, "INDEX": true,
	"MATCH": true, "VLOOKUP": true, "XLOOKUP": true, "LET": true, "LAMBDA": true,
	"TRUE": true, "FALSE": true, "AND": true, "NOT": true, "OR": true,
}
