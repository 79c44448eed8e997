//go:build tools

// Package tools records the Kubernetes commands this module builds, so `go mod tidy` keeps them:
// the control plane and kubectl for the kwok provider, kubelet, kubeadm and kube-proxy for the Kind
// node image, agnhost for the Kind tiers' web pods (kind/images/build.sh).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/test/images/agnhost"
)
