// Pins k8s.io/pod-security-admission v0.35.4 (the same release as tools/kube's replace line) for its test
// data: `tools/build.sh pss` downloads it into Go's module cache, and tests/test_pss_parity.py reads
// test/testdata/<level>/<version>/<pass|fail>/*.yaml from there (nothing is copied into the repository).
module floe.dev/conformance/tools/pss

go 1.25.0

require k8s.io/pod-security-admission v0.35.4
