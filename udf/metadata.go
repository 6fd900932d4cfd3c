package udf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// The functions.json shapes, as documented for Office custom functions
// (https://learn.microsoft.com/office/dev/add-ins/excel/custom-functions-json).
type (
	// Metadata is the document Excel loads from the manifest's metadata URL.
	Metadata struct {
		Functions []FunctionMetadata `json:"functions"`
	}
	// FunctionMetadata describes one function to Excel.
	FunctionMetadata struct {
		ID          string              `json:"id"`
		Name        string              `json:"name"`
		Description string              `json:"description,omitempty"`
		HelpURL     string              `json:"helpUrl,omitempty"`
		Parameters  []ParameterMetadata `json:"parameters"`
		Result      ResultMetadata      `json:"result"`
		Options     *OptionsMetadata    `json:"options,omitempty"`
	}
	// ParameterMetadata describes one parameter.
	ParameterMetadata struct {
		Name           string `json:"name"`
		Description    string `json:"description,omitempty"`
		Type           string `json:"type,omitempty"`
		Dimensionality string `json:"dimensionality,omitempty"`
		Optional       bool   `json:"optional,omitempty"`
		Repeating      bool   `json:"repeating,omitempty"`
	}
	// ResultMetadata describes a function's result.
	ResultMetadata struct {
		Type           string `json:"type,omitempty"`
		Dimensionality string `json:"dimensionality,omitempty"`
	}
	// OptionsMetadata holds the function's options; only true ones are written.
	OptionsMetadata struct {
		Cancelable                 bool `json:"cancelable,omitempty"`
		Stream                     bool `json:"stream,omitempty"`
		Volatile                   bool `json:"volatile,omitempty"`
		RequiresAddress            bool `json:"requiresAddress,omitempty"`
		RequiresParameterAddresses bool `json:"requiresParameterAddresses,omitempty"`
	}
)

// Metadata returns the Office custom-functions metadata of every registered
// function, sorted by id. The id and the name are the function's upper-case
// name without namespace (Excel adds the namespace from the manifest).
func (r *Registry) Metadata() Metadata {
	specs := r.Specs()
	m := Metadata{Functions: make([]FunctionMetadata, 0, len(specs))}
	for _, s := range specs {
		f := FunctionMetadata{
			ID:          s.Name,
			Name:        s.Name,
			Description: s.Description,
			HelpURL:     s.HelpURL,
			Parameters:  make([]ParameterMetadata, 0, len(s.Params)),
			Result:      ResultMetadata{Type: string(s.Result), Dimensionality: string(s.ResultDim)},
		}
		for _, p := range s.Params {
			f.Parameters = append(f.Parameters, ParameterMetadata{
				Name:           p.Name,
				Description:    p.Description,
				Type:           string(p.Type),
				Dimensionality: string(p.Dim),
				Optional:       p.Optional,
				Repeating:      p.Repeating,
			})
		}
		if s.Cancelable || s.Volatile || s.RequiresAddress {
			f.Options = &OptionsMetadata{Cancelable: s.Cancelable, Volatile: s.Volatile, RequiresAddress: s.RequiresAddress}
		}
		m.Functions = append(m.Functions, f)
	}
	return m
}

// FunctionsJSON returns functions.json for the registry, indented, checked
// against every rule CheckFunctionsJSON knows.
func (r *Registry) FunctionsJSON() ([]byte, error) {
	b, err := json.MarshalIndent(r.Metadata(), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("udf: encode functions.json: %w", err)
	}
	b = append(b, '\n')
	if err := CheckFunctionsJSON(b); err != nil {
		return nil, err
	}
	return b, nil
}

var idPattern = regexp.MustCompile(`^[A-Z][A-Z0-9.]{2,}$`)

// CheckFunctionsJSON checks a functions.json document against Office's
// metadata rules: every function has an id (upper-case letters, digits and
// periods, starting with a letter, at least three characters, unique, not a
// cell reference) and a name obeying the same; parameters have names, types
// among boolean, number, string and any, dimensionality scalar or matrix,
// required ones before optional ones and only the last repeating; results
// have a valid type and dimensionality; options combine legally (stream
// excludes cancelable and requiresAddress; requiresParameterAddresses needs
// a matrix result); and no unknown keys appear at any level.
func CheckFunctionsJSON(data []byte) error {
	var m Metadata
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("functions.json: %w", err)
	}
	if m.Functions == nil {
		return errors.New("functions.json: no functions array")
	}
	var errs []error
	ids := map[string]bool{}
	names := map[string]bool{}
	for i, f := range m.Functions {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("function %d (%s): %s", i+1, f.ID, fmt.Sprintf(format, args...)))
		}
		if !idPattern.MatchString(f.ID) || strings.HasSuffix(f.ID, ".") || isCellReference(f.ID) {
			bad("id %q must be upper-case letters, digits and periods, start with a letter, be at least three characters and not a cell reference", f.ID)
		}
		if ids[f.ID] {
			bad("duplicate id")
		}
		ids[f.ID] = true
		if !idPattern.MatchString(f.Name) || isCellReference(f.Name) {
			bad("name %q must start with a letter, be at least three characters of letters, digits and periods, and not a cell reference", f.Name)
		}
		if names[f.Name] {
			bad("duplicate name")
		}
		names[f.Name] = true
		if f.Parameters == nil {
			bad("parameters missing (use [] for none)")
		}
		optional := false
		pnames := map[string]bool{}
		for j, p := range f.Parameters {
			if p.Name == "" {
				bad("parameter %d has no name", j+1)
			}
			if pnames[p.Name] {
				bad("parameter %d: duplicate name %q", j+1, p.Name)
			}
			pnames[p.Name] = true
			if p.Type != "" && !Type(p.Type).valid() {
				bad("parameter %s: type %q is not boolean, number, string or any", p.Name, p.Type)
			}
			if p.Dimensionality != "" && !Dim(p.Dimensionality).valid() {
				bad("parameter %s: dimensionality %q is not scalar or matrix", p.Name, p.Dimensionality)
			}
			if p.Optional {
				optional = true
			} else if optional && !p.Repeating {
				bad("parameter %s: required after an optional parameter", p.Name)
			}
			if p.Repeating && j != len(f.Parameters)-1 {
				bad("parameter %s: only the last parameter may repeat", p.Name)
			}
		}
		if f.Result.Type != "" && !Type(f.Result.Type).valid() {
			bad("result type %q is not boolean, number, string or any", f.Result.Type)
		}
		if f.Result.Dimensionality != "" && !Dim(f.Result.Dimensionality).valid() {
			bad("result dimensionality %q is not scalar or matrix", f.Result.Dimensionality)
		}
		if o := f.Options; o != nil {
			if o.Stream && o.Cancelable {
				bad("options stream and cancelable cannot be combined")
			}
			if o.Stream && o.RequiresAddress {
				bad("options stream and requiresAddress cannot be combined")
			}
			if o.RequiresParameterAddresses && f.Result.Dimensionality != string(Matrix) {
				bad("option requiresParameterAddresses needs a matrix result")
			}
		}
	}
	return errors.Join(errs...)
}
