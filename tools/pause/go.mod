// The pod sandbox process of the Kind node image (no dependencies); built by tools/build.sh.
module floe.dev/conformance/tools/pause

go 1.25.0
