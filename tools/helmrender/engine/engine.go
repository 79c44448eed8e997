// Package engine renders a chart's templates as Helm's engine does (helm.sh/helm/v4 pkg/engine,
// Engine{}.Render: no cluster, not strict, not lint mode, no DNS), but parses the templates once per chart
// instead of once per render: every render clones the parsed set and binds `include` and `tpl` to the clone.
//
// Adapted from helm.sh/helm/v4 v4.2.4 pkg/engine (engine.go, funcs.go, files.go), Copyright The Helm Authors,
// Apache License 2.0 (http://www.apache.org/licenses/LICENSE-2.0); only public APIs of Helm are used.
//
// Only the successful path is reproduced: Render returns an error whenever anything differs from the parsed
// set or anything fails, and the caller then renders with Helm's own engine, whose error messages it reports.
// The package is named `engine` like Helm's, so `typeOf .Files` prints the same `engine.files`.
package engine

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	ci "helm.sh/helm/v4/pkg/chart"
	"helm.sh/helm/v4/pkg/chart/common"
)

// renderable is one template of the chart or a subchart, with the values of its scope.
type renderable struct {
	tpl      string
	vals     common.Values
	basePath string
}

// Prepared is a chart's templates parsed once, in Helm's order, with Helm's functions.
type Prepared struct {
	base *template.Template
	keys []string
	text map[string]string
}

const warnStartDelim = "HELM_ERR_START"
const warnEndDelim = "HELM_ERR_END"
const recursionMaxNums = 1000

func warnWrap(warn string) string {
	return warnStartDelim + warn + warnEndDelim
}

// Prepare parses every template of the chart and its subcharts once; an error means Helm's engine must render.
func Prepare(chrt ci.Charter) (p *Prepared, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rendering template failed: %v", r)
		}
	}()
	tpls, err := allTemplates(chrt, common.Values{})
	if err != nil {
		return nil, err
	}
	t := template.New("gotpl")
	t.Option("missingkey=zero")
	t.Funcs(funcMap())
	p = &Prepared{base: t, keys: sortTemplates(tpls), text: map[string]string{}}
	for _, filename := range p.keys {
		if _, err := t.New(filename).Parse(tpls[filename].tpl); err != nil {
			return nil, err
		}
		p.text[filename] = tpls[filename].tpl
	}
	return p, nil
}

// Render renders the chart's templates with the values as Helm's Engine{}.Render(chrt, values) does, or returns
// an error (then let Helm's engine render, for its result and its message).
func (p *Prepared) Render(chrt ci.Charter, values common.Values) (rendered map[string]string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rendering template failed: %v", r)
		}
	}()
	tpls, err := allTemplates(chrt, values)
	if err != nil {
		return nil, err
	}
	if len(tpls) != len(p.keys) {
		return nil, errors.New("the chart's templates changed")
	}
	for name, r := range tpls {
		if text, ok := p.text[name]; !ok || text != r.tpl {
			return nil, errors.New("the chart's templates changed")
		}
	}
	t, err := p.base.Clone()
	if err != nil {
		return nil, err
	}
	t.Option("missingkey=zero")
	includedNames := make(map[string]int)
	t.Funcs(template.FuncMap{"include": includeFun(t, includedNames), "tpl": tplFun(t, includedNames)})

	rendered = make(map[string]string, len(p.keys))
	for _, filename := range p.keys {
		// Partials are only included from other templates.
		if strings.HasPrefix(path.Base(filename), "_") {
			continue
		}
		vals := tpls[filename].vals
		vals["Template"] = common.Values{"Name": filename, "BasePath": tpls[filename].basePath}
		var buf strings.Builder
		if err := t.ExecuteTemplate(&buf, filename, vals); err != nil {
			return nil, err
		}
		// Helm's work-around for "<no value>", emitted even with missingkey=zero.
		rendered[filename] = strings.ReplaceAll(buf.String(), "<no value>", "")
	}
	return rendered, nil
}

