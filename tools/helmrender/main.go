// Command helmrender loads a chart once and renders it for each line of values it reads, as `helm template`
// would: the same steps as Helm's client-only install (dependencies, values and schema, kubeVersion check, the
// template engine, the manifest sorter) from the same module (helm.sh/helm/v4, the pin of tools/helm4),
// revision 1, hooks and `helm test` documents included, output text composed as `helm template` prints it.
// Two steps are done once per chart instead of once per render: parsing the templates (package engine, Helm's
// engine adapted; whenever it fails, Helm's engine renders and reports) and compiling values.schema.json
// (schema.go; values it rejects go through Helm's validation, for its message).
//
// Usage: helmrender CHART_DIR --kube-version 1.35.0 [--release conformance] [--namespace conformance]
//
// Each stdin line is a JSON object {"values": {...}, "validate": true} (values as `--values -` reads them) or
// {"files": ["/abs/a.yaml", ...], "validate": true} (values files read and merged by Helm as `--values a.yaml
// --values ...`); each answer is a JSON line {"error": "<what helm template prints after `Error: `>"} or
// {"manifest": "<helm template output>", "prepared": true}; with "raw": true in the request, a manifest comes
// as {"manifest_bytes": N, "prepared": true} followed by the N bytes of the output (no JSON escaping).
// `validate: false` skips values.schema.json validation (for values a caller validated already).
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"runtime/debug"
	"sort"
	"strings"

	fastengine "floe.dev/conformance/tools/helmrender/engine"
	"helm.sh/helm/v4/pkg/action"
	ci "helm.sh/helm/v4/pkg/chart"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	helmvalues "helm.sh/helm/v4/pkg/cli/values"
	helmengine "helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/getter"
	release "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
)

type request struct {
	Values   json.RawMessage `json:"values"`
	Files    []string        `json:"files"`
	Validate *bool           `json:"validate"`
	Raw      bool            `json:"raw"`
}

type answer struct {
	Manifest string `json:"manifest,omitempty"`
	Error    string `json:"error,omitempty"`
	// Prepared: the templates parsed once rendered it (false: Helm's engine did, or the render failed).
	Prepared bool `json:"prepared,omitempty"`
	raw      bool
}

// header is the JSON line of an answer; a manifest follows it as manifest_bytes raw bytes.
type header struct {
	ManifestBytes int  `json:"manifest_bytes"`
	Prepared      bool `json:"prepared,omitempty"`
}

// write writes one answer: `{"error": ...}`, or the header line and the manifest bytes (`{"manifest": ...}`
// when the request did not ask for raw bytes).
func (a answer) write(enc *json.Encoder, out *bufio.Writer) error {
	if a.Error != "" || !a.raw {
		return enc.Encode(a)
	}
	if err := enc.Encode(header{ManifestBytes: len(a.Manifest), Prepared: a.Prepared}); err != nil {
		return err
	}
	_, err := out.WriteString(a.Manifest)
	return err
}

// engine holds the chart loaded once and the fixed render options.
type engine struct {
	dir       string
	kube      *common.KubeVersion
	release   string
	namespace string
	chart     ci.Charter
	loadErr   error
	// reload: the chart (or a subchart) declares dependencies, which Helm enables, aliases and imports values
	// for by mutating the loaded chart per render; such charts are loaded afresh for every render.
	reload  bool
	sorted  map[string]sortedFile
	rank    map[string]int
	schemas schemas
	// prepared: the chart's templates parsed once (nil for charts loaded per render, or when Helm must parse).
	prepared     *fastengine.Prepared
	lastPrepared bool
}

func hasDependencies(c *chartv2.Chart) bool {
	if c.Metadata != nil && len(c.Metadata.Dependencies) > 0 {
		return true
	}
	for _, d := range c.Dependencies() {
		if hasDependencies(d) {
			return true
		}
	}
	return false
}

// load reads and checks the chart the way `helm template` does before rendering.
func (e *engine) load() (ci.Charter, error) {
	ch, err := loader.Load(e.dir)
	if err != nil {
		return nil, err
	}
	ac, err := ci.NewAccessor(ch)
	if err != nil {
		return nil, err
	}
	switch t := ac.MetadataAsMap()["Type"]; t {
	case "", "application":
	default:
		return nil, fmt.Errorf("%s charts are not installable", t)
	}
	if req := ac.MetaDependencies(); len(req) > 0 {
		if err := action.CheckDependencies(ch, req); err != nil {
			return nil, fmt.Errorf("an error occurred while checking for chart dependencies. You may need to run 'helm dependency build' to fetch missing dependencies: %w", err)
		}
	}
	return ch, nil
}

