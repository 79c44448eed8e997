package main

// Values validation against the charts' values.schema.json, compiled once per schema instead of on every render.
//
// Helm (pkg/chart/common/util.ValidateAgainstSchema, helm.sh/helm/v4 v4.2.4, Apache-2.0) compiles every
// values.schema.json of the chart and its subcharts on every render. valid below walks the same charts with the
// same library (santhosh-tekuri/jsonschema/v6), the same resource URL and the same loaders, keeping each compiled
// schema; it only decides valid or not. Whenever it says "not valid" (or cannot tell: a compile error, a panic),
// the caller runs Helm's own validation, so every schema error message is Helm's.

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	ci "helm.sh/helm/v4/pkg/chart"
	"helm.sh/helm/v4/pkg/chart/common/util"
)

// urnLoader is Helm's urn: loader (util.urnLoader): util.URNResolver, else a permissive `true` schema.
type urnLoader struct{}

var warnedURNs sync.Map

func (urnLoader) Load(urlStr string) (any, error) {
	if doc, err := util.URNResolver(urlStr); err == nil && doc != nil {
		return doc, nil
	}
	if _, loaded := warnedURNs.LoadOrStore(urlStr, struct{}{}); !loaded {
		slog.Warn("unresolved URN reference ignored; using permissive schema", "urn", urlStr)
	}
	return jsonschema.UnmarshalJSON(strings.NewReader("true"))
}

// httpLoader is Helm's HTTP(S) loader (util.newHTTPURLLoader).
func httpLoader() *util.HTTPURLLoader {
	l := util.HTTPURLLoader(http.Client{
		Timeout:   15 * time.Second,
		Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: &tls.Config{}},
	})
	return &l
}

// compile compiles one values.schema.json as util.ValidateAgainstSingleSchema does.
func compile(schemaJSON []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, err
	}
	compiler := jsonschema.NewCompiler()
	compiler.UseLoader(jsonschema.SchemeURLLoader{
		"file": jsonschema.FileLoader{}, "http": httpLoader(), "https": httpLoader(), "urn": urnLoader{},
	})
	if err := compiler.AddResource("file:///values.schema.json", doc); err != nil {
		return nil, err
	}
	return compiler.Compile("file:///values.schema.json")
}

// schemas keeps the compiled schemas by their text (nil: it did not compile; Helm reports why).
type schemas map[string]*jsonschema.Schema

func (s schemas) validOne(values map[string]any, schemaJSON []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	key := string(schemaJSON)
	compiled, seen := s[key]
	if !seen {
		compiled, _ = compile(schemaJSON)
		s[key] = compiled
	}
	return compiled != nil && compiled.Validate(values) == nil
}

// valid says whether util.ValidateAgainstSchema(ch, values) would accept the values, walking the same charts.
func (s schemas) valid(ch ci.Charter, values map[string]any) bool {
	chrt, err := ci.NewAccessor(ch)
	if err != nil {
		return false
	}
	if chrt.Schema() != nil && !s.validOne(values, chrt.Schema()) {
		return false
	}
	for _, subchart := range chrt.Dependencies() {
		sub, err := ci.NewAccessor(subchart)
		if err != nil {
			return false
		}
		raw, exists := values[sub.Name()]
		if !exists || raw == nil {
			continue
		}
		subValues, ok := raw.(map[string]any)
		if !ok || !s.valid(subchart, subValues) {
			return false
		}
	}
	return true
}