// includeFun is Helm's `include`, bound to one render's template set.
func includeFun(t *template.Template, includedNames map[string]int) func(string, any) (string, error) {
	return func(name string, data any) (string, error) {
		var buf strings.Builder
		if v, ok := includedNames[name]; ok {
			if v > recursionMaxNums {
				return "", fmt.Errorf(
					"rendering template has a nested reference name: %s: %w",
					name, errors.New("unable to execute template"))
			}
			includedNames[name]++
		} else {
			includedNames[name] = 1
		}
		err := t.ExecuteTemplate(&buf, name, data)
		includedNames[name]--
		return buf.String(), err
	}
}

// tplFun is Helm's `tpl` (not strict): the text parsed into a clone of the enclosing set.
func tplFun(parent *template.Template, includedNames map[string]int) func(string, any) (string, error) {
	return func(tpl string, vals any) (string, error) {
		t, err := parent.Clone()
		if err != nil {
			return "", fmt.Errorf("cannot clone template: %w", err)
		}
		t.Option("missingkey=zero")
		t.Funcs(template.FuncMap{
			"include": includeFun(t, includedNames),
			"tpl":     tplFun(t, includedNames),
		})
		t, err = t.New(parent.Name()).Parse(tpl)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %w", tpl, err)
		}
		var buf strings.Builder
		if err := t.Execute(&buf, vals); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", tpl, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
}

func sortTemplates(tpls map[string]renderable) []string {
	keys := make([]string, 0, len(tpls))
	for key := range tpls {
		keys = append(keys, key)
	}
	sort.Sort(sort.Reverse(byPathLen(keys)))
	return keys
}

type byPathLen []string

func (p byPathLen) Len() int      { return len(p) }
func (p byPathLen) Swap(i, j int) { p[j], p[i] = p[i], p[j] }
func (p byPathLen) Less(i, j int) bool {
	a, b := p[i], p[j]
	ca, cb := strings.Count(a, "/"), strings.Count(b, "/")
	if ca == cb {
		return strings.Compare(a, b) == -1
	}
	return ca < cb
}

// allTemplates returns all templates of a chart and its dependencies, each with the values of its scope.
func allTemplates(c ci.Charter, vals common.Values) (map[string]renderable, error) {
	templates := make(map[string]renderable)
	if _, err := recAllTpls(c, templates, vals); err != nil {
		return nil, err
	}
	return templates, nil
}

func recAllTpls(c ci.Charter, templates map[string]renderable, values common.Values) (map[string]any, error) {
	vals := values.AsMap()
	subCharts := make(map[string]any)
	accessor, err := ci.NewAccessor(c)
	if err != nil {
		return nil, err
	}
	chartMetaData := accessor.MetadataAsMap()
	chartMetaData["IsRoot"] = accessor.IsRoot()

	next := map[string]any{
		"Chart":        chartMetaData,
		"Files":        newFiles(accessor.Files()),
		"Release":      vals["Release"],
		"Capabilities": vals["Capabilities"],
		"Values":       make(common.Values),
		"Subcharts":    subCharts,
	}
	if accessor.IsRoot() {
		next["Values"] = vals["Values"]
	} else if vs, err := values.Table("Values." + accessor.Name()); err == nil {
		next["Values"] = vs
	}

	for _, child := range accessor.Dependencies() {
		sub, err := ci.NewAccessor(child)
		if err != nil {
			return nil, err
		}
		if subCharts[sub.Name()], err = recAllTpls(child, templates, next); err != nil {
			return nil, err
		}
	}

	newParentID := accessor.ChartFullPath()
	for _, t := range accessor.Templates() {
		if t == nil {
			continue
		}
		if accessor.IsLibraryChart() && !strings.HasPrefix(filepath.Base(t.Name), "_") {
			continue
		}
		templates[path.Join(newParentID, t.Name)] = renderable{
			tpl:      string(t.Data),
			vals:     next,
			basePath: path.Join(newParentID, "templates"),
		}
	}
	return next, nil
}
