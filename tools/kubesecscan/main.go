// Command kubesecscan scores many Kubernetes documents in one process, as `kubesec scan` scores each: kubesec's
// own ruleset (github.com/controlplaneio/kubesec/v2, the pin of tools/kubesec) for the rules, and kubeconform
// (the version kubesec requires) for schema validation, with ONE validator for every document so each schema is
// compiled once; `kubesec scan` builds a validator, and so compiles the schema again, for every document.
//
// Usage: kubesecscan --schema-location LOCATION [--schema-location ...] [--kubernetes-version V]
//
//	[--file-name NAME] [--jobs N] < documents.jsonl
//
// stdin: one JSON document per line (blank lines ignored), scored as it arrives. stdout, at end of input: the
// JSON array `kubesec scan` prints, one report per input line in input order (fileName NAME, default STDIN as
// `kubesec scan -` names it). Only public APIs: ruler.NewRuleset(...).Run with validation disabled scores a
// document; validator.New once and Validate per document reproduce what kubesec's validateSchema does (Strict,
// same message text, Valid false and no score for an invalid document). Documents are scored by --jobs goroutines (default: the CPUs).
// Exit status: 0 when every line was scored (kubesec's low-score exit code is not reproduced), 2 on bad input.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/controlplaneio/kubesec/v2/pkg/report"
	"github.com/controlplaneio/kubesec/v2/pkg/ruler"
	"github.com/yannh/kubeconform/pkg/validator"
	"go.uber.org/zap"
)

type locations []string

func (l *locations) String() string     { return strings.Join(*l, ",") }
func (l *locations) Set(s string) error { *l = append(*l, s); return nil }

// scanner holds what is built once: kubesec's ruleset and the kubeconform validator with its schema cache.
type scanner struct {
	rules     *ruler.Ruleset
	validator validator.Validator
	fileName  string
	// first holds, per apiVersion/kind, the validation that compiles that schema: the others of the same kind
	// wait for it and then find the schema in the validator's cache instead of compiling it again.
	mu    sync.Mutex
	first map[string]*sync.Once
}

func (s *scanner) once(doc []byte) *sync.Once {
	var sig struct {
		APIVersion any `json:"apiVersion"`
		Kind       any `json:"kind"`
	}
	if json.Unmarshal(doc, &sig) != nil {
		return &sync.Once{}
	}
	key := fmt.Sprintf("%v|%v", sig.APIVersion, sig.Kind)
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.first[key]
	if !ok {
		o = &sync.Once{}
		s.first[key] = o
	}
	return o
}

// validate is kubesec's validateSchema (pkg/ruler/schema.go) with the shared validator: the message kubesec
// appends for each invalid or failed resource of the document; "" when it is valid.
func (s *scanner) validate(doc []byte) string {
	var msg string
	for _, res := range s.validator.Validate(s.fileName, io.NopCloser(bytes.NewReader(doc))) {
		if res.Status == validator.Invalid {
			msg += res.Err.Error() + "\n"
		}
		if res.Status == validator.Error {
			msg += res.Err.Error()
		}
	}
	return msg
}

// score is kubesec's generateReport for one JSON document: a schema-invalid document gets Valid false, the
// validation message and no score; a valid one gets kubesec's rules.
func (s *scanner) score(doc []byte) (ruler.Report, error) {
	var msg string
	done := false
	s.once(doc).Do(func() { msg, done = s.validate(doc), true })
	if !done {
		msg = s.validate(doc)
	}
	reports, err := s.rules.Run(s.fileName, doc, ruler.SchemaConfig{DisableValidation: true})
	if err != nil {
		return ruler.Report{}, err
	}
	if len(reports) != 1 {
		return ruler.Report{}, fmt.Errorf("kubesec gave %d reports for one document", len(reports))
	}
	rep := reports[0]
	if msg != "" {
		// What generateReport returns when validation fails: the object's name, no rules, no score.
		rep = ruler.Report{Object: rep.Object, FileName: rep.FileName, Rules: []ruler.RuleRef{}, Valid: false,
			Message: msg, Scoring: ruler.RuleScoring{Advise: []ruler.RuleRef{}, Passed: []ruler.RuleRef{},
				Critical: []ruler.RuleRef{}}}
	}
	return rep, nil
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kubesecscan: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	var locs locations
	flag.Var(&locs, "schema-location", "kubeconform schema location (as `kubesec scan --schema-location`); repeatable")
	k8s := flag.String("kubernetes-version", "", "Kubernetes version for the schema location template")
	fileName := flag.String("file-name", "STDIN", "the fileName reported for every document")
	jobs := flag.Int("jobs", runtime.NumCPU(), "documents scored at once")
	flag.Parse()
	if os.Getenv("GOGC") == "" {
		// kubesec's rules decode the document once per rule: most of the run is garbage; collecting it less
		// often saves about a third of the CPU for ~100 MB.
		debug.SetGCPercent(400)
	}
	if flag.NArg() > 0 {
		fail("unexpected argument %q: documents are read from stdin, one JSON document per line", flag.Arg(0))
	}
	if *jobs < 1 {
		fail("--jobs %d: give 1 or more", *jobs)
	}

	// kubesec scan's schema configuration: ruler.NewDefaultSchemaConfig (Strict) with its flags.
	cfg := ruler.NewDefaultSchemaConfig()
	cfg.Locations = locs
	cfg.ValidatorOpts.KubernetesVersion = *k8s
	v, err := validator.New(cfg.Locations, cfg.ValidatorOpts)
	if err != nil {
		// kubesec reports this per document; one line for the whole run is clearer.
		fail("failed initializing validator: %s", err)
	}
	s := &scanner{rules: ruler.NewRuleset(zap.NewNop().Sugar()), validator: v, fileName: *fileName,
		first: map[string]*sync.Once{}}

	// Documents are scored as they arrive (a caller can write them while it is still producing them, and this
	// process compiles schemas meanwhile); the reports are printed in input order at end of input.
	type job struct {
		i   int
		doc []byte
	}
	var (
		mu      sync.Mutex
		reports []ruler.Report
		errs    []error
		wg      sync.WaitGroup
	)
	next := make(chan job, 64)
	for range *jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				rep, err := s.score(j.doc)
				mu.Lock()
				reports[j.i], errs[j.i] = rep, err
				mu.Unlock()
			}
		}()
	}
	in := bufio.NewReader(os.Stdin)
	count := 0
	for line := 1; ; line++ {
		text, err := in.ReadBytes('\n')
		if doc := bytes.TrimSpace(text); len(doc) > 0 {
			if !json.Valid(doc) {
				fail("stdin line %d: not a JSON document; give one JSON document per line", line)
			}
			mu.Lock()
			reports, errs = append(reports, ruler.Report{}), append(errs, nil)
			mu.Unlock()
			next <- job{count, doc}
			count++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			fail("reading stdin: %s", err)
		}
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			fail("document %d: %s", i+1, err)
		}
	}

	var out bytes.Buffer
	if err := report.WriteReports("json", &out, reports, ""); err != nil {
		fail("writing the reports: %s", err)
	}
	fmt.Println(out.String())
}
