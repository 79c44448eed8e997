package engine

// `.Files` as Helm's templates see it (helm.sh/helm/v4 v4.2.4 pkg/engine/files.go, Copyright The Helm Authors,
// Apache License 2.0): the same type name, the same methods.

import (
	"encoding/base64"
	"path"
	"strings"

	"github.com/gobwas/glob"

	"helm.sh/helm/v4/pkg/chart/common"
)

// files is a map of files in a chart that can be accessed from a template.
type files map[string][]byte

func newFiles(from []*common.File) files {
	files := make(map[string][]byte)
	for _, f := range from {
		files[f.Name] = f.Data
	}
	return files
}

// GetBytes gets a file by path (an empty []byte when missing).
func (f files) GetBytes(name string) []byte {
	if v, ok := f[name]; ok {
		return v
	}
	return []byte{}
}

// Get returns a file's content as a string.
func (f files) Get(name string) string {
	return string(f.GetBytes(name))
}

// Glob returns the files whose path matches the pattern.
func (f files) Glob(pattern string) files {
	g, err := glob.Compile(pattern, '/')
	if err != nil {
		g, _ = glob.Compile("**")
	}
	nf := newFiles(nil)
	for name, contents := range f {
		if g.Match(name) {
			nf[name] = contents
		}
	}
	return nf
}

// AsConfig is the files as the YAML `data` of a ConfigMap (base names as keys).
func (f files) AsConfig() string {
	if f == nil {
		return ""
	}
	m := make(map[string]string)
	for k, v := range f {
		m[path.Base(k)] = string(v)
	}
	return toYAML(m)
}

// AsSecrets is the files base64-encoded as the YAML `data` of a Secret (base names as keys).
func (f files) AsSecrets() string {
	if f == nil {
		return ""
	}
	m := make(map[string]string)
	for k, v := range f {
		m[path.Base(k)] = base64.StdEncoding.EncodeToString(v)
	}
	return toYAML(m)
}

// Lines returns each line of a named file.
func (f files) Lines(path string) []string {
	if f == nil || f[path] == nil {
		return []string{}
	}
	s := string(f[path])
	if s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return strings.Split(s, "\n")
}
