// Command helmrender loads a chart once and renders it for each line of values it reads, as `helm template`
// would: same engine (helm.sh/helm/v4, the pin of tools/helm4), client-only install, revision 1, hooks and
// `helm test` documents included, output text composed as `helm template` prints it.
//
// Usage: helmrender CHART_DIR --kube-version 1.35.0 [--release conformance] [--namespace conformance]
//
// Each stdin line is a JSON object {"values": {...}, "validate": true}; each stdout line answers it with
// {"manifest": "<helm template output>"} or {"error": "<what helm template prints after `Error: `>"}.
// `validate: false` skips values.schema.json validation (for values a caller validated already).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	ci "helm.sh/helm/v4/pkg/chart"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/loader"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	release "helm.sh/helm/v4/pkg/release/v1"
)

type request struct {
	Values   json.RawMessage `json:"values"`
	Validate *bool           `json:"validate"`
}

type answer struct {
	Manifest string `json:"manifest,omitempty"`
	Error    string `json:"error,omitempty"`
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
	reload bool
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

func (e *engine) render(values map[string]any, validate bool) (string, error) {
	ch := e.chart
	if e.loadErr != nil {
		return "", e.loadErr
	}
	if e.reload {
		fresh, err := e.load()
		if err != nil {
			return "", err
		}
		ch = fresh
	}
	client := action.NewInstall(action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler)))
	client.DryRunStrategy = action.DryRunClient
	client.ReleaseName = e.release
	client.Namespace = e.namespace
	client.Replace = true
	client.KubeVersion = e.kube
	client.SkipSchemaValidation = !validate
	ri, err := client.RunWithContext(context.Background(), ch, values)
	var rel *release.Release
	switch r := ri.(type) {
	case *release.Release:
		rel = r
	case release.Release:
		rel = &r
	}
	if err != nil {
		if rel != nil {
			return "", fmt.Errorf("%w\n\nUse --debug flag to render out invalid YAML", err)
		}
		return "", err
	}
	if rel == nil {
		return "", errors.New("helm returned no release")
	}
	var out strings.Builder
	fmt.Fprintln(&out, strings.TrimSpace(rel.Manifest))
	for _, h := range rel.Hooks {
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
	if len(req.Values) > 0 {
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
	return answer{Manifest: manifest}
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
	kv, err := common.ParseKubeVersion(*kube)
	if err != nil {
		fmt.Fprintf(os.Stderr, "helmrender: invalid kube version '%s': %v\n", *kube, err)
		os.Exit(2)
	}
	e := &engine{dir: os.Args[1], kube: kv, release: *name, namespace: *namespace}
	e.chart, e.loadErr = e.load()
	if c, ok := e.chart.(*chartv2.Chart); ok && hasDependencies(c) {
		e.reload = true
	}
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		line, err := in.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			if encErr := enc.Encode(e.answer(line)); encErr != nil {
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