// sortedFile is what Helm's manifest sorter makes of one rendered template: its resources and its hooks.
type sortedFile struct {
	hooks     []*release.Hook
	manifests []releaseutil.Manifest
	err       error
}

// sortFile runs Helm's own manifest sorter on one template's output, memoised by path and text: the sorter
// parses every document's YAML, and most templates render the same text for most values.
func (e *engine) sortFile(name, content string) sortedFile {
	key := name + "\x00" + content
	if hit, ok := e.sorted[key]; ok {
		return hit
	}
	if len(e.sorted) > 20000 {
		e.sorted = map[string]sortedFile{}
	}
	hooks, manifests, err := releaseutil.SortManifests(map[string]string{name: content}, nil, releaseutil.InstallOrder)
	e.sorted[key] = sortedFile{hooks, manifests, err}
	return e.sorted[key]
}

// lessByKind is Helm's install order (release/v1/util.lessByKind): listed kinds by their rank, unknown kinds
// last and alphabetically.
func lessByKind(rank map[string]int, a, b string) bool {
	first, aok := rank[a]
	second, bok := rank[b]
	switch {
	case !aok && !bok:
		return a < b
	case !aok:
		return false
	case !bok:
		return true
	}
	return first < second
}

// render does what `helm template` does (action.Install, client only, then the template command's output),
// step for step, with the manifest sorter memoised per template.
func (e *engine) render(values map[string]any, validate bool) (string, error) {
	if e.loadErr != nil {
		return "", e.loadErr
	}
	ch := e.chart
	if e.reload {
		fresh, err := e.load()
		if err != nil {
			return "", err
		}
		ch = fresh
	}
	chrt, ok := ch.(*chartv2.Chart)
	if !ok {
		return "", errors.New("invalid chart apiVersion")
	}
	if err := chartutil.ProcessDependencies(chrt, values); err != nil {
		return "", fmt.Errorf("chart dependencies processing failed: %w", err)
	}
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *e.kube
	options := common.ReleaseOptions{Name: e.release, Namespace: e.namespace, Revision: 1, IsInstall: true}
	// Values coalesced without Helm's schema check, then checked with the schemas compiled once; values that
	// fail (or that cannot be checked) go through Helm's own validation, for its error message.
	top, err := util.ToRenderValuesWithSchemaValidation(chrt, values, options, caps, true)
	if err != nil {
		return "", err
	}
	if validate {
		if merged, ok := top["Values"].(common.Values); !ok || !e.schemas.valid(chrt, merged) {
			if top, err = util.ToRenderValuesWithSchemaValidation(chrt, values, options, caps, false); err != nil {
				return "", err
			}
		}
	}
	// From here on Helm has a release, so `helm template` adds its --debug hint to any error.
	hint := func(err error) error { return fmt.Errorf("%w\n\nUse --debug flag to render out invalid YAML", err) }
	if chrt.Metadata.KubeVersion != "" && !chartutil.IsCompatibleRange(chrt.Metadata.KubeVersion, caps.KubeVersion.String()) {
		return "", hint(fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s",
			chrt.Metadata.KubeVersion, caps.KubeVersion.Version))
	}
	// The templates parsed once (package engine); whenever that path fails, Helm's own engine renders afresh
	// (new values: templates may have changed them) and reports its own error.
	var files map[string]string
	e.lastPrepared = false
	if e.prepared != nil {
		files, err = e.prepared.Render(chrt, top)
		e.lastPrepared = err == nil
	}
	if e.prepared == nil || err != nil {
		if e.prepared != nil {
			if top, err = util.ToRenderValuesWithSchemaValidation(chrt, values, options, caps, true); err != nil {
				return "", err
			}
		}
		if files, err = (helmengine.Engine{}).Render(chrt, top); err != nil {
			return "", hint(err)
		}
	}
	names := make([]string, 0, len(files))
	for name, content := range files {
		if strings.HasSuffix(name, "NOTES.txt") || strings.HasPrefix(path.Base(name), "_") || strings.TrimSpace(content) == "" {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	var hooks []*release.Hook
	var manifests []releaseutil.Manifest
	for _, name := range names {
		s := e.sortFile(name, files[name])
		if s.err != nil {
			return "", hint(s.err)
		}
		hooks = append(hooks, s.hooks...)
		manifests = append(manifests, s.manifests...)
	}
	sort.SliceStable(manifests, func(i, j int) bool { return lessByKind(e.rank, manifests[i].Head.Kind, manifests[j].Head.Kind) })
	sort.SliceStable(hooks, func(i, j int) bool { return lessByKind(e.rank, hooks[i].Kind, hooks[j].Kind) })
	var body strings.Builder
	for _, m := range manifests {
		fmt.Fprintf(&body, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	var out strings.Builder
	fmt.Fprintln(&out, strings.TrimSpace(body.String()))
	for _, h := range hooks {
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
	}
	return out.String(), nil
}

func (e *engine) answer(line []byte) answer {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return answer{Error: "helmrender: request is not a JSON object: " + err.Error()}
	}
	values := map[string]any{}
	if len(req.Files) > 0 {
		// `helm template --values F1 --values F2`: Helm's own reading and merging of values files, before the
		// chart is loaded (so a bad file is reported first, as the CLI does). Local paths only need no getter
		// plugins: a path without a URL scheme is read from disk by every set of providers.
		if len(req.Values) > 0 {
			return answer{Error: "helmrender: a request has either values or files, not both"}
		}
		merged, err := (&helmvalues.Options{ValueFiles: req.Files}).MergeValues(getter.Getters())
		if err != nil {
			return answer{Error: err.Error()}
		}
		values = merged
	} else if len(req.Values) > 0 {
		// The same reader as `helm template --values -`, so numbers and nulls arrive as the CLI sees them.
		read, err := common.ReadValues(req.Values)
		if err != nil {
			return answer{Error: err.Error()}
		}
		values = read
	}
	manifest, err := e.render(values, req.Validate == nil || *req.Validate)
	if err != nil {
		return answer{Error: err.Error()}
	}
	return answer{Manifest: manifest, Prepared: e.lastPrepared, raw: req.Raw}
}

func main() {
	flags := flag.NewFlagSet("helmrender", flag.ContinueOnError)
	kube := flags.String("kube-version", "", "Kubernetes version for Capabilities.KubeVersion (required)")
	name := flags.String("release", "conformance", "release name")
	namespace := flags.String("namespace", "conformance", "release namespace")
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") {
		fmt.Fprintln(os.Stderr, "usage: helmrender CHART_DIR --kube-version X.Y.Z [--release NAME] [--namespace NS]")
		os.Exit(2)
	}
	if err := flags.Parse(os.Args[2:]); err != nil || *kube == "" {
		fmt.Fprintln(os.Stderr, "helmrender: --kube-version is required")
		os.Exit(2)
	}
	// A render allocates a few MB of short-lived garbage and keeps little: a heap target of 8 times the live
	// heap (GOGC=800) halves the collector's work, with a soft limit on the whole heap. GOGC and GOMEMLIMIT in
	// the environment still win.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(800)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(512 << 20)
	}
	kv, err := common.ParseKubeVersion(*kube)
	if err != nil {
		fmt.Fprintf(os.Stderr, "helmrender: invalid kube version '%s': %v\n", *kube, err)
		os.Exit(2)
	}
	e := &engine{dir: os.Args[1], kube: kv, release: *name, namespace: *namespace, sorted: map[string]sortedFile{},
		rank: map[string]int{}, schemas: schemas{}}
	for i, kind := range releaseutil.InstallOrder {
		e.rank[kind] = i
	}
	e.chart, e.loadErr = e.load()
	if c, ok := e.chart.(*chartv2.Chart); ok && hasDependencies(c) {
		e.reload = true
	} else if ok {
		e.prepared, _ = fastengine.Prepare(c)
	}
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		line, err := in.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			if encErr := e.answer(line).write(enc, out); encErr != nil {
				os.Exit(1)
			}
			if flushErr := out.Flush(); flushErr != nil {
				os.Exit(1)
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "helmrender: reading stdin:", err)
			os.Exit(1)
		}
	}
}
