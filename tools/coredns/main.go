// Command coredns is CoreDNS's own main (plugins and coremain.Run), built from the pinned
// github.com/coredns/coredns module for the Kind node image's registry.k8s.io/coredns/coredns image
// (the version `kubeadm config images list` names for the pinned Kubernetes).
package main

import (
	_ "github.com/coredns/coredns/core/plugin" // every plugin of the release's plugin.cfg
	"github.com/coredns/coredns/coremain"
)

func main() {
	coremain.Run()
}
