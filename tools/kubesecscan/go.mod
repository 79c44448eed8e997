// kubesecscan: kubesec's scoring of many documents in one process, from the github.com/controlplaneio/kubesec/v2 pin of tools/kubesec and the kubeconform it requires; built by tools/build.sh.
module floe.dev/conformance/tools/kubesecscan

go 1.25.0

require (
	github.com/controlplaneio/kubesec/v2 v2.14.2
	github.com/yannh/kubeconform v0.6.7
	go.uber.org/zap v1.27.0
)

require (
	github.com/ghodss/yaml v1.0.0 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.7 // indirect
	github.com/in-toto/in-toto-golang v0.9.0 // indirect
	github.com/santhosh-tekuri/jsonschema/v5 v5.3.1 // indirect
	github.com/secure-systems-lab/go-securesystemslib v0.8.0 // indirect
	github.com/shibumi/go-pathspec v1.3.0 // indirect
	github.com/thedevsaddam/gojsonq/v2 v2.5.2 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	golang.org/x/crypto v0.29.0 // indirect
	golang.org/x/sys v0.27.0 // indirect
	gopkg.in/yaml.v2 v2.4.0 // indirect
	sigs.k8s.io/yaml v1.4.0 // indirect
)
